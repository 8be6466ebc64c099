import pytest

from tf_lm.config import Config
from tf_lm.errors import InputError
from tf_lm.run_dir import RunDirectory


def test_prepare_creates_then_resumes_with_the_same_config(tmp_path):
    run = RunDirectory(tmp_path / "run")
    config = Config.resolve(overrides=["train.steps=3"])
    assert run.prepare(config) == "new"
    assert run.stored_config().to_dict() == config.to_dict()
    assert run.prepare(config) == "resume"


def test_a_training_option_may_change_on_resume_but_not_the_model(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.prepare(Config.resolve(overrides=["train.steps=3"]))
    with pytest.raises(InputError, match="different config"):
        run.prepare(Config.resolve(overrides=["train.steps=6"]))
    assert run.prepare(Config.resolve(overrides=["train.steps=6"]), resume=True) == "resume"
    assert (tmp_path / "run" / "config.previous.json").exists()
    with pytest.raises(InputError, match="cannot change model.hidden_dim"):
        run.prepare(Config.resolve(overrides=["train.steps=6", "model.hidden_dim=64"]),
                    resume=True)


def test_load_refuses_a_missing_or_foreign_directory(tmp_path):
    with pytest.raises(InputError, match="Run directory not found"):
        RunDirectory(tmp_path / "nothing").load()
    (tmp_path / "other").mkdir()
    with pytest.raises(InputError, match="is not a tf-lm run directory"):
        RunDirectory(tmp_path / "other").load()
