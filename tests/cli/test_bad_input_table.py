"""Every command, bad input as a new user types it: one line naming the input, exit 2, no
traceback, and every run, export and input directory byte for byte as it was.

The table is the list in docs/reliability.md; serving signatures' bad requests are checked in
tests/benchmarks/test_serving_benchmark.py (INVALID_ARGUMENT, the other requests undisturbed).
"""

import shutil

import pytest

from tf_lm.cli.main import main


def tree(root):
    """{relative path: bytes, or None for a directory} of everything under `root`."""
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
            for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def place(run_dir, tmp_path_factory):
    """A workspace: the finished run `R`, its export `E`, corpora, damaged copies."""
    root = tmp_path_factory.mktemp("bad-input")
    run = root / "R"
    shutil.copytree(run_dir, run)
    assert main(["export", "--run-dir", str(run), "--base", str(root / "E")]) == 0
    (root / "tiny.txt").write_text("hello world\n", encoding="utf-8")
    (root / "latin1.txt").write_bytes("café au lait\n".encode("latin-1") * 50)
    (root / "empty.txt").write_text("", encoding="utf-8")
    (root / "foreign").mkdir()
    (root / "foreign" / "notes.txt").write_text("mine\n", encoding="utf-8")
    (root / "a-file").write_text("not a directory\n", encoding="utf-8")
    (root / "hf").mkdir()
    (root / "hf" / "pytorch_model.bin").write_bytes(b"\x80\x02pickled")
    (root / "hf" / "config.json").write_text(
        '{"model_type": "gpt2", "n_layer": 1, "n_head": 1, "n_embd": 4, "vocab_size": 10, '
        '"n_positions": 8}', encoding="utf-8")
    (root / "hf" / "vocab.json").write_text('{"a": 0}', encoding="utf-8")
    (root / "hf" / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    damaged = {
        "bad-config": ("config.json", lambda b: b[: len(b) // 2]),
        "bad-tokenizer": ("tokenizer/tokenizer.json", lambda b: b"{\"kind\": \"char\", "),
        "bad-model": ("model.keras", lambda b: b[: len(b) // 3]),
        "bad-best": ("checkpoints/best.weights.h5", lambda b: b[: len(b) // 2]),
    }
    for name, (file, spoil) in damaged.items():
        shutil.copytree(run, root / name)
        if name == "bad-best":  # an interrupted run: no model.keras, so the best checkpoint
            (root / name / "model.keras").unlink()
        target = root / name / file
        target.write_bytes(spoil(target.read_bytes()))
    shutil.copytree(root / "E", root / "E-bad-pb")
    pb = next((root / "E-bad-pb").rglob("saved_model.pb"))
    pb.write_bytes(pb.read_bytes()[:200])
    return root


# (name, argv with R, E, ... as placeholders, what the one line must contain)
CASES = [
    ("inspect: no corpus", ["data", "inspect", "--data.corpus={}/no/such.txt"], "no/such.txt"),
    ("inspect: block_size 0", ["data", "inspect", "--data.corpus={}/tiny.txt",
                               "--data.block_size=0"], "data.block_size"),
    ("inspect: unknown tokenizer", ["data", "inspect", "--data.corpus={}/tiny.txt",
                                    "--data.tokenizer=nope"], "data.tokenizer"),
    ("inspect: not UTF-8", ["data", "inspect", "--data.corpus={}/latin1.txt"], "UTF-8"),
    ("inspect: empty corpus", ["data", "inspect", "--data.corpus={}/empty.txt"], "empty.txt"),
    ("inspect: unknown key", ["data", "inspect", "--data.nope=1"], "data.nope"),
    ("train: finished run, other config", ["train", "--run-dir", "{}/R", "--train.steps=7"],
     "different config"),
    ("train: batch 0", ["train", "--run-dir", "{}/new", "--train.batch_size=0"],
     "train.batch_size"),
    ("train: unknown strategy", ["train", "--run-dir", "{}/new", "--train.strategy=gpu"],
     "train.strategy"),
    ("train: unknown schedule", ["train", "--run-dir", "{}/new", "--train.lr_schedule=linear"],
     "train.lr_schedule"),
    ("train: no corpus", ["train", "--run-dir", "{}/new", "--data.corpus={}/no/such.txt"],
     "no/such.txt"),
    ("train: unknown task", ["train", "--run-dir", "{}/new", "--model.task=nope"],
     "model.task"),
    ("train: latent size 0", ["train", "--run-dir", "{}/new", "--model.task=vae",
                              "--model.latent_dim=0", "--data.tokenizer=word"],
     "latent_dim"),
    ("train: corpus shorter than a window", ["train", "--run-dir", "{}/new",
                                             "--data.corpus={}/tiny.txt"], "tiny.txt"),
    ("train: LM monitoring accuracy", ["train", "--run-dir", "{}/new",
                                       "--train.monitor=val_accuracy"], "train.monitor"),
    ("train: unknown key", ["train", "--run-dir", "{}/new", "--train.nope=1"], "train.nope"),
    ("train: run dir is a file", ["train", "--run-dir", "{}/a-file"], "is a file"),
    ("train: foreign directory", ["train", "--run-dir", "{}/foreign"], "foreign"),
    ("train: not UTF-8 corpus", ["train", "--run-dir", "{}/new",
                                 "--data.corpus={}/latin1.txt"], "UTF-8"),
    ("generate: 0 new tokens", ["generate", "--run-dir", "{}/R", "--max-new-tokens", "0"],
     "max_new_tokens"),
    ("generate: negative temperature", ["generate", "--run-dir", "{}/R", "--sampler",
                                        "temperature", "--temperature", "-1"], "temperature"),
    ("generate: top_p 1.5", ["generate", "--run-dir", "{}/R", "--sampler", "top_p",
                             "--top-p", "1.5"], "top_p"),
    ("generate: 0 beams", ["generate", "--run-dir", "{}/R", "--sampler", "beam", "--beams",
                           "0"], "beams"),
    ("generate: repetition penalty 0.5", ["generate", "--run-dir", "{}/R",
                                          "--repetition-penalty", "0.5"], "repetition_penalty"),
    ("generate: no run", ["generate", "--run-dir", "{}/no/such"], "no/such"),
    ("generate: no adapters file", ["generate", "--run-dir", "{}/R", "--adapters",
                                    "{}/no/such.safetensors"], "no/such.safetensors"),
    ("generate: prior samples from an LM", ["generate", "--run-dir", "{}/R",
                                            "--num-samples", "2"], "num-samples"),
    ("generate: damaged config.json", ["generate", "--run-dir", "{}/bad-config"],
     "config.json"),
    ("generate: damaged tokenizer", ["generate", "--run-dir", "{}/bad-tokenizer"],
     "tokenizer.json"),
    ("generate: damaged model.keras", ["generate", "--run-dir", "{}/bad-model"],
     "bad-model/model.keras: it is damaged or truncated"),
    ("evaluate: no corpus", ["evaluate", "--run-dir", "{}/R", "--corpus",
                             "{}/no/such.txt"], "no/such.txt"),
    ("evaluate: stride 0", ["evaluate", "--run-dir", "{}/R", "--stride", "0"], "stride"),
    ("evaluate: IW samples on an LM", ["evaluate", "--run-dir", "{}/R", "--samples", "5"],
     "samples"),
    ("evaluate: no test split", ["evaluate", "--run-dir", "{}/R", "--split", "test"], "test"),
    ("evaluate: no run", ["evaluate", "--run-dir", "{}/no/such"], "no/such"),
    ("evaluate: an ensemble of an LM", ["evaluate", "--run-dir", "{}/R", "--ensemble",
                                        "{}/bad-config"], "--ensemble averages classifiers"),
    ("train: a fold without folds", ["train", "--run-dir", "{}/new", "--model.task=classifier",
                                     "--data.fold=2"], "data.fold"),
    ("export: no run", ["export", "--run-dir", "{}/no/such", "--base", "{}/E"], "no/such"),
    ("export: existing version", ["export", "--run-dir", "{}/R", "--base", "{}/E",
                                  "--version", "1"], "Version 1 of 'tf_lm' already exists"),
    ("export: version 0", ["export", "--run-dir", "{}/R", "--base", "{}/E", "--version", "0"],
     "version"),
    ("export: an ensemble of an LM", ["export", "--run-dir", "{}/R", "--base", "{}/E",
                                      "--ensemble", "{}/bad-config"], "averages classifiers"),
    ("export: models config with a run", ["export", "--models-config", "--run-dir", "{}/R",
                                          "--base", "{}/E"], "--run-dir does not apply"),
    ("export: no adapters file", ["export", "--run-dir", "{}/R", "--base", "{}/E",
                                  "--adapters", "{}/no/such.safetensors"], "no/such"),
    ("export: damaged model.keras", ["export", "--run-dir", "{}/bad-model", "--base",
                                     "{}/E"], "model.keras"),
    ("bench: serve a damaged saved_model.pb", ["bench", "serve", "--export-dir",
                                               "{}/E-bad-pb/tf_lm"], "saved_model.pb"),
    ("generate: damaged best.weights.h5", ["generate", "--run-dir", "{}/bad-best"],
     "best.weights.h5"),
    ("bench: serve no export", ["bench", "serve", "--export-dir", "{}/no/such"], "no/such"),
    ("bench: export-dir elsewhere", ["bench", "train", "--export-dir", "{}/E"],
     "--export-dir"),
    ("bench: bad batches", ["bench", "generate", "--batches", "1,x"], "--batches"),
    ("bench: 0 repeats", ["bench", "generate", "--repeats", "0"], "--repeats"),
    ("bench: generate an LSTM", ["bench", "generate", "--model.architecture=lstm"], "gpt"),
    ("predict: an LM run", ["predict", "--run-dir", "{}/R", "--text", "hi"], "classifier"),
    ("encode: an LM run", ["encode", "--run-dir", "{}/R", "--text", "hi"], "VAE"),
    ("interpolate: an LM run", ["interpolate", "--run-dir", "{}/R", "--from", "a", "--to",
                                "b"], "VAE"),
    ("import: no folder", ["import", "--from", "{}/no/such", "--run-dir", "{}/new"],
     "no/such"),
    ("import: pickled weights", ["import", "--from", "{}/hf", "--run-dir", "{}/new"],
     "pytorch_model.bin"),
]


def test_the_table_has_forty_cases_or_more():
    assert len(CASES) >= 40 and len({name for name, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("name,argv,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(capsys, place, name, argv,
                                                          expected):
    argv = [a.replace("{}", str(place)) for a in argv]
    before = tree(place)
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse's own refusals
        code = exit_info.code
    out, err = capsys.readouterr()
    assert code == 2, (out[-500:], err[-1500:])
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 or lines[0].startswith("usage:"), err  # argparse: usage + error
    assert "error: " in lines[-1], err
    assert expected in lines[-1], err
    assert tree(place) == before
