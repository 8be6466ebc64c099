import json
import os
import subprocess
import sys

import pytest

HARNESS = os.path.join(os.path.dirname(__file__), "serve_like_tf_serving.py")


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """A tiny char GPT (context 16) exported as base/tf_lm/1, with its model and tokenizer."""
    from tests.serving.test_serving_module import CHAR, gpt
    from tf_lm.config.export_config import ExportConfig
    from tf_lm.serving import export_model

    base = tmp_path_factory.mktemp("export")
    model = gpt(CHAR)
    config = ExportConfig(max_new_tokens_limit=40, default_max_new_tokens=20)
    path = export_model(model, CHAR, str(base), "tf_lm", export_config=config)
    return {"path": path, "base": str(base), "model": model, "tokenizer": CHAR}


def serve_like_tf_serving(path, bodies, tmp_path):
    """Run REST bodies through a fresh process that loads `path` as TF Serving does."""
    requests = tmp_path / "requests.json"
    requests.write_text(json.dumps(bodies), encoding="utf-8")
    completed = subprocess.run([sys.executable, HARNESS, path, str(requests)],
                               capture_output=True, text=True, timeout=300,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    return lines[0], lines[1:]  # the ops report, then one answer per body
