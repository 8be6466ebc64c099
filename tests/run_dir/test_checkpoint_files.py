import keras
import numpy as np
import pytest

from tf_lm.errors import InputError
from tf_lm.run_dir.checkpoint_files import latest_backups, load_weights_or_refuse


def test_latest_backups_lists_complete_backups_newest_first(tmp_path):
    for name, complete in (("step-4", True), ("step-12", True), ("step-16.tmp", True),
                           ("step-20", False), ("notes", True)):
        (tmp_path / name).mkdir()
        if complete:
            (tmp_path / name / "state.json").write_text("{}")
    assert latest_backups(str(tmp_path)) == [(12, str(tmp_path / "step-12")),
                                             (4, str(tmp_path / "step-4"))]
    assert latest_backups(str(tmp_path / "missing")) == []


def dense():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    return model


def test_load_weights_or_refuse_loads_and_names_a_damaged_file(tmp_path):
    source, target = dense(), dense()
    path = str(tmp_path / "model.weights.h5")
    source.save_weights(path)
    load_weights_or_refuse(target, path)
    np.testing.assert_array_equal(target.get_weights()[0], source.get_weights()[0])
    with open(path, "r+b") as handle:
        handle.truncate(100)
    with pytest.raises(InputError, match="Cannot load .*model.weights.h5 into this model"):
        load_weights_or_refuse(target, path)
