"""A sentence VAE through the commands: train, generate (the prior), encode, interpolate,
evaluate; and the inputs they refuse."""

import json
import os

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from tests.cli.conftest import run_cli

SUBJECTS = ["the cat", "a dog", "my horse", "the bird", "his fish"]
VERBS = ["sat on the mat", "ran far away", "ate the grass", "slept all day", "sang a song"]
VAE = ["--model.task=vae", "--model.architecture=lstm", "--model.num_layers=1",
       "--model.hidden_dim=16", "--model.latent_dim=4", "--data.tokenizer=word",
       "--data.block_size=12", "--train.batch_size=8", "--train.steps=60",
       "--train.eval_interval=30", "--train.checkpoint_interval=30",
       "--train.kl_schedule=linear", "--train.kl_anneal_steps=20", "--model.word_dropout=0.5",
       "--train.learning_rate=1e-2", "--train.warmup_steps=1", "--train.sample_tokens=0",
       "--train.jit_compile=false", "--quiet", "--no-export"]


def write_sentences(path, count, seed):
    rng = np.random.default_rng(seed)
    path.write_text("".join(f"{SUBJECTS[rng.integers(5)]} {VERBS[rng.integers(5)]} .\n"
                            for _ in range(count)), encoding="utf-8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("sentences")
    write_sentences(root / "train.txt", 200, 1)
    write_sentences(root / "valid.txt", 40, 2)
    write_sentences(root / "test.txt", 40, 3)
    return root


@pytest.fixture(scope="module")
def vae_run(corpus, tmp_path_factory):
    from tf_lm.cli.main import main

    run_dir = tmp_path_factory.mktemp("vae") / "run"
    assert main(["train", "--run-dir", str(run_dir), f"--data.corpus={corpus}", *VAE]) == 0
    return run_dir


def test_training_records_the_elbo_terms_in_the_run_and_tensorboard(vae_run):
    finished = json.loads((vae_run / "finished.json").read_text())
    assert finished["status"] == "finished" and finished["steps"] == 60
    np.testing.assert_allclose(finished["val_loss"],
                               finished["val_reconstruction"] + finished["val_kl"], rtol=1e-6)
    assert 0 <= finished["val_active_units"] <= 4
    events = [os.path.join(vae_run / "logs" / "validation", f)
              for f in os.listdir(vae_run / "logs" / "validation")]
    accumulator = event_accumulator.EventAccumulator(events[0])
    accumulator.Reload()
    assert {"reconstruction", "kl", "kl_weight", "active_units"} <= set(
        accumulator.Tags()["tensors"])


def test_generate_encode_interpolate_and_evaluate(capsys, vae_run):
    code, out, err = run_cli(capsys, "generate", "--run-dir", str(vae_run), "--num-samples",
                             "3", "--sampler", "top_k", "--top-k", "5", "--json")
    assert code == 0, err
    assert len(json.loads(out)["samples"]) == 3
    code, out, err = run_cli(capsys, "encode", "--run-dir", str(vae_run), "--text",
                             "the cat sat on the mat .", "--reconstruct", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert len(record["mean"]) == 4 and len(record["log_variance"]) == 4
    assert isinstance(record["reconstruction"], str)
    code, out, err = run_cli(capsys, "interpolate", "--run-dir", str(vae_run), "--from",
                             "the cat sat on the mat .", "--to", "a dog ran far away .",
                             "--steps", "3", "--json")
    assert code == 0, err
    assert [p["t"] for p in json.loads(out)["points"]] == [0.0, 0.5, 1.0]
    code, out, err = run_cli(capsys, "evaluate", "--run-dir", str(vae_run), "--split", "test",
                             "--samples", "20", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["sentences"] == 40 and result["nll"] <= result["nll_bound"] + 0.5
    code, out, _ = run_cli(capsys, "evaluate", "--run-dir", str(vae_run), "--samples", "5")
    assert "importance-weighted (5 samples)" in out and "active units" in out


def test_vae_commands_refuse_bad_input_in_one_line(capsys, vae_run, run_dir):
    cases = [
        (("generate", "--run-dir", str(vae_run), "--prompt", "the cat"), "not from a prompt"),
        (("generate", "--run-dir", str(vae_run), "--num-samples", "0"), "at least 1"),
        (("encode", "--run-dir", str(run_dir), "--text", "hi"), "not a sentence VAE"),
        (("encode", "--run-dir", str(vae_run), "--text", " "), "Sentence 1 is empty"),
        (("interpolate", "--run-dir", str(vae_run), "--from", "a", "--to", "b", "--steps",
          "1"), "steps must be at least 2"),
        (("evaluate", "--run-dir", str(run_dir), "--samples", "3"), "applies to sentence VAE"),
        (("predict", "--run-dir", str(vae_run), "--text", "hi"), "is a sentence VAE, not a"),
    ]
    for argv, message in cases:
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, argv


@pytest.mark.parametrize("flags, message", [
    (["--model.latent_dim=0"], "model.latent_dim"),
    (["--train.kl_anneal_steps=1000"], "reaches a KL weight of 0.060 at the last step (60)"),
    (["--model.architecture=gpt"], "A sentence VAE (model.task=vae) is recurrent"),
    (["--data.tokenizer=char"], "data.tokenizer must be 'word'"),
])
def test_bad_vae_configs_are_refused_before_anything_is_written(capsys, corpus, tmp_path,
                                                                flags, message):
    code, _, err = run_cli(capsys, "train", "--run-dir", str(tmp_path / "bad"),
                           f"--data.corpus={corpus}", *VAE, *flags)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()


def test_vae_keys_are_refused_for_a_language_model(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--run-dir", str(tmp_path / "lm"),
                           "--model.word_dropout=0.3", "--no-export")
    assert code == 2 and "applies to a sentence VAE or a classifier" in err


def test_the_export_encodes_decodes_and_samples_as_python_does(capsys, vae_run, tmp_path):
    from tests.serving.conftest import serve_like_tf_serving
    from tf_lm.cli.encode import generator, vae_run as open_vae_run

    code, _, err = run_cli(capsys, "export", "--run-dir", str(vae_run), "--base", str(tmp_path))
    assert code == 0, err
    sentences = generator(open_vae_run(str(vae_run)))
    texts = ["the cat sat on the mat .", "a dog ran far away ."]
    mean, log_variance = sentences.encode(texts)
    greedy = sentences.decode(mean, max_new_tokens=10)
    path = str(tmp_path / "tf_lm" / "1")
    report, answers = serve_like_tf_serving(path, [
        {"signature_name": "encode", "instances": [{"texts": t} for t in texts]},
        {"signature_name": "decode", "inputs": {"z": mean.tolist(), "max_new_tokens": 10}},
        {"signature_name": "sample", "inputs": {"seed": [3, 4]}},
        {"signature_name": "sample", "inputs": {"seed": [4]}},
        {"signature_name": "decode", "inputs": {"z": [[0.0, 1.0]]}},
        {"signature_name": "encode", "inputs": {"texts": []}},
        {"signature_name": "decode", "inputs": {"z": mean.tolist(), "top_p": 1.5}},
    ], tmp_path)
    assert not [op for op in report["not_in_core"] if op.startswith("Xla") or "PyFunc" in op]
    served = answers[0]["outputs"]
    np.testing.assert_allclose(served["mean"], mean, atol=1e-5)
    np.testing.assert_allclose(served["log_variance"], log_variance, atol=1e-5)
    assert answers[1]["outputs"]["text"] == greedy
    assert answers[2]["outputs"]["text"][1] == answers[3]["outputs"]["text"][0]  # per row
    assert np.asarray(answers[2]["outputs"]["z"]).shape == (2, 4)
    assert "z must be finite, of shape [batch, 4]" in answers[4]["error"]
    assert "empty batch" in answers[5]["error"] and "top_p" in answers[6]["error"]
    metadata = json.loads((tmp_path / "tf_lm" / "1" / "assets.extra" /
                           "tf_lm_export.json").read_text())
    assert metadata["task"] == "vae" and metadata["latent_dim"] == 4
    assert set(metadata["signatures"]) == {"serving_default", "encode", "decode", "sample"}


def test_a_run_without_its_model_file_loads_its_best_checkpoint(capsys, vae_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(vae_run, copy)
    (copy / "model.keras").unlink()
    text = ["--text", "the cat sat on the mat ."]
    _, whole, _ = run_cli(capsys, "encode", "--run-dir", str(vae_run), *text, "--json")
    code, partial, err = run_cli(capsys, "encode", "--run-dir", str(copy), *text, "--json")
    assert code == 0, err
    # The best checkpoint (the lowest validation -ELBO) stands in for model.keras.
    assert len(json.loads(partial)["mean"]) == len(json.loads(whole)["mean"]) == 4
