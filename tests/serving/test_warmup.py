import os

import tensorflow as tf

from tests.serving.conftest import serve_like_tf_serving
from tests.serving.test_exporter import signature_defs
from tf_lm.serving.warmup import WARMUP_FILE, read_warmup_requests


def test_warmup_requests_cover_every_signature_and_every_input_one_per_row(exported):
    path = exported["path"]
    requests = read_warmup_requests(os.path.join(path, "assets.extra", WARMUP_FILE))
    signatures = signature_defs(path)
    assert [r.model_spec.signature_name for r in requests] == \
        ["serving_default", "score", "next_token_logits"]
    for request in requests:
        signature = signatures[request.model_spec.signature_name]
        assert set(request.inputs) == set(signature.inputs)  # nothing left to a default
        rows = {tf.make_ndarray(t).shape[0] for t in request.inputs.values()}
        assert len(rows) == 1  # a batching server needs equal first dimensions
        for name, tensor in request.inputs.items():
            assert tensor.dtype == signature.inputs[name].dtype


def test_warmup_requests_succeed_in_a_fresh_session(exported, tmp_path):
    requests = read_warmup_requests(
        os.path.join(exported["path"], "assets.extra", WARMUP_FILE))
    bodies = []
    for request in requests:
        inputs = {}
        for name, tensor in request.inputs.items():
            value = tf.make_ndarray(tensor)
            inputs[name] = ([v.decode("utf-8") for v in value] if value.dtype == object
                            else value.tolist())
        bodies.append({"signature_name": request.model_spec.signature_name, "inputs": inputs})
    _, answers = serve_like_tf_serving(exported["path"], bodies, tmp_path)
    assert [sorted(a.get("outputs", a)) for a in answers] == [
        ["num_tokens", "text"], ["log_likelihood", "num_tokens", "perplexity"], ["logits"]]
