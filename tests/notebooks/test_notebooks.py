"""The notebooks run from top to bottom, in a fresh process, with few training steps."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def code_of(path):
    """The notebook's code cells, in order, as one script."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")


def test_the_notebooks_folder_has_notebooks_without_stored_outputs():
    assert NOTEBOOKS
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        stored = [cell for cell in cells if cell.get("outputs") or cell.get("execution_count")]
        assert not stored, f"{path.name} has stored outputs: clear them before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_notebook_runs_top_to_bottom(path, tmp_path):
    # The notebook's own assertions check what it teaches: the bigram model beats a uniform
    # one, uniform logits cost ln V, causal attention ignores the future, seeded sampling
    # repeats, and the exported model's text equals the Python model's.
    script = tmp_path / "notebook.py"
    script.write_text(code_of(path), encoding="utf-8")
    environment = dict(os.environ, TF_LM_NOTEBOOK_STEPS="3")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "ROMEO:" in result.stdout and "exported to" in result.stdout
