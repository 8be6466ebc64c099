"""Answer TF Serving REST bodies the way the model server does: a TF1 Session, no Keras.

Usage: python serve_like_tf_serving.py EXPORT_DIR REQUESTS.json

Imports only `tensorflow` (and `tensorflow_text` when the graph needs its ops, as the server
links them in), loads the SavedModel with `tf.compat.v1.saved_model.loader.load(sess,
["serve"], path)` and runs each signature by the tensor names of its SignatureDef, feeding only
the inputs a request names (the others take their defaults), as `saved_model_cli run` and
`tensorflow_model_server` do. The REST bodies (row `instances` or columnar `inputs`) are turned
into tensors by TF Serving's rules: row format stacks each named input over the instances.

A body with `examples` is a Classify API call (`:classify`): as the server does, it needs a
signature whose method is `tensorflow/serving/classify` with a string input `inputs`, turns each
JSON example into a serialized `tf.Example` (strings as bytes, integers as int64, floats as
float) and answers {"results": [[[class, score], ...] per example]}.

Prints first {"not_in_core": [ops the graph uses that core TensorFlow does not register]},
then one JSON line per request: {"outputs": {name: list}}, {"results": ...} or
{"error": message}.
"""

import json
import sys

import numpy as np
import tensorflow as tf

DTYPES = {tf.string.as_datatype_enum: object, tf.int32.as_datatype_enum: np.int32,
          tf.int64.as_datatype_enum: np.int64, tf.float32.as_datatype_enum: np.float32}


def feeds(body, signature):
    """{tensor name: array} of a REST body, by TF Serving's JSON rules."""
    if "instances" in body:
        rows = body["instances"]
        keys = set(rows[0])
        if any(set(row) != keys for row in rows):
            raise ValueError("every instance must have the same keys")
        named = {key: [row[key] for row in rows] for key in keys}
    else:
        named = body["inputs"]
    result = {}
    for key, value in named.items():
        if key not in signature.inputs:
            raise ValueError(f"input {key!r} is not in the signature")
        info = signature.inputs[key]
        dtype = DTYPES[info.dtype]
        if dtype is object:
            value = np.array([v.encode("utf-8") for v in np.ravel(value)], object).reshape(
                np.shape(value))
        result[info.name] = np.asarray(value, dtype=dtype)
    return result


def examples(body, signature):
    """{tensor name: serialized tf.Examples} of a Classify body, by TF Serving's rules."""
    if signature.method_name != "tensorflow/serving/classify":
        raise ValueError(f"Expected classification signature method_name to be "
                         f"tensorflow/serving/classify. Was: {signature.method_name}")
    serialized = []
    for example in body["examples"]:
        feature = {}
        for key, value in example.items():
            values = value if isinstance(value, list) else [value]
            if all(isinstance(v, str) for v in values):
                feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(
                    value=[v.encode("utf-8") for v in values]))
            elif all(isinstance(v, int) for v in values):
                feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
            else:
                feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        serialized.append(tf.train.Example(
            features=tf.train.Features(feature=feature)).SerializeToString())
    return {signature.inputs["inputs"].name: np.array(serialized, object)}


def ops_outside_core(path):
    """Ops of the graph and its function library that core TensorFlow does not register."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import op_def_registry

    saved_model = saved_model_pb2.SavedModel()
    with open(f"{path}/saved_model.pb", "rb") as handle:
        saved_model.ParseFromString(handle.read())
    graph = saved_model.meta_graphs[0].graph_def
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops |= {node.op for node in function.node_def}
    return sorted(op for op in ops if op_def_registry.get(op) is None)


def main(path, requests_path):
    with open(requests_path, encoding="utf-8") as handle:
        requests = json.load(handle)
    print(json.dumps({"not_in_core": ops_outside_core(path)}), flush=True)
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        try:
            meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
        except tf.errors.NotFoundError:  # an op outside core TensorFlow: tensorflow-text
            import tensorflow_text  # noqa: F401

            meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
        for body in requests:
            signature = meta_graph.signature_def[body.get("signature_name", "serving_default")]
            names = sorted(signature.outputs)
            classify = "examples" in body
            try:
                feed = examples(body, signature) if classify else feeds(body, signature)
                values = session.run([signature.outputs[n].name for n in names], feed_dict=feed)
            except (tf.errors.InvalidArgumentError, ValueError) as error:
                message = getattr(error, "message", str(error))
                print(json.dumps({"error": " ".join(message.split())[:3000]}), flush=True)
                continue
            if classify:
                got = dict(zip(names, values))
                results = [[[c.decode("utf-8"), float(p)] for c, p in zip(row, scores)]
                           for row, scores in zip(got["classes"], got["scores"])]
                print(json.dumps({"results": results}), flush=True)
                continue
            outputs = {}
            for name, value in zip(names, values):
                if value.dtype == object:
                    value = np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(value)
                outputs[name] = value.tolist()
            print(json.dumps({"outputs": outputs}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
