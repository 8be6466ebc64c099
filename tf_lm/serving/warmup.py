"""`assets.extra/tf_serving_warmup_requests`: requests TF Serving runs before serving a model."""

import tensorflow as tf

WARMUP_FILE = "tf_serving_warmup_requests"


def warmup_inputs(module, text):
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
    """Write one `PredictionLog` per signature to the TFRecord file `path`."""
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    with tf.io.TFRecordWriter(path) as writer:
        for signature, inputs in warmup_inputs(module, text).items():
            request = predict_pb2.PredictRequest()
            request.model_spec.name = model_name
            request.model_spec.signature_name = signature
            for name, value in inputs.items():
                request.inputs[name].CopyFrom(_tensor(name, value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def read_warmup_requests(path):
    """The `PredictRequest`s of a warmup file, in order."""
    from tensorflow_serving.apis import prediction_log_pb2

    requests = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        requests.append(log.predict_log.request)
    return requests
