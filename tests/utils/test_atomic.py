import json

import pytest

from tf_lm.utils import atomic


def test_write_json_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "state.json"
    atomic.write_json(str(path), {"step": 1})
    atomic.write_json(str(path), {"step": 2})
    assert json.loads(path.read_text()) == {"step": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "state.json"
    atomic.write_json(str(path), {"step": 1})
    with pytest.raises(TypeError):
        atomic.write_json(str(path), {"step": object()})  # not JSON: fails mid-write
    assert json.loads(path.read_text()) == {"step": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
