import json
import os

import keras
import numpy as np
import pytest
from tensorflow.core.protobuf import saved_model_pb2

from tests.serving.conftest import serve_like_tf_serving
from tests.serving.test_serving_module import CHAR, PROMPTS, WORD, lstm
from tf_lm.errors import InputError
from tf_lm.generation.text_generator import TextGenerator
from tf_lm.serving import export_model
from tf_lm.serving import exporter as exporter_module
from tf_lm.serving.graph_ops import saved_model_ops
from tf_lm.tokenizers import load_tokenizer

JSON_DTYPES = {"DT_STRING", "DT_INT32", "DT_FLOAT"}


def signature_defs(path):
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
        saved_model.ParseFromString(handle.read())
    (meta_graph,) = saved_model.meta_graphs
    assert list(meta_graph.meta_info_def.tags) == ["serve"]
    return {k: v for k, v in meta_graph.signature_def.items() if not k.startswith("__")}


def test_the_version_folder_holds_what_tf_serving_and_keras_users_need(exported):
    path = exported["path"]
    assert path == os.path.join(exported["base"], "tf_lm", "1")
    for entry in ("saved_model.pb", "variables/variables.index",
                  "assets.extra/tf_serving_warmup_requests", "assets.extra/tf_lm_export.json",
                  "keras/model.keras", "keras/tokenizer/tokenizer.json"):
        assert os.path.exists(os.path.join(path, entry)), entry
    assert os.listdir(os.path.dirname(path)) == ["1"]  # no temporary folder left
    reloaded = keras.saving.load_model(os.path.join(path, "keras", "model.keras"),
                                       safe_mode=True)
    ids = np.array([[1, 2, 3, 4]], np.int32)
    np.testing.assert_allclose(reloaded(ids), exported["model"](ids), atol=1e-6)
    assert load_tokenizer(os.path.join(path, "keras", "tokenizer")).get_vocabulary() == \
        CHAR.get_vocabulary()
    metadata = json.load(open(os.path.join(path, "assets.extra", "tf_lm_export.json")))
    assert metadata["defaults"]["max_new_tokens"] == 20
    assert metadata["limits"]["max_new_tokens"] == 40 and metadata["context"] == 16
    assert metadata["signatures"]["serving_default"]["inputs"]["prompts"] == "string (None,)"
    assert metadata["signatures"]["serving_default"]["inputs"]["top_p"] == "float32 <unknown>"
    assert metadata["signatures"]["score"]["outputs"] == {
        "log_likelihood": "float32 (None,)", "num_tokens": "int32 (None,)",
        "perplexity": "float32 (None,)"}


def test_signature_defs_are_the_documented_contract(exported):
    signatures = signature_defs(exported["path"])
    assert set(signatures) == {"serving_default", "score", "next_token_logits"}
    dtypes = {name: ({k: v.dtype for k, v in s.inputs.items()},
                     {k: v.dtype for k, v in s.outputs.items()})
              for name, s in signatures.items()}
    names = {1: "DT_FLOAT", 3: "DT_INT32", 7: "DT_STRING"}
    readable = {name: ({k: names[v] for k, v in i.items()}, {k: names[v] for k, v in o.items()})
                for name, (i, o) in dtypes.items()}
    assert readable == {
        "serving_default": (
            {"prompts": "DT_STRING", "max_new_tokens": "DT_INT32", "temperature": "DT_FLOAT",
             "top_k": "DT_INT32", "top_p": "DT_FLOAT", "repetition_penalty": "DT_FLOAT",
             "seed": "DT_INT32"},
            {"text": "DT_STRING", "num_tokens": "DT_INT32"}),
        "score": ({"texts": "DT_STRING"},
                  {"log_likelihood": "DT_FLOAT", "num_tokens": "DT_INT32",
                   "perplexity": "DT_FLOAT"}),
        "next_token_logits": ({"token_ids": "DT_INT32"}, {"logits": "DT_FLOAT"}),
    }
    for signature in signatures.values():
        assert signature.method_name == "tensorflow/serving/predict"
    defaults = signatures["serving_default"].defaults
    values = {k: (v.int_val or v.float_val)[0] for k, v in defaults.items()}
    assert values == {"max_new_tokens": 20, "temperature": 0.0, "top_k": 0, "top_p": 1.0,
                      "repetition_penalty": 1.0, "seed": 0}


def test_no_xla_or_python_ops_and_only_core_ops(exported, tmp_path):
    ops = saved_model_ops(exported["path"])
    assert "TensorScatterUpdate" in ops and ("While" in ops or "StatelessWhile" in ops)
    assert not [op for op in ops if op.startswith("Xla") or "PyFunc" in op], sorted(ops)
    report, _ = serve_like_tf_serving(exported["path"], [], tmp_path)
    assert report == {"not_in_core": []}  # a process without tensorflow_text knows them all


