"""A small client for a tf_lm model served by TensorFlow Serving.

REST needs the standard library and numpy. gRPC also needs grpcio, tensorflow and
tensorflow-serving-api, imported only when a gRPC function is called. Examples:
    python client.py --prompt "ROMEO:" --max-new-tokens 40
    python client.py --protocol grpc --prompt "ROMEO:" --temperature 0.8 --seed 1
"""
import argparse
import json
import sys
import urllib.error
import urllib.request

import numpy as np

# Optional parameters of serving_default and their dtypes.
PARAMS = {"max_new_tokens": np.int32, "temperature": np.float32, "top_k": np.int32,
          "top_p": np.float32, "repetition_penalty": np.float32, "seed": np.int32}
# Signature -> (main input, optional parameters).
SIGNATURES = {"serving_default": ("prompts", tuple(PARAMS)),
              "score": ("texts", ()),
              "next_token_logits": ("token_ids", ())}
# The defaults the exported model documents (see export/README.md).
DEFAULTS = {"max_new_tokens": 64, "temperature": 0.0, "top_k": 0, "top_p": 1.0,
            "repetition_penalty": 1.0, "seed": 0}


def rest_url(host, port, model, signature=None, version=None, label=None):
    """The REST predict URL. `signature` goes in the body, so it is not used here."""
    if version is not None and label is not None:
        raise ValueError("give a version or a label, not both")
    url = f"http://{host}:{port}/v1/models/{model}"
    if version is not None:
        url += f"/versions/{int(version)}"
    elif label is not None:
        url += f"/labels/{label}"
    return url + ":predict"


def _check(inputs, signature):
    """Validate `inputs` for `signature`; return (main input name, row count)."""
    if signature not in SIGNATURES:
        raise ValueError(f"unknown signature: {signature!r}")
    main, params = SIGNATURES[signature]
    for key in inputs:
        if key != main and key not in params:
            raise ValueError(f"input {key!r} is not valid for signature {signature!r}")
    rows = inputs.get(main)
    if rows is None:
        raise ValueError(f"input {main!r} is required")
    if not isinstance(rows, (list, tuple)):
        raise ValueError(f"input {main!r} must be a list with one element per row")
    if not rows:
        raise ValueError(f"input {main!r} is empty")
    if main == "token_ids" and len({len(r) for r in rows}) != 1:
        raise ValueError("input 'token_ids': rows must have equal length")
    for key in params:
        value = inputs.get(key)
        if isinstance(value, (list, tuple)) and len(value) != len(rows):
            raise ValueError(f"input {key!r}: {len(value)} values for {len(rows)} rows")
    return main, len(rows)


def _plain(key, value):
    """A parameter as JSON numbers of its kind (1 -> 1.0 for a float parameter)."""
    cast = float if PARAMS[key] is np.float32 else int
    return [cast(v) for v in value] if isinstance(value, (list, tuple)) else cast(value)


def with_defaults(inputs, signature="serving_default"):
    """`inputs` plus every parameter it leaves out, at the documented default."""
    params = SIGNATURES.get(signature, (None, ()))[1]
    return {**inputs, **{k: DEFAULTS[k] for k in params if k not in inputs}}


def rest_body(inputs, signature="serving_default", format="row"):
    """A JSON-serializable predict body in row ("instances") or columnar ("inputs") format."""
    main, n = _check(inputs, signature)
    params = {k: _plain(k, v) for k, v in inputs.items() if k != main}
    if format == "row":
        instances = []
        for i, row in enumerate(inputs[main]):
            instance = {main: list(row) if main == "token_ids" else row}
            for k, v in params.items():
                instance[k] = v[i] if isinstance(v, list) else v
            instances.append(instance)
        return {"signature_name": signature, "instances": instances}
    if format == "columnar":
        columns = {main: [list(r) if main == "token_ids" else r for r in inputs[main]]}
        columns.update(params)
        return {"signature_name": signature, "inputs": columns}
    raise ValueError(f"format must be 'row' or 'columnar', not {format!r}")


def parse_rest_response(body, name="logits"):
    """Outputs of a REST predict response as name -> list (one element per row).

    TF Serving leaves out the name when a signature has one output; it is then
    reported under `name` (next_token_logits is the only such signature here).
    """
    if "error" in body:
        raise RuntimeError(body["error"])
    if "predictions" in body:
        rows = body["predictions"]
        if rows and all(isinstance(r, dict) for r in rows):
            return {k: [r[k] for r in rows] for k in rows[0]}
        return {name: rows}
    if "outputs" in body:
        outputs = body["outputs"]
        if isinstance(outputs, dict):
            return {k: v if isinstance(v, list) else [v] for k, v in outputs.items()}
        return {name: outputs if isinstance(outputs, list) else [outputs]}
    raise ValueError("response has neither 'predictions' nor 'outputs'")


