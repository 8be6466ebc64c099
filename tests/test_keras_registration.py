"""After `import tf_lm`, plain `keras.saving.load_model` reads a tf_lm `.keras` file (with its
tf_lm optimizer and schedule), whichever of Keras and tf_lm is imported first."""

import subprocess
import sys

import pytest

SAVE = """
import sys
import keras
from tf_lm.models import CausalLM, GPTBackbone
from tf_lm.optimizers import AdamW, WarmupCosineDecay
model = CausalLM(GPTBackbone(11, 1, 2, 8, sequence_length=8))
model.build((None, None))
model.compile(optimizer=AdamW(learning_rate=WarmupCosineDecay(1e-3, 1e-4, 2, 10)))
model.optimizer.build(model.trainable_variables)
model.save(sys.argv[1])
"""

LOAD = {
    "tf_lm first": "import tf_lm\nimport keras\n",
    "keras first": "import keras\nimport tf_lm\n",
    "a tf_lm layer first": "import tf_lm.layers\nimport keras\n",
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "model.keras"
    done = subprocess.run([sys.executable, "-c", SAVE, str(path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return path


@pytest.mark.parametrize("imports", sorted(LOAD))
def test_plain_keras_load_model_finds_tf_lm_classes(saved, imports):
    code = LOAD[imports] + (
        "import sys\nmodel = keras.saving.load_model(sys.argv[1])\n"
        "print(type(model).__name__, type(model.optimizer).__name__,"
        " type(model.optimizer._learning_rate).__name__)\n")
    done = subprocess.run([sys.executable, "-c", code, str(saved)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["CausalLM", "AdamW", "WarmupCosineDecay"]


def test_without_tf_lm_keras_cannot_find_the_classes(saved):
    """The registration is what makes the difference."""
    code = "import sys, keras\nkeras.saving.load_model(sys.argv[1])\n"
    done = subprocess.run([sys.executable, "-c", code, str(saved)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode != 0
    assert "Could not locate class 'CausalLM'" in done.stderr


def test_keras_first_imported_by_a_low_tf_lm_module_still_registers_later(saved):
    """`tf_lm.ops` imports Keras before the layers exist: registration is retried."""
    code = ("import tf_lm.ops\nimport json, sys\nimport keras\n"
            "model = keras.saving.load_model(sys.argv[1])\nprint(type(model).__name__)\n")
    done = subprocess.run([sys.executable, "-c", code, str(saved)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["CausalLM"]
