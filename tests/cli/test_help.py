"""`tf-lm --help` answers without TensorFlow; TensorFlow's start-up lines stay off the
terminal unless `--verbose`."""

import os
import subprocess
import sys

import pytest

COMMANDS = [[], ["train"], ["generate"], ["evaluate"], ["export"], ["bench"], ["data"],
            ["data", "inspect"]]

PROBE = """
import sys
from tf_lm.cli.main import main
try:
    main({argv!r})
except SystemExit as e:
    print("exit", e.code)
print("loaded", sorted(m for m in ("tensorflow", "keras", "keras_hub") if m in sys.modules))
"""


def python(code, *args):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "tf-lm")
def test_help_answers_without_importing_tensorflow(command):
    done = python(PROBE.format(argv=[*command, "--help"]))
    assert done.returncode == 0, done.stderr
    assert "usage: tf-lm" in done.stdout
    assert "exit 0" in done.stdout and "loaded []" in done.stdout, done.stdout


def test_tensorflow_start_up_lines_are_hidden_unless_verbose(text_file):
    run = "import sys; from tf_lm.cli.main import main; sys.exit(main(sys.argv[1:]))"
    quiet = python(run, "data", "inspect", f"--data.corpus={text_file}")
    assert quiet.returncode == 0, quiet.stderr
    assert "tokenizer" in quiet.stdout
    assert quiet.stderr == ""
    verbose = python(run, "--verbose", "data", "inspect", f"--data.corpus={text_file}")
    assert verbose.returncode == 0
    assert verbose.stdout.splitlines()[:4] == quiet.stdout.splitlines()[:4]
    assert verbose.stderr != ""  # the lines TensorFlow's C++ start-up writes
