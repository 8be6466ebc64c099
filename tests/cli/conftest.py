import pytest

from tf_lm.cli.main import main

# A one-block GPT trained for 4 steps: enough for generate, evaluate and export to work on.
TINY_RUN = ["--model.num_layers=1", "--model.num_heads=2", "--model.hidden_dim=16",
            "--data.block_size=16", "--train.batch_size=4", "--train.steps=4",
            "--train.eval_interval=2", "--train.checkpoint_interval=2", "--train.eval_steps=1",
            "--train.warmup_steps=1", "--train.sample_tokens=0", "--train.jit_compile=false",
            "--quiet", "--no-export"]


def run_cli(capsys, *argv):
    """(exit code, stdout, stderr) of `tf-lm ARGV`."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """A finished tiny run (no export: tests never write into the checkout's export/), whose
    step 1 was traced by the profiler."""
    from tests.conftest import SHAKESPEARE_LIKE

    root = tmp_path_factory.mktemp("cli")
    corpus = root / "corpus.txt"
    corpus.write_text(SHAKESPEARE_LIKE * 12, encoding="utf-8")
    assert main(["train", "--run-dir", str(root / "run"), f"--data.corpus={corpus}",
                 "--train.profile_steps=1", "--train.profile_start=1", *TINY_RUN]) == 0
    return root / "run"