def test_a_fresh_tf1_session_answers_rest_bodies_like_the_python_path(exported, tmp_path):
    generator = TextGenerator(exported["model"], CHAR)
    greedy = [generator.generate(p, max_new_tokens=20) for p in PROMPTS]
    sampled = generator.generate(PROMPTS[0], 7, sampler="top_k", top_k=4, temperature=0.9,
                                 seed=5)
    bodies = [
        {"inputs": {"prompts": PROMPTS}},  # columnar, every parameter left to its default
        {"signature_name": "serving_default",
         "instances": [{"prompts": PROMPTS[0], "max_new_tokens": 7, "temperature": 0.9,
                        "top_k": 4, "seed": 5},
                       {"prompts": PROMPTS[1], "max_new_tokens": 3, "temperature": 0.0,
                        "top_k": 0, "seed": 0}]},
        {"signature_name": "score", "inputs": {"texts": ["Speak, speak."]}},
        {"signature_name": "next_token_logits", "instances": [{"token_ids": [1, 2, 3]}]},
        {"inputs": {"prompts": ["x"], "max_new_tokens": 41}},
        {"inputs": {"prompts": ["x"], "top_p": 0.0}},
        {"signature_name": "score", "inputs": {"texts": [""]}},
    ]
    _, answers = serve_like_tf_serving(exported["path"], bodies, tmp_path)
    assert answers[0]["outputs"] == {"text": greedy, "num_tokens": [20, 20, 20]}
    assert answers[1]["outputs"]["text"][0] == sampled
    assert answers[1]["outputs"]["num_tokens"] == [7, 3]
    score = answers[2]["outputs"]
    assert score["num_tokens"] == [13]
    assert score["perplexity"][0] == pytest.approx(
        np.exp(-score["log_likelihood"][0] / 13), rel=1e-5)
    logits = np.asarray(exported["model"](np.array([[1, 2, 3]], np.int32)))[:, -1]
    np.testing.assert_allclose(answers[3]["outputs"]["logits"], logits, atol=1e-5)
    assert "max_new_tokens must be an integer in [1, 40]. Received:] [41]" in \
        answers[4]["error"]
    assert "top_p must be in (0, 1]" in answers[5]["error"]
    assert "texts must not be empty" in answers[6]["error"]


def test_an_lstm_with_a_word_tokenizer_exports_and_loads(tmp_path):
    model = lstm(WORD)
    path = export_model(model, WORD, str(tmp_path), "words")
    expected = TextGenerator(model, WORD).generate("the game", max_new_tokens=6)
    report, answers = serve_like_tf_serving(
        path, [{"inputs": {"prompts": ["the game"], "max_new_tokens": 6}}], tmp_path)
    assert report == {"not_in_core": []}
    assert answers[0]["outputs"]["text"] == [expected]


def test_versions_count_up_and_an_existing_one_is_never_replaced(exported, tmp_path):
    base = str(tmp_path)
    model = exported["model"]
    assert export_model(model, CHAR, base, "m").endswith(os.path.join("m", "1"))
    assert export_model(model, CHAR, base, "m").endswith(os.path.join("m", "2"))
    stamp = os.path.getmtime(os.path.join(base, "m", "1", "saved_model.pb"))
    with pytest.raises(InputError, match="Version 1 of 'm' already exists"):
        export_model(model, CHAR, base, "m", version=1)
    assert os.path.getmtime(os.path.join(base, "m", "1", "saved_model.pb")) == stamp
    assert export_model(model, CHAR, base, "m", version=7).endswith("7")
    assert sorted(os.listdir(os.path.join(base, "m"))) == ["1", "2", "7"]


@pytest.mark.parametrize("name", ["my model", "a/b", "", ".hidden", "x:1", "caf\u00e9"])
def test_names_tf_serving_rejects_are_refused(exported, tmp_path, name):
    with pytest.raises(InputError, match="export name must start with a letter or digit"):
        export_model(exported["model"], CHAR, str(tmp_path), name)


def test_a_base_that_is_a_file_is_refused(exported, tmp_path):
    base = tmp_path / "file"
    base.write_text("mine")
    with pytest.raises(InputError, match="is a file; expected a directory"):
        export_model(exported["model"], CHAR, str(base), "m")
    assert base.read_text() == "mine"


def test_a_failed_export_leaves_no_version_behind(exported, tmp_path, monkeypatch):
    def fail(*args):
        raise OSError("No space left on device")

    monkeypatch.setattr(exporter_module, "_warmup_text", fail)
    with pytest.raises(OSError, match="No space left"):
        export_model(exported["model"], CHAR, str(tmp_path), "m")
    assert os.listdir(tmp_path / "m") == []


def test_a_version_another_export_holds_is_skipped_or_refused(exported, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / ".1.lock").write_text("")  # another process is exporting version 1
    assert export_model(exported["model"], CHAR, str(tmp_path), "m").endswith(
        os.path.join("m", "2"))
    with pytest.raises(InputError, match="being exported by another process"):
        export_model(exported["model"], CHAR, str(tmp_path), "m", version=1)
    assert sorted(os.listdir(tmp_path / "m")) == [".1.lock", "2"]
