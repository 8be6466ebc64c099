"""Import → fine-tune (full, frozen, LoRA) → export → serve, through the `tf-lm` commands."""

import json

import numpy as np
import pytest

from tests.cli.conftest import run_cli
from tests.conftest import SHAKESPEARE_LIKE
from tests.serving.conftest import serve_like_tf_serving
from tf_lm.run_dir import RunDirectory
from tf_lm.models import lora_adapters

SHORT = ["--train.batch_size=4", "--train.steps=4", "--train.eval_interval=2",
         "--train.checkpoint_interval=2", "--train.eval_steps=1", "--train.warmup_steps=1",
         "--train.sample_tokens=0", "--train.jit_compile=false", "--train.learning_rate=1e-3",
         "--quiet", "--no-export"]


@pytest.fixture(scope="module")
def imported(checkpoint, tmp_path_factory):
    from tf_lm.pretrained import import_gpt2

    root = tmp_path_factory.mktemp("fine-tune")
    corpus = root / "corpus.txt"
    corpus.write_text(SHAKESPEARE_LIKE * 12, encoding="utf-8")
    import_gpt2(str(checkpoint), str(root / "gpt2"), echo=lambda *a: None)
    return root, corpus


def fine_tune(capsys, root, corpus, name, *flags):
    code, out, err = run_cli(capsys, "train", "--init-from", str(root / "gpt2"), "--run-dir",
                             str(root / name), f"--data.corpus={corpus}", *SHORT, *flags)
    assert code == 0, err
    return out


def weights(run):
    return RunDirectory(str(run)).load()[2]


def test_served_greedy_text_equals_tf_lm_generate(capsys, imported, tmp_path):
    root, _ = imported
    code, greedy, err = run_cli(capsys, "generate", "--run-dir", str(root / "gpt2"),
                                "--prompt", "First Citizen:", "--max-new-tokens", "12",
                                "--sampler", "greedy")
    assert code == 0, err
    code, out, err = run_cli(capsys, "export", "--run-dir", str(root / "gpt2"),
                             "--base", str(tmp_path))
    assert code == 0, err
    path = str(tmp_path / "tf_lm" / "1")
    report, answers = serve_like_tf_serving(path, [
        {"inputs": {"prompts": ["First Citizen:"], "max_new_tokens": 12}}], tmp_path)
    assert not [op for op in report["not_in_core"] if op.startswith("Xla") or "PyFunc" in op]
    assert set(report["not_in_core"]) <= {"RegexSplitWithOffsets"}  # tensorflow-text's split
    continuation = answers[0]["outputs"]["text"][0]
    assert len(continuation) > 3 and "First Citizen:" + continuation == greedy[:-1]  # + "\n"


def test_full_fine_tune_starts_from_the_imported_weights_and_records_it(capsys, imported):
    root, corpus = imported
    out = fine_tune(capsys, root, corpus, "full")
    assert f"starting from the weights of {root / 'gpt2'}" in out
    config = json.loads((root / "full" / "config.json").read_text())
    assert config["train"]["init_from"] == str(root / "gpt2")
    assert config["model"]["num_layers"] == 2 and config["data"]["tokenizer"] == "bpe"
    base, tuned = weights(root / "gpt2"), weights(root / "full")
    moved = [np.abs(a - b).max() for a, b in zip(base.get_weights(), tuned.get_weights())]
    assert 0 < max(moved) < 0.05  # four small steps away from the pretrained weights
    code, _, err = run_cli(capsys, "train", "--init-from", str(root / "gpt2"), "--run-dir",
                           str(root / "bad"), "--model.num_layers=4", *SHORT)
    assert code == 2 and "model.num_layers=4 conflicts with --init-from" in err
    assert not (root / "bad").exists()


