"""Backups: complete or invisible (a full disk leaves the previous ones valid), two kept."""

import os

import numpy as np
import pytest

from tf_lm.models import CausalLM, GPTBackbone
from tf_lm.training.backup import Backup, restore_backup

IDS = np.array([[1, 2, 3, 4], [4, 3, 2, 1]], "int32")


def compiled():
    model = CausalLM(GPTBackbone(7, 1, 1, 4, sequence_length=4))
    model.compile(optimizer="adam")
    model.fit(IDS[:, :3], IDS[:, 1:], verbose=0)
    return model


def test_a_full_disk_while_backing_up_leaves_the_previous_backups_valid(tmp_path, monkeypatch):
    model = compiled()
    backup = Backup(tmp_path / "backup")
    backup.set_model(model)
    backup.save(5)
    backup.save(10)
    saved = [np.asarray(w) for w in model.weights]

    def disk_full(path, overwrite=True):
        with open(path, "wb") as handle:
            handle.write(b"partial")
        raise OSError(28, "No space left on device")

    model.fit(IDS[:, 1:], IDS[:, :3], verbose=0)  # the weights move on
    monkeypatch.setattr(model, "save_weights", disk_full)
    with pytest.raises(OSError, match="No space left"):
        backup.save(15)
    assert sorted(os.listdir(tmp_path / "backup")) == ["step-10", "step-5"]  # no step-15.tmp
    monkeypatch.undo()
    state = restore_backup(model, str(tmp_path / "backup"), echo=lambda *a: None)
    assert state["step"] == 10
    for a, b in zip(model.weights, saved):
        np.testing.assert_array_equal(np.asarray(a), b)


def test_only_the_two_newest_backups_are_kept(tmp_path):
    backup = Backup(tmp_path)
    backup.set_model(compiled())
    for step in (3, 6, 9):
        backup.save(step)
    assert sorted(os.listdir(tmp_path)) == ["step-6", "step-9"]
