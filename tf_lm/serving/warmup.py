"""`assets.extra/tf_serving_warmup_requests`: requests TF Serving runs before serving a model."""

import tensorflow as tf

WARMUP_FILE = "tf_serving_warmup_requests"


def warmup_inputs(module, text):
    if hasattr(module, "classify"):  # a classifier: two rows, as a batching server wants
        return {"serving_default": {"texts": [text, text[:1] or "a"]}}
    if hasattr(module, "latent_dim"):  # a sentence VAE: greedy and sampled rows
        options = {"max_new_tokens": [min(4, module.max_new_tokens_limit)] * 2,
                   "temperature": [0.0, 0.8], "top_k": [0, 5], "top_p": [1.0, 0.9]}
        return {"encode": {"texts": [text, text[:1] or "a"]},
                "decode": {"z": [[0.0] * module.latent_dim, [0.5] * module.latent_dim],
                           **options, "seed": [0, 1]},
                "sample": {"seed": [0, 1], **options}}
    return _language_model_inputs(module, text)


def _language_model_inputs(module, text):
    """{signature: {input: value}} covering every signature, every input set, one per row.

    Every input is sent (none left to its default) with one value per row: a server with
    `--enable_batching` rejects scalar inputs and inputs of different first dimensions, and a
    warmup request that fails fails the model's load.
    """
    d = module.defaults  # the first row: sampling off; the second: every sampler on
    generate = {"prompts": ["", text],
                "max_new_tokens": [min(4, module.max_new_tokens_limit)] * 2,
                "temperature": [d["temperature"], 0.8], "top_k": [d["top_k"], 5],
                "top_p": [d["top_p"], 0.9], "repetition_penalty": [d["repetition_penalty"], 1.1],
                "seed": [d["seed"]] * 2}
    return {"serving_default": generate,
            "score": {"texts": [text, text[:1]]},
            "next_token_logits": {"token_ids": [list(module.start_ids)]}}


def _tensor(name, value):
    dtypes = {"prompts": tf.string, "texts": tf.string, "max_new_tokens": tf.int32,
              "top_k": tf.int32, "seed": tf.int32, "token_ids": tf.int32}
    return tf.make_tensor_proto(value, dtype=dtypes.get(name, tf.float32))


def write_warmup_requests(path, module, model_name, text):
    """Write one `PredictionLog` per signature to the TFRecord file `path` (a classifier's
    `classify` signature as a `ClassifyLog`)."""
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    with tf.io.TFRecordWriter(path) as writer:
        if hasattr(module, "classify"):
            writer.write(_classify_log(model_name, [text, text[:1] or "a"]).SerializeToString())
        for signature, inputs in warmup_inputs(module, text).items():
            request = predict_pb2.PredictRequest()
            request.model_spec.name = model_name
            request.model_spec.signature_name = signature
            for name, value in inputs.items():
                request.inputs[name].CopyFrom(_tensor(name, value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def text_examples(texts, feature="text"):
    """Serialized `tf.Example`s with one string feature: the Classify API's input."""
    return [tf.train.Example(features=tf.train.Features(feature={
        feature: tf.train.Feature(bytes_list=tf.train.BytesList(value=[t.encode("utf-8")]))}))
        .SerializeToString() for t in texts]


def _classify_log(model_name, texts):
    from tensorflow_serving.apis import classification_pb2, prediction_log_pb2

    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = "classify"
    for example in text_examples(texts):
        request.input.example_list.examples.add().ParseFromString(example)
    return prediction_log_pb2.PredictionLog(
        classify_log=prediction_log_pb2.ClassifyLog(request=request))


def read_warmup_requests(path):
    """The requests of a warmup file, in order (`PredictRequest`s, `ClassificationRequest`s)."""
    from tensorflow_serving.apis import prediction_log_pb2

    requests = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        kind = log.WhichOneof("log_type")
        requests.append(log.classify_log.request if kind == "classify_log"
                        else log.predict_log.request)
    return requests
