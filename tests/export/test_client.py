"""export/client.py: its REST bodies and gRPC requests match the exported SignatureDefs."""

import importlib.util
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.serving.conftest import serve_like_tf_serving
from tests.serving.test_exporter import signature_defs

CLIENT = os.path.join(os.path.dirname(__file__), "..", "..", "export", "client.py")
spec = importlib.util.spec_from_file_location("tf_lm_export_client", CLIENT)
client = importlib.util.module_from_spec(spec)
spec.loader.exec_module(client)

GENERATE = {"prompts": ["First", ""], "max_new_tokens": 5, "temperature": [0.0, 0.7],
            "seed": 3}
SCORE = {"texts": ["Speak, speak."]}
LOGITS = {"token_ids": [[1, 2, 3], [4, 5, 6]]}


def test_urls():
    assert client.rest_url("h", 8501, "tf_lm") == "http://h:8501/v1/models/tf_lm:predict"
    assert client.rest_url("h", 1, "m", version=2).endswith("/v1/models/m/versions/2:predict")
    assert client.rest_url("h", 1, "m", label="stable").endswith("/m/labels/stable:predict")


@pytest.mark.parametrize("signature,inputs", [("serving_default", GENERATE),
                                              ("score", SCORE),
                                              ("next_token_logits", LOGITS)])
def test_grpc_requests_have_the_signature_names_and_dtypes(exported, signature, inputs):
    signatures = signature_defs(exported["path"])
    request = client.predict_request(client.with_defaults(inputs, signature), "tf_lm",
                                     signature, label="stable")
    assert request.model_spec.signature_name == signature
    assert request.model_spec.version_label == "stable"
    expected = signatures[signature].inputs
    assert set(request.inputs) == set(expected)
    rows = len(next(iter(inputs.values())))
    for name, tensor in request.inputs.items():
        assert tensor.dtype == expected[name].dtype, name
        assert tf.make_ndarray(tensor).shape[0] == rows  # one value per row


@pytest.mark.parametrize("format", ["row", "columnar"])
def test_rest_bodies_are_answered_by_a_session_loaded_like_tf_serving(exported, tmp_path,
                                                                      format):
    bodies = [client.rest_body(client.with_defaults(GENERATE), format=format),
              client.rest_body(SCORE, "score", format),
              client.rest_body(LOGITS, "next_token_logits", format)]
    json.dumps(bodies)  # JSON as it is
    signatures = signature_defs(exported["path"])
    for body, name in zip(bodies, ("serving_default", "score", "next_token_logits")):
        rows = body["instances"] if format == "row" else [body["inputs"]]
        assert all(set(row) == set(signatures[name].inputs) for row in rows)
    _, answers = serve_like_tf_serving(exported["path"], bodies, tmp_path)
    generated = answers[0]["outputs"]
    assert generated["num_tokens"] == [5, 5]
    assert client.parse_rest_response({"outputs": generated}) == generated
    rows = [dict(zip(generated, values)) for values in zip(*generated.values())]
    assert client.parse_rest_response({"predictions": rows}) == generated
    assert answers[1]["outputs"]["num_tokens"] == [13]
    assert np.shape(answers[2]["outputs"]["logits"]) == (2, exported["model"].vocabulary_size)


def test_bad_inputs_name_the_key():
    with pytest.raises(ValueError, match="'top_q' is not valid"):
        client.rest_body({"prompts": ["a"], "top_q": 1})
    with pytest.raises(ValueError, match="'prompts' is empty"):
        client.rest_body({"prompts": []})
    with pytest.raises(ValueError, match="'temperature': 2 values for 1 rows"):
        client.rest_body({"prompts": ["a"], "temperature": [1.0, 2.0]})


def test_an_unreachable_server_is_one_line_and_exit_1(capsys):
    code = client.main(["--prompt", "x", "--port", "9", "--timeout", "5"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("client.py: error: ") and err.count("\n") == 1