def test_frozen_blocks_and_embeddings_do_not_move(capsys, imported):
    root, corpus = imported
    out = fine_tune(capsys, root, corpus, "frozen", "--train.freeze_blocks=1",
                    "--train.freeze_embeddings=true")
    total = weights(root / "gpt2").count_params()
    block = weights(root / "gpt2").backbone.transformer_blocks[0].count_params()
    embeddings = 512 * 64 + 32 * 64
    assert f"training {total - block - embeddings:,} of {total:,} parameters" in out
    base, tuned = weights(root / "gpt2").backbone, weights(root / "frozen").backbone
    for frozen in ("transformer_blocks", "token_embedding"):
        a = getattr(base, frozen)[0] if frozen == "transformer_blocks" else getattr(base, frozen)
        b = getattr(tuned, frozen)[0] if frozen == "transformer_blocks" else getattr(tuned, frozen)
        for x, y in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(x, y)
    assert not np.array_equal(base.transformer_blocks[1].get_weights()[0],
                              tuned.transformer_blocks[1].get_weights()[0])
    code, _, err = run_cli(capsys, "train", "--init-from", str(root / "gpt2"), "--run-dir",
                           str(root / "bad"), "--train.freeze_blocks=3", *SHORT)
    assert code == 2 and "freeze_blocks' is 3 but the model has 2 blocks" in err


def test_lora_trains_adapters_alone_merges_them_and_they_load_onto_the_base(capsys, imported,
                                                                            tmp_path):
    root, corpus = imported
    out = fine_tune(capsys, root, corpus, "lora", "--train.lora_rank=4", "--train.lora_alpha=8")
    adapters = root / "lora" / lora_adapters.ADAPTERS_FILE
    assert "LoRA adapters alone" in out and adapters.stat().st_size < 40_000
    assert "training 3,072 of" in out  # 2 blocks x (64x4 + 4x192 for qkv + 64x4 + 4x64 for out)
    base, merged = weights(root / "gpt2"), weights(root / "lora")  # model.keras: merged
    assert not lora_adapters.adapted_layers(merged)
    ids = np.arange(30, dtype=np.int32)[None]
    lora_adapters.load_adapters(base, str(adapters))  # the small file onto the base run
    np.testing.assert_allclose(np.asarray(base(ids)), np.asarray(merged(ids)), atol=1e-5)
    assert not np.allclose(np.asarray(weights(root / "gpt2")(ids)), np.asarray(merged(ids)),
                           atol=1e-4)
    untouched = weights(root / "gpt2").backbone.token_embedding.get_weights()[0]
    np.testing.assert_array_equal(merged.backbone.token_embedding.get_weights()[0], untouched)
    code, _, err = run_cli(capsys, "export", "--run-dir", str(root / "lora"),
                           "--base", str(tmp_path))
    assert code == 0, err
    pb = (tmp_path / "tf_lm" / "1" / "saved_model.pb").read_bytes()
    assert b"lora" not in pb  # merged: the served graph has no adapter ops or variables


def test_a_lora_run_resumes_with_its_adapters(capsys, imported):
    """Keras saves adapted kernels merged and zeroes the adapters on load; the backup keeps
    them, so a resumed LoRA run goes on training (A = B = 0 would have zero gradients)."""
    root, corpus = imported
    fine_tune(capsys, root, corpus, "resumed", "--train.lora_rank=2")
    code, out, err = run_cli(capsys, "train", "--init-from", str(root / "gpt2"), "--run-dir",
                             str(root / "resumed"), f"--data.corpus={corpus}", "--resume",
                             *SHORT[:1], "--train.steps=6", *SHORT[2:], "--train.lora_rank=2")
    assert code == 0, err
    assert "resuming" in out and "from step 4" in out
    from safetensors.numpy import load_file

    adapters = str(root / "resumed" / lora_adapters.ADAPTERS_FILE)
    after = load_file(adapters)
    assert all(np.abs(v).max() > 0 for v in after.values())
    # the base kernels came back from merged weights only to rounding; the file still names
    # the exact base, so it applies to the run it was fine-tuned from
    lora_adapters.load_adapters(weights(root / "gpt2"), adapters)


