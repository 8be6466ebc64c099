import os
import shutil

import pytest

from tests.cli.conftest import run_cli as _run
from tf_lm.cli.main import main


def test_export_writes_the_next_version_and_never_replaces_one(capsys, run_dir, tmp_path):
    base = tmp_path / "models"
    code, out, err = _run(capsys, "export", "--run-dir", str(run_dir), "--base", str(base))
    assert code == 0, err
    assert out == f"exported {base}/tf_lm/1 (serve it: see export/README.md)\n"
    code, out, _ = _run(capsys, "export", "--run-dir", str(run_dir), "--base", str(base),
                        "--name", "shakespeare")
    assert code == 0 and f"{base}/shakespeare/1" in out
    code, out, err = _run(capsys, "export", "--run-dir", str(run_dir), "--base", str(base),
                          "--version", "1")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("tf-lm: error: Version 1 of 'tf_lm' already exists")
    code, out, _ = _run(capsys, "export", "--models-config", "--base", str(base))
    assert code == 0 and 'name: "shakespeare"' in out and 'base_path: "/models/tf_lm"' in out
    target = tmp_path / "models.config"
    target.write_text("mine")
    code, _, err = _run(capsys, "export", "--models-config", "--base", str(base),
                        "--output", str(target))
    assert code == 2 and "exists; pass --overwrite" in err and target.read_text() == "mine"
    assert _run(capsys, "export", "--models-config", "--base", str(base), "--output",
                str(target), "--overwrite")[0] == 0
    assert 'name: "tf_lm"' in target.read_text()
    code, _, err = _run(capsys, "export", "--models-config", "--base", str(base),
                        "--adapters", str(tmp_path / "adapters.safetensors"))
    assert code == 2 and "--adapters does not apply to --models-config" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("args,message", [
    (["--name", "my model"], "The export name must start with a letter or digit"),
    (["--version", "0"], "The export version must be an integer >= 1"),
])
def test_bad_export_flags_are_one_line_and_exit_2(capsys, run_dir, tmp_path, args, message):
    code, out, err = _run(capsys, "export", "--run-dir", str(run_dir), "--base",
                          str(tmp_path / "m"), *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err
    assert not (tmp_path / "m").exists() or os.listdir(tmp_path / "m") == []


def test_a_base_that_is_a_file_and_a_run_without_a_model_are_refused(capsys, run_dir, tmp_path):
    base = tmp_path / "file"
    base.write_text("x")
    code, _, err = _run(capsys, "export", "--run-dir", str(run_dir), "--base", str(base))
    assert code == 2 and "is a file; expected a directory" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _run(capsys, "export", "--run-dir", str(empty))
    assert code == 2 and "is not a tf-lm run directory" in err
    shutil.copy(run_dir / "config.json", empty / "config.json")
    shutil.copytree(run_dir / "tokenizer", empty / "tokenizer")
    code, _, err = _run(capsys, "export", "--run-dir", str(empty), "--base", str(tmp_path))
    assert code == 2 and "has no model yet" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["export"])
    assert exit_info.value.code == 2 and "--run-dir is required" in capsys.readouterr().err
