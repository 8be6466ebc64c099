"""A Hugging Face GPT-2 checkpoint read tensor by tensor: keras-hub's numbers, and every
damaged or foreign file refused by name with nothing written."""

import json
import shutil

import keras_hub
import numpy as np
import pytest

from tf_lm.errors import InputError
from tf_lm.pretrained import GPT2Checkpoint, import_gpt2
from tf_lm.run_dir import RunDirectory
from tests.pretrained.conftest import hf_config, hf_tensors, write_checkpoint

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak. 'Tis 2026 — naïve!"


@pytest.fixture(scope="module")
def imported(checkpoint, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "gpt2"
    import_gpt2(str(checkpoint), str(run), echo=lambda *a: None)
    return RunDirectory(str(run)).load()


def test_logits_and_ids_equal_keras_hubs_import_of_the_same_files(checkpoint, imported):
    config, tokenizer, model = imported
    reference = keras_hub.models.GPT2CausalLM.from_preset(str(checkpoint))
    ids = tokenizer.encode(TEXT)
    theirs_ids = np.asarray(reference.preprocessor.tokenizer.tokenize(TEXT))
    np.testing.assert_array_equal(ids, theirs_ids)
    ids = ids[None, :32]
    ours = np.asarray(model(ids))
    theirs = np.asarray(reference.backbone.token_embedding(
        reference.backbone({"token_ids": ids, "padding_mask": np.ones_like(ids)}), reverse=True))
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert np.abs(theirs).max() > 0.1  # a real signal, not zeros
    assert config.data.tokenizer == "bpe" and config.data.block_size == 32
    assert config.model.activation == "gelu_tanh" and config.model.tie_embeddings


def test_prefixed_and_sharded_checkpoints_give_the_same_model(checkpoint, bpe, tmp_path,
                                                              imported):
    from safetensors.numpy import save_file

    tensors = hf_tensors(bpe.vocabulary_size(), prefix="transformer.")
    tensors["lm_head.weight"] = tensors["transformer.wte.weight"]
    folder = write_checkpoint(tmp_path / "sharded", bpe, tensors={"x": np.zeros(1, np.float32)})
    (folder / "model.safetensors").unlink()
    names = sorted(tensors)
    half = len(names) // 2
    weight_map = {}
    for shard, part in (("model-00001-of-00002.safetensors", names[:half]),
                        ("model-00002-of-00002.safetensors", names[half:])):
        save_file({n: tensors[n] for n in part}, str(folder / shard))
        weight_map.update({n: shard for n in part})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    import_gpt2(str(folder), str(tmp_path / "run"), echo=lambda *a: None)
    _, _, model = RunDirectory(str(tmp_path / "run")).load()
    ids = np.arange(20, dtype=np.int32)[None]
    np.testing.assert_allclose(np.asarray(model(ids)), np.asarray(imported[2](ids)), atol=1e-6)


def _edit_tensors(edit):
    def apply(folder, bpe):
        from safetensors.numpy import save_file

        tensors = hf_tensors(bpe.vocabulary_size())
        edit(tensors)
        save_file(tensors, str(folder / "model.safetensors"))
    return apply


def _edit_config(**changes):
    def apply(folder, bpe):
        (folder / "config.json").write_text(json.dumps(hf_config(bpe.vocabulary_size(),
                                                                 **changes)))
    return apply


def _truncate(folder, bpe):
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])


def _pickle_only(folder, bpe):
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")


def _vocabulary_mismatch(folder, bpe):
    vocabulary = json.loads((folder / "vocab.json").read_text("utf-8"))
    vocabulary["zzz-extra"] = len(vocabulary)
    (folder / "vocab.json").write_text(json.dumps(vocabulary), "utf-8")


BAD = [
    ("pickle", _pickle_only, r"pytorch_model.bin but no model.safetensors.*runs code"),
    ("truncated", _truncate, r"model.safetensors' is not a readable safetensors file"),
    ("shape", _edit_tensors(lambda t: t.update(
        {"h.1.mlp.c_fc.weight": np.zeros((64, 200), np.float32)})),
     r"Tensor h.1.mlp.c_fc.weight has shape \(64, 200\); config.json implies \(64, 256\)"),
    ("missing", _edit_tensors(lambda t: t.pop("h.0.ln_2.bias")),
     "Tensor h.0.ln_2.bias is missing"),
    ("unexpected", _edit_tensors(lambda t: t.update({"h.0.attn.rotary": np.zeros(3, np.float32)})),
     r"Tensor h.0.attn.rotary in model.safetensors is not a GPT-2 weight.*unexpected"),
    ("dtype", _edit_tensors(lambda t: t.update({"ln_f.bias": np.zeros(64, np.int32)})),
     "Tensor ln_f.bias is I32"),
    ("untied head", _edit_tensors(lambda t: t.update({"lm_head.weight": t["wte.weight"] + 1})),
     "lm_head.weight differs from wte.weight"),
    ("model type", _edit_config(model_type="bert"), "model_type 'bert'"),
    ("unsupported setting", _edit_config(scale_attn_by_inverse_layer_idx=True),
     "scale_attn_by_inverse_layer_idx=True, which tf_lm does not implement"),
    ("activation", _edit_config(activation_function="gelu_fast"),
     "activation_function='gelu_fast'"),
    ("inner width", _edit_config(n_inner="wide"), "n_inner must be null or a positive integer"),
    ("vocabulary", _vocabulary_mismatch, r"vocab.json has 513 tokens but the embedding .* 512"),
]


@pytest.mark.parametrize("name, damage, message", BAD, ids=[b[0] for b in BAD])
def test_bad_checkpoints_are_refused_by_name_and_nothing_is_written(checkpoint, bpe, tmp_path,
                                                                    name, damage, message):
    folder = tmp_path / "ckpt"
    shutil.copytree(checkpoint, folder)
    damage(folder, bpe)
    run = tmp_path / "run"
    with pytest.raises(InputError, match=message):
        import_gpt2(str(folder), str(run), echo=lambda *a: None)
    assert not run.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_an_existing_run_is_kept_unless_overwrite_moves_it_aside(checkpoint, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "mine.txt").write_text("keep")
    with pytest.raises(InputError, match="exists and is not empty"):
        import_gpt2(str(checkpoint), str(run), echo=lambda *a: None)
    assert (run / "mine.txt").read_text() == "keep"
    import_gpt2(str(checkpoint), str(run), overwrite=True, echo=lambda *a: None)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("run.old-")]
    assert len(aside) == 1 and (aside[0] / "mine.txt").read_text() == "keep"
    source = json.loads((run / "source.json").read_text())
    assert source["imported_from"] == str(checkpoint) and len(source["files"]) == 4
    assert GPT2Checkpoint(str(checkpoint)).model_options()["intermediate_dim"] == 256
