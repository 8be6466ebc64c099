"""A text classifier through the commands: train, evaluate, predict, export, served."""

import json
import re

import numpy as np
import pytest

from tests.cli.conftest import TINY_RUN, run_cli
from tests.serving.conftest import serve_like_tf_serving

GOOD = ["good", "great", "fine", "lovely", "superb"]
BAD = ["bad", "awful", "dull", "poor", "tired"]
FILLER = ["the film was", "it is", "a story that is", "this one is", "the acting was"]
CLASSIFIER = ["--model.task=classifier", "--data.tokenizer=word", "--data.valid_fraction=0.2",
              "--data.test_fraction=0.2", "--train.learning_rate=1e-2"]


def texts(words, seed):
    rng = np.random.default_rng(seed)
    return [f"{FILLER[rng.integers(5)]} {words[rng.integers(5)]} ." for _ in range(60)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("reviews")
    (root / "reviews.pos").write_text("\n".join(texts(GOOD, 1)) + "\n", encoding="utf-8")
    (root / "reviews.neg").write_text("\n".join(texts(BAD, 2)) + "\n", encoding="utf-8")
    return root


def train(capsys, corpus, run_dir, *flags):
    tiny = [f for f in TINY_RUN if not f.startswith("--train.steps")]
    code, out, err = run_cli(capsys, "train", "--run-dir", str(run_dir),
                             f"--data.corpus={corpus}", *tiny, *CLASSIFIER,
                             "--train.steps=30", "--train.eval_interval=10",
                             "--train.checkpoint_interval=10", *flags)
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def classifier(corpus, tmp_path_factory):
    from tf_lm.cli.main import main

    run_dir = tmp_path_factory.mktemp("classifier") / "run"
    tiny = [f for f in TINY_RUN if not f.startswith("--train.steps")]
    assert main(["train", "--run-dir", str(run_dir), f"--data.corpus={corpus}", *tiny,
                 *CLASSIFIER, "--train.steps=30", "--train.eval_interval=10",
                 "--train.checkpoint_interval=10", "--data.lowercase=true",
                 "--data.stopwords=english"]) == 0
    return run_dir


def test_train_reports_accuracy_and_saves_labels_and_preprocessing(classifier):
    finished = json.loads((classifier / "finished.json").read_text())
    assert finished["val_accuracy"] >= 0.9 and finished["val_macro_f1"] >= 0.9
    assert json.loads((classifier / "labels.json").read_text()) == ["neg", "pos"]
    preprocessing = json.loads((classifier / "tokenizer" / "preprocessing.json").read_text())
    assert preprocessing["lowercase"] and "the" in preprocessing["stopwords"]
    assert "the" not in (classifier / "tokenizer" / "vocabulary.txt").read_text().split()


def test_evaluate_reports_per_class_figures_and_the_confusion_matrix(capsys, classifier):
    code, out, err = run_cli(capsys, "evaluate", "--run-dir", str(classifier), "--split",
                             "test", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["texts"] == 24 and report["labels"] == ["neg", "pos"]
    matrix = np.array(report["confusion_matrix"])
    assert matrix.sum() == 24 and matrix.sum(axis=1).tolist() == [12, 12]
    assert report["accuracy"] == pytest.approx(np.trace(matrix) / 24)
    assert set(report["per_class"]["pos"]) == {"precision", "recall", "f1", "support"}
    code, out, _ = run_cli(capsys, "evaluate", "--run-dir", str(classifier))
    assert code == 0 and "macro F1" in out and "confusion matrix" in out


def test_predict_then_the_export_answers_the_same_through_predict_and_classify(
        capsys, classifier, tmp_path):
    code, out, err = run_cli(capsys, "predict", "--run-dir", str(classifier), "--json",
                             "--text", "The film was SUPERB .", "--text", "it is awful .")
    assert code == 0, err
    predicted = [json.loads(line) for line in out.splitlines()]
    assert [p["label"] for p in predicted] == ["pos", "neg"]
    code, _, err = run_cli(capsys, "export", "--run-dir", str(classifier), "--base",
                           str(tmp_path))
    assert code == 0, err
    path = str(tmp_path / "tf_lm" / "1")
    report, answers = serve_like_tf_serving(path, [
        {"instances": [{"texts": "The film was SUPERB ."}, {"texts": "it is awful ."}]},
        {"signature_name": "classify",
         "examples": [{"text": "The film was SUPERB ."}, {"text": "it is awful ."}]},
        {"signature_name": "classify", "examples": [{"review": "no text feature"}]},
        {"signature_name": "classify", "examples": []},
        {"inputs": {"texts": []}},
    ], tmp_path)
    assert not [op for op in report["not_in_core"] if op.startswith("Xla") or "PyFunc" in op]
    assert answers[0]["outputs"]["label"] == ["pos", "neg"]
    for served, local in zip(answers[0]["outputs"]["probabilities"], predicted):
        np.testing.assert_allclose(served, [local["probabilities"][n] for n in ("neg", "pos")],
                                   atol=1e-5)
    assert [[c for c, _ in row] for row in answers[1]["results"]] == [["neg", "pos"]] * 2
    np.testing.assert_allclose([[s for _, s in row] for row in answers[1]["results"]],
                               answers[0]["outputs"]["probabilities"], atol=1e-6)
    assert "Feature: text (data type: string) is required" in answers[2]["error"]
    assert "empty batch" in answers[3]["error"] and "empty batch" in answers[4]["error"]
    from tf_lm.serving.warmup import read_warmup_requests

    warmup = read_warmup_requests(f"{path}/assets.extra/tf_serving_warmup_requests")
    assert [type(r).__name__ for r in warmup] == ["ClassificationRequest", "PredictRequest"]
    metadata = json.loads((tmp_path / "tf_lm" / "1" / "assets.extra" /
                           "tf_lm_export.json").read_text())
    assert metadata["task"] == "classifier" and metadata["labels"] == ["neg", "pos"]


def test_an_ensemble_averages_its_runs_probabilities(capsys, classifier, corpus, tmp_path,
                                                     run_dir):
    other = tmp_path / "seed7"  # no lowercasing or stop words: each run encodes its own way
    train(capsys, corpus, other, "--train.seed=7")
    said = {"The film was SUPERB .", "it is a story that is dull .", "the acting was fine ."}
    argv = ["--json", *[a for text in sorted(said) for a in ("--text", text)]]

    def predicted(*runs):
        flags = ["--run-dir", str(runs[0])] + [a for r in runs[1:] for a in ("--ensemble", str(r))]
        code, out, err = run_cli(capsys, "predict", *flags, *argv)
        assert code == 0, err
        return np.array([[json.loads(line)["probabilities"][n] for n in ("neg", "pos")]
                         for line in out.splitlines()])

    one, two, both = predicted(classifier), predicted(other), predicted(classifier, other)
    np.testing.assert_allclose(both, (one + two) / 2, atol=1e-6)
    assert not np.allclose(one, two, atol=1e-3)  # two different models
    code, _, err = run_cli(capsys, "export", "--run-dir", str(classifier), "--ensemble",
                           str(other), "--base", str(tmp_path / "export"))
    assert code == 0, err
    served = str(tmp_path / "export" / "tf_lm" / "1")
    _, answers = serve_like_tf_serving(served, [
        {"instances": [{"texts": text} for text in sorted(said)]},
        {"signature_name": "classify", "examples": [{"text": text} for text in sorted(said)]},
    ], tmp_path)
    np.testing.assert_allclose(answers[0]["outputs"]["probabilities"], both, atol=1e-5)
    np.testing.assert_allclose([[p for _, p in row] for row in answers[1]["results"]], both,
                               atol=1e-5)
    metadata = json.loads((tmp_path / "export" / "tf_lm" / "1" / "assets.extra" /
                           "tf_lm_export.json").read_text())
    assert [m["preprocessing"]["lowercase"] for m in metadata["ensemble"]] == [True, False]
    assert (tmp_path / "export" / "tf_lm" / "1" / "keras" / "ensemble" / "1" /
            "model.keras").is_file()
    code, _, err = run_cli(capsys, "train", "--run-dir", str(tmp_path / "from-ensemble"),
                           "--init-from", served, f"--data.corpus={corpus}")
    assert code == 2 and "is an ensemble of 2 classifiers" in err
    solo = []
    for run in (classifier, other):
        code, out, err = run_cli(capsys, "evaluate", "--run-dir", str(run), "--split", "test",
                                 "--json")
        solo.append(json.loads(out)["accuracy"])
    code, out, err = run_cli(capsys, "evaluate", "--run-dir", str(classifier), "--ensemble",
                             str(other), "--split", "test", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [m["accuracy"] for m in report["ensemble"]] == pytest.approx(solo)
    code, out, err = run_cli(capsys, "evaluate", "--run-dir", str(classifier), "--ensemble",
                             str(other), "--split", "test", "--json", "--corpus", str(corpus))
    assert code == 0 and json.loads(out)["accuracy"] == report["accuracy"], err
    assert report["texts"] == 24 and np.array(report["confusion_matrix"]).sum() == 24
    code, out, _ = run_cli(capsys, "evaluate", "--run-dir", str(classifier), "--ensemble",
                           str(other), "--split", "test")
    assert code == 0 and "ensemble of 2 runs" in out
    # Another split: the runs' data settings disagree, so its training texts may be tested.
    moved = tmp_path / "other-split"
    import shutil

    shutil.copytree(other, moved)
    config = json.loads((moved / "config.json").read_text())
    config["data"]["seed"] = 5
    (moved / "config.json").write_text(json.dumps(config))
    for command, flags, message in [
        ("evaluate", ["--ensemble", str(moved)], "settings give another valid split than"),
        ("evaluate", ["--ensemble", str(run_dir)], "is not a classifier run"),
        ("predict", ["--ensemble", str(classifier), "--text", "hi"], "is given twice"),
        ("export", ["--ensemble", str(run_dir), "--base", str(tmp_path / "x")],
         "is not a classifier run"),
        ("predict", ["--ensemble", str(other), "--adapters", "a.safetensors", "--text", "hi"],
         "--adapters merges into one run"),
    ]:
        code, _, err = run_cli(capsys, command, "--run-dir", str(classifier), *flags)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    code, _, err = run_cli(capsys, "evaluate", "--run-dir", str(run_dir), "--ensemble",
                           str(other))
    assert code == 2 and "is a language model" in err


@pytest.fixture(scope="module")
def language_model(tmp_path_factory):
    """A tiny GPT language model run on the reviews' words, unlabelled."""
    from tf_lm.cli.main import main

    root = tmp_path_factory.mktemp("lm")
    lm_corpus = root / "unlabelled.txt"
    lm_corpus.write_text("\n".join(texts(GOOD, 3) + texts(BAD, 4)) + "\n", encoding="utf-8")
    assert main(["train", "--run-dir", str(root / "lm"), f"--data.corpus={lm_corpus}",
                 "--data.tokenizer=word", *TINY_RUN]) == 0
    return root / "lm"


def test_a_classifier_starts_from_a_language_models_backbone(
        capsys, corpus, language_model, tmp_path):
    out = train(capsys, corpus, tmp_path / "tuned", "--init-from", str(language_model),
                "--model.word_dropout=0.2")
    assert f"starting from the weights of {language_model}" in out
    assert "validation: accuracy" in out
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert config["model"]["task"] == "classifier" and config["model"]["hidden_dim"] == 16
    # Word dropout is a regularizer, not a weight: the fine-tune may set it.
    assert config["model"]["word_dropout"] == 0.2


def test_gradual_unfreezing_keeps_the_lower_groups_at_the_language_models_weights(
        capsys, corpus, language_model, tmp_path):
    # 72 training texts in batches of 4: an epoch is 18 steps, and the run 30.
    out = train(capsys, corpus, tmp_path / "tuned", "--init-from", str(language_model),
                "--train.unfreeze_epochs=1", "--train.layer_lr_decay=0.5")
    assert ("layer groups, top first: head x1, transformer_block_0 x0.5 from step 18, "
            "embeddings x0.25 (never trains: it would join at step 36)") in out
    from tf_lm.run_dir import RunDirectory

    lm, tuned = (RunDirectory(str(path)).load()[2] for path in (language_model, tmp_path / "tuned"))
    source = {v.path.split("/", 1)[1]: np.asarray(v) for v in lm.backbone.weights}
    changed = {path for path, value in ((v.path.split("/", 1)[1], np.asarray(v))
                                        for v in tuned.backbone.weights)
               if not np.array_equal(value, source[path])}
    assert changed and all(path.startswith(("transformer_block_0/", "final_norm/"))
                           for path in changed), changed  # the embeddings never joined


def test_restore_best_ends_with_the_best_validation_weights_not_the_last(capsys, tmp_path):
    # The validation labels are the training labels flipped: the more the model learns, the
    # worse its validation loss, so the best weights are an early evaluation's.
    rows = [("pos", t) for t in texts(GOOD, 1)] + [("neg", t) for t in texts(BAD, 2)]
    (tmp_path / "flipped").mkdir()
    (tmp_path / "flipped" / "train.tsv").write_text(
        "".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")
    (tmp_path / "flipped" / "valid.tsv").write_text("".join(
        f"{'neg' if label == 'pos' else 'pos'}\t{text}\n" for label, text in rows[::6]),
        encoding="utf-8")
    corpus = tmp_path / "flipped"
    out = train(capsys, corpus, tmp_path / "best", "--train.restore_best=true",
                "--train.monitor=val_accuracy")
    step = int(re.search(r"restored the best validation weights \(step (\d+), val_loss "
                         r"[0-9.]+, val_accuracy [0-9.]+\)", out).group(1))
    assert step < 30
    train(capsys, corpus, tmp_path / "last")
    from tf_lm.run_dir import RunDirectory

    best, last = RunDirectory(str(tmp_path / "best")).load()[2], RunDirectory(
        str(tmp_path / "last")).load()[2]
    saved_best = RunDirectory(str(tmp_path / "best")).load()[2]
    saved_best.load_weights(str(tmp_path / "best" / "checkpoints" / "best.weights.h5"))
    for a, b in zip(best.weights, saved_best.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
               for a, b in zip(best.weights, last.weights)) > 1e-3


@pytest.mark.parametrize("flags, message", [
    (["--model.num_classes=3"], "model.num_classes=3 but the labelled corpus"),
    (["--data.sampler=contiguous", "--model.architecture=lstm"], "data.sampler='contiguous'"),
    (["--model.word_dropout=0.2", "--data.tokenizer=byte"], "data.tokenizer='byte' has none"),
    (["--train.free_bits=0.5"], "'train.free_bits' applies to a sentence VAE"),
])
def test_bad_classifier_configs_are_refused(capsys, corpus, tmp_path, flags, message):
    tiny = [f for f in TINY_RUN if not f.startswith("--train.steps")]
    code, _, err = run_cli(capsys, "train", "--run-dir", str(tmp_path / "bad"),
                           f"--data.corpus={corpus}", *tiny, *CLASSIFIER, *flags)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()  # refused before anything is written


def test_commands_refuse_the_wrong_kind_of_run(capsys, classifier, run_dir):
    code, _, err = run_cli(capsys, "generate", "--run-dir", str(classifier))
    assert code == 2 and "is a classifier, which does not generate text" in err
    code, _, err = run_cli(capsys, "predict", "--run-dir", str(run_dir), "--text", "hi")
    assert code == 2 and "is a language model, not a classifier" in err
    code, _, err = run_cli(capsys, "predict", "--run-dir", str(classifier), "--text", " ")
    assert code == 2 and "Text 1 is empty" in err
    code, _, err = run_cli(capsys, "evaluate", "--run-dir", str(classifier),
                           "--continuations", "2")
    assert code == 2 and "apply to language models" in err
    code, _, err = run_cli(capsys, "train", "--data.stopwords=english", "--no-export")
    assert code == 2 and "apply to classifier runs" in err
    code, _, err = run_cli(capsys, "train", "--train.monitor=val_f1", "--no-export")
    assert code == 2 and "a language model monitors 'val_loss'" in err
