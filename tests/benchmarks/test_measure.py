from tf_lm.benchmarks.measure import flops_per_token, matmul_peak_flops, peak_rss_mb, timed
from tf_lm.config import Config
from tf_lm.models.builder import build_causal_lm


def test_flops_per_token_is_nanogpts_estimate():
    """nanogpt-cpu, vocabulary 65: N = 795,904 without the position table, and
    12·L·H·Q·T = 12·4·4·32·64."""
    config = Config.resolve(preset="nanogpt-cpu")
    model = build_causal_lm(config.model, 65, 64)
    assert flops_per_token(model, 64) == 6 * 795_904 + 12 * 4 * 4 * 32 * 64


def test_a_recurrent_model_has_no_attention_term():
    config = Config.resolve(preset="seed-lstm")
    model = build_causal_lm(config.model, 65, 64)
    assert flops_per_token(model, 64) == 6 * model.count_params()


def test_timing_and_machine_figures_are_plausible():
    calls = []
    median, first = timed(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and median >= 0 and first >= 0
    assert 1e8 < matmul_peak_flops(size=256, repeats=2) < 1e15
    assert peak_rss_mb() > 50  # TensorFlow is loaded
