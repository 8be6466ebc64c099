import json

import pytest
import tensorflow as tf

from tf_lm.cli.bench import _op_table
from tf_lm.cli.main import main

TINY = ["--model.num_layers=1", "--model.num_heads=2", "--model.hidden_dim=16",
        "--data.block_size=16", "--train.batch_size=4", "--train.jit_compile=false",
        "--json", "--repeats=1", "--steps=3", "--new-tokens=6", "--batches=1,2"]
KEYS = {
    "train": {"tf_lm_tokens_per_s", "keras_hub_tokens_per_s", "ratio", "mfu", "peak_flops",
              "peak_rss_mb", "matmul_only_tokens_per_s"},
    "generate": {"batch", "tf_lm_tokens_per_s", "keras_hub_tokens_per_s", "ratio",
                 "uncached_tokens_per_s"},
    "export": {"batch", "exported_ms", "python_ms", "ratio"},
    "data": {"data_tokens_per_s", "train_tokens_per_s", "ratio"},
}


@pytest.mark.parametrize("what", sorted(KEYS))
def test_each_benchmark_runs_and_reports_its_documented_keys(capsys, what):
    assert main(["bench", what, *TINY]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == (2 if what in ("generate", "export") else 1)
    for line in lines:
        assert KEYS[what] <= set(line) and line["benchmark"] == what
        assert all(line[k] > 0 for k in KEYS[what])
    if what in ("generate", "export"):
        assert [line["batch"] for line in lines] == [1, 2]


def test_export_trace_reports_where_the_exported_time_goes(capsys):
    args = [a for a in TINY if not a.startswith("--batches")]
    assert main(["bench", "export", *args, "--batches=1", "--trace"]) == 0
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["ops_per_token"] > 10 and line["op_us_per_token"] > 0
    table = line["op_table"]
    assert 0 < len(table) <= 15
    times = [row["us_per_token"] for row in table]
    assert times == sorted(times, reverse=True)
    ops = {row["op"] for row in table}
    assert any("MatMul" in op for op in ops), ops  # the dense layers (`_MklMatMul` on oneDNN)
    assert not any(op.startswith("Xla") for op in ops)
    text = _op_table(table)  # what prints without --json
    assert "calls/token" in text and table[0]["op"] in text.splitlines()[1]


def test_export_against_another_export_alternates_the_two(capsys, tmp_path):
    from tf_lm.benchmarks.workload import Workload
    from tf_lm.config import Config
    from tf_lm.serving import export_model

    overrides = [a[2:] for a in TINY if a.startswith(("--model.", "--data.", "--train."))]
    workload = Workload.from_config(Config.resolve(preset="nanogpt-cpu", overrides=overrides))
    export_model(workload.model(), workload.tokenizer, str(tmp_path), "peer")
    args = [a for a in TINY if not a.startswith("--batches")]
    # A model folder: its latest (only) version is the peer.
    assert main(["bench", "export", *args, "--batches=1", "--against",
                 str(tmp_path / "peer")]) == 0
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["against_ms"] > 0
    # This export's time over the other's, not the reverse.
    assert line["against_ratio"] == pytest.approx(line["exported_ms"] / line["against_ms"])
    assert main(["bench", "export", *args, "--against", str(tmp_path)]) == 2
    assert "--against must be an exported model version" in capsys.readouterr().err
    other = tf.Module()  # a SavedModel, but not a tf_lm export
    other.double = tf.function(lambda x: {"y": 2 * x}, input_signature=[tf.TensorSpec([None])])
    tf.saved_model.save(other, str(tmp_path / "other"),
                        signatures={"serving_default": other.double})
    assert main(["bench", "export", *args, "--against", str(tmp_path / "other")]) == 2
    assert "--against must be a tf_lm export" in capsys.readouterr().err
    broken = tmp_path / "broken" / "1"
    broken.mkdir(parents=True)
    (broken / "saved_model.pb").write_bytes(b"not a protocol buffer")
    assert main(["bench", "export", *args, "--against", str(broken)]) == 2
    assert "--against must be a loadable SavedModel" in capsys.readouterr().err


def test_serve_calls_an_export_from_several_clients_and_finds_no_wrong_answer(capsys):
    assert main(["bench", "serve", *TINY, "--requests=24", "--clients=1,3"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["clients"] for line in lines] == [1, 3]
    for line in lines:
        assert line["benchmark"] == "serve" and line["requests"] == 24 and line["wrong"] == 0
        assert line["requests_per_second"] > 0 and 0 < line["p50_ms"] <= line["p99_ms"]


def test_bad_arguments_are_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "generate", "--batches", "1,x"])
    assert exit_info.value.code == 2
    assert "--batches must be integers" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "train", "--trace"])
    assert exit_info.value.code == 2
    assert "--trace applies to `bench export` only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "generate", "--against", "export/tf_lm"])
    assert exit_info.value.code == 2
    assert "--against applies to `bench export` only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "train", "--export-dir", "export/tf_lm"])
    assert exit_info.value.code == 2
    assert "--export-dir applies to `bench serve` only" in capsys.readouterr().err
    assert main(["bench", "serve", "--export-dir", "no/such/export"]) == 2
    assert "--export-dir must be an exported model version" in capsys.readouterr().err
    assert main(["bench", "generate", "--model.architecture=lstm"]) == 2
    assert "needs a gpt model" in capsys.readouterr().err


def test_a_recurrent_train_benchmark_compares_the_keras_lstm_and_pytorch(capsys, wikitext_dir):
    args = ["--preset=zaremba-small", f"--data.corpus={wikitext_dir}", "--model.hidden_dim=16",
            "--data.block_size=4", "--train.batch_size=2", "--train.jit_compile=false",
            "--json", "--repeats=1", "--steps=3"]
    assert main(["bench", "train", *args]) == 0
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["tf_lm_tokens_per_s"] > 0 and line["keras_lstm_tokens_per_s"] > 0
    assert line["keras_ratio"] == pytest.approx(
        line["tf_lm_tokens_per_s"] / line["keras_lstm_tokens_per_s"])
    try:
        import torch  # noqa: F401
    except ImportError:
        assert line["pytorch_tokens_per_s"] is None and "not installed" in line["pytorch_note"]
    else:
        assert line["pytorch_tokens_per_s"] > 0 and line["pytorch_threads"] >= 1
