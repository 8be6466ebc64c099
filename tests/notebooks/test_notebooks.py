"""The notebooks run from top to bottom in a real Jupyter kernel, with few training steps.

Each notebook asserts what it teaches (every formula it states is computed by hand and
compared with tf_lm); here every cell must run and every cell tagged `figure` must have drawn
an image.
"""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_the_notebooks_folder_has_notebooks_without_stored_outputs():
    assert NOTEBOOKS
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        stored = [cell for cell in cells if cell.get("outputs") or cell.get("execution_count")]
        assert not stored, f"{path.name} has stored outputs: clear them before committing"


def test_the_series_is_numbered_and_each_chapter_from_two_on_has_a_figure():
    chapters = [p for p in NOTEBOOKS if p.name[:2].isdigit()]
    assert [int(p.name[:2]) for p in chapters] == list(range(1, len(chapters) + 1))
    for path in chapters[1:]:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        assert any("figure" in cell["metadata"].get("tags", []) for cell in cells), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_notebook_runs_top_to_bottom_and_draws_its_figures(path, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("TF_LM_NOTEBOOK_STEPS", "3")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for index, cell in enumerate(notebook.cells):
        if "figure" in cell.metadata.get("tags", []):
            images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
            assert images, f"{path.name}: figure cell {index} drew no image"