def test_adapters_apply_to_their_base_in_generate_evaluate_and_export(
        capsys, imported, tmp_path):
    root, corpus = imported
    if not (root / "lora" / lora_adapters.ADAPTERS_FILE).exists():
        fine_tune(capsys, root, corpus, "lora", "--train.lora_rank=4", "--train.lora_alpha=8")
    adapters = str(root / "lora" / lora_adapters.ADAPTERS_FILE)
    greedy = ["--prompt", "First Citizen:", "--max-new-tokens", "12", "--sampler", "greedy"]
    code, tuned, err = run_cli(capsys, "generate", "--run-dir", str(root / "lora"), *greedy)
    assert code == 0, err
    code, applied, err = run_cli(capsys, "generate", "--run-dir", str(root / "gpt2"),
                                 "--adapters", adapters, *greedy)
    assert code == 0, err
    assert applied == tuned
    code, base, _ = run_cli(capsys, "generate", "--run-dir", str(root / "gpt2"), *greedy)
    assert base != tuned  # the adapters change what the model says
    scores = []
    for run, extra in (("lora", []), ("gpt2", ["--adapters", adapters])):
        code, out, err = run_cli(capsys, "evaluate", "--run-dir", str(root / run), "--json",
                                 "--corpus", str(corpus), *extra)
        assert code == 0, err
        scores.append(json.loads(out)["loss"])
    assert abs(scores[0] - scores[1]) < 1e-4
    code, out, err = run_cli(capsys, "export", "--run-dir", str(root / "gpt2"), "--adapters",
                             adapters, "--base", str(tmp_path))
    assert code == 0, err
    pb = (tmp_path / "tf_lm" / "1" / "saved_model.pb").read_bytes()
    assert b"lora" not in pb
    _, answers = serve_like_tf_serving(str(tmp_path / "tf_lm" / "1"), [
        {"inputs": {"prompts": ["First Citizen:"], "max_new_tokens": 12}}], tmp_path)
    assert "First Citizen:" + answers[0]["outputs"]["text"][0] == tuned[:-1]


def test_adapters_are_refused_on_another_base_and_when_missing(capsys, imported, tmp_path):
    root, corpus = imported
    if not (root / "lora" / lora_adapters.ADAPTERS_FILE).exists():
        fine_tune(capsys, root, corpus, "lora", "--train.lora_rank=4", "--train.lora_alpha=8")
    if not (root / "full").exists():
        fine_tune(capsys, root, corpus, "full")
    adapters = str(root / "lora" / lora_adapters.ADAPTERS_FILE)
    code, _, err = run_cli(capsys, "export", "--run-dir", str(root / "full"), "--adapters",
                           adapters, "--base", str(tmp_path))
    assert code == 2 and "was trained on other base weights" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "generate", "--run-dir", str(root / "gpt2"), "--adapters",
                           str(tmp_path / "none.safetensors"))
    assert code == 2 and "LoRA adapters file not found" in err
    assert not (tmp_path / "tf_lm").exists()


def test_init_from_an_export_starts_from_its_newest_version(capsys, imported, tmp_path):
    root, corpus = imported
    code, _, err = run_cli(capsys, "export", "--run-dir", str(root / "gpt2"), "--base",
                           str(tmp_path / "export"))
    assert code == 0, err
    model_dir = tmp_path / "export" / "tf_lm"
    code, out, err = run_cli(capsys, "train", "--init-from", str(model_dir), "--run-dir",
                             str(root / "from-export"), f"--data.corpus={corpus}", *SHORT)
    assert code == 0, err
    assert f"starting from the weights of {model_dir / '1'}" in out
    config = json.loads((root / "from-export" / "config.json").read_text())
    assert config["train"]["init_from"] == str(model_dir / "1")
    assert config["data"]["tokenizer"] == "bpe" and config["model"]["num_layers"] == 2
    base, tuned = weights(root / "gpt2"), weights(root / "from-export")
    moved = [np.abs(a - b).max() for a, b in zip(base.get_weights(), tuned.get_weights())]
    assert 0 < max(moved) < 0.05
    code, _, err = run_cli(capsys, "train", "--init-from", str(model_dir), "--run-dir",
                           str(root / "bad"), "--model.hidden_dim=32", *SHORT)
    assert code == 2 and "model.hidden_dim=32 conflicts with --init-from" in err
    assert not (root / "bad").exists()


def test_init_from_as_a_config_key_takes_the_source_model_too(capsys, imported):
    root, corpus = imported
    code, _, err = run_cli(capsys, "train", f"--train.init_from={root / 'gpt2'}", "--run-dir",
                           str(root / "bad"), "--data.tokenizer=char", *SHORT)
    assert code == 2 and "data.tokenizer='char' conflicts with --init-from" in err
    code, _, err = run_cli(capsys, "train", "--init-from", str(root / "missing"), *SHORT)
    assert code == 2 and "Run directory not found" in err
    assert not (root / "bad").exists()