def predict_request(inputs, model="tf_lm", signature="serving_default", version=None,
                    label=None):
    """A gRPC PredictRequest. Parameters are sent one value per row (shape [batch])."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    main, n = _check(inputs, signature)
    if version is not None and label is not None:
        raise ValueError("give a version or a label, not both")
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = int(version)
    elif label is not None:
        request.model_spec.version_label = label
    for key, value in inputs.items():
        if key == "token_ids":
            array = np.asarray(value, dtype=np.int32)
        elif key == main:
            array = np.array([s if isinstance(s, bytes) else s.encode("utf-8") for s in value],
                             dtype=object)
        else:
            array = np.broadcast_to(np.asarray(value, dtype=PARAMS[key]), [n])
        request.inputs[key].CopyFrom(tf.make_tensor_proto(array))
    return request


def parse_predict_response(response):
    """Outputs of a gRPC PredictResponse as name -> list; strings decoded as UTF-8."""
    import tensorflow as tf

    result = {}
    for key in sorted(response.outputs):
        array = tf.make_ndarray(response.outputs[key])
        if array.dtype == object:
            array = np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(array)
        result[key] = array.tolist()
    return result


def _call_rest(args, inputs):
    url = rest_url(args.host, args.port, args.model, version=args.version, label=args.label)
    data = json.dumps(rest_body(inputs, args.signature, args.format)).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as reply:
            return parse_rest_response(json.loads(reply.read().decode("utf-8")))
    except urllib.error.HTTPError as e:  # TF Serving answers {"error": "..."}
        text = e.read().decode("utf-8", "replace")
        error = json.loads(text).get("error", text) if text.startswith("{") else text
        raise RuntimeError(f"HTTP {e.code}: {error}") from None
    except (urllib.error.URLError, OSError) as e:
        raise RuntimeError(f"{url}: {getattr(e, 'reason', e)}") from None


def _call_grpc(args, inputs):
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    request = predict_request(inputs, args.model, args.signature, args.version, args.label)
    with grpc.insecure_channel(f"{args.host}:{args.port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            return parse_predict_response(stub.Predict(request, timeout=args.timeout))
        except grpc.RpcError as e:
            raise RuntimeError(f"{e.code().name}: {e.details()}") from None


def main(argv=None):
    p = argparse.ArgumentParser(prog="client.py", description="Query a served tf_lm model.")
    p.add_argument("--host", default="localhost")
    p.add_argument("--protocol", choices=["rest", "grpc"], default="rest")
    p.add_argument("--port", type=int, help="default 8501 for rest, 8500 for grpc")
    p.add_argument("--model", default="tf_lm")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--version", type=int)
    which.add_argument("--label")
    p.add_argument("--format", choices=["row", "columnar"], default="row", help="REST only")
    p.add_argument("--signature", choices=["serving_default", "score"], default="serving_default")
    p.add_argument("--prompt", action="append", default=[],
                   help="repeatable; for --signature score these are the texts")
    for flag, kind in [("--max-new-tokens", int), ("--temperature", float), ("--top-k", int),
                       ("--top-p", float), ("--repetition-penalty", float), ("--seed", int)]:
        p.add_argument(flag, type=kind, help="default: the model's documented default")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds (default 120)")
    args = p.parse_args(argv)
    if not args.prompt:
        p.error("give at least one --prompt")
    params = {k: getattr(args, k) for k in PARAMS if getattr(args, k) is not None}
    if args.signature == "score" and params:
        p.error("generation parameters apply to --signature serving_default only")
    if args.port is None:
        args.port = 8501 if args.protocol == "rest" else 8500
    main_input = SIGNATURES[args.signature][0]
    # Every input is sent, one value per row: TF Serving's REST decoder wants all the
    # signature's inputs, and a batching server wants one value per row.
    inputs = with_defaults({main_input: args.prompt, **params}, args.signature)
    try:
        call = _call_rest if args.protocol == "rest" else _call_grpc
        out = call(args, inputs)
    except (RuntimeError, ValueError, ImportError) as e:
        print(f"client.py: error: {e}", file=sys.stderr)
        return 1
    if args.signature == "score":
        for ll, n, ppl in zip(out["log_likelihood"], out["num_tokens"], out["perplexity"]):
            print(f"log_likelihood={ll:.4f} num_tokens={n} perplexity={ppl:.4f}")
    else:
        for text in out["text"]:
            print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
