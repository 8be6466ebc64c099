from tf_lm.benchmarks.measure import (alternated, flops_per_token, matmul_only_seconds,
                                      matmul_peak_flops, peak_rss_mb, timed, training_matmuls)
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


def test_training_matmuls_are_the_flop_estimate_less_the_vectors():
    """nanogpt-cpu: the 794,752 weights in matrices (N less the 1,152 LayerNorm scales), each
    multiplied three times per token (forward, two backward), and the attention term."""
    config = Config.resolve(preset="nanogpt-cpu")
    model = build_causal_lm(config.model, 65, 64)
    products = training_matmuls(model.backbone, 65, batch_size=12, sequence_length=64)
    assert len(products) == 3 * (4 * 4 + 1) + 6 * 4
    flops = sum(2 * batch * m * k * n for batch, m, k, n in products)
    assert flops / (12 * 64) == 6 * 794_752 + 12 * 4 * 4 * 32 * 64
    assert flops / (12 * 64) == flops_per_token(model, 64) - 6 * 1_152


def test_an_untied_head_is_one_product_and_the_input_table_a_lookup():
    config = Config.resolve(preset="nanogpt-cpu", overrides=["model.tie_embeddings=false"])
    model = build_causal_lm(config.model, 65, 64)
    products = training_matmuls(model.backbone, 65, batch_size=12, sequence_length=64)
    flops = sum(2 * batch * m * k * n for batch, m, k, n in products)
    # N now holds the input table (65 × 128) besides the head; only the head is multiplied.
    assert flops / (12 * 64) == flops_per_token(model, 64) - 6 * (1_152 + 65 * 128)


def test_matmul_only_seconds_times_the_products_or_declines_past_its_memory():
    products = [(1, 32, 16, 8), (2, 8, 8, 8), (2, 8, 8, 8)]
    assert matmul_only_seconds(products, repeats=2) > 0
    # Operands and outputs: (32·16 + 16·8 + 32·8) + 2 · 2·(3 · 8·8) = 1,664 floats, 6,656 bytes.
    assert matmul_only_seconds(products, repeats=2, memory_limit=6_655) is None
    assert matmul_only_seconds(products, repeats=2, memory_limit=6_656) > 0


def test_alternated_calls_the_functions_in_turn_and_returns_each_median():
    calls = []
    medians = alternated([lambda: calls.append("a"), lambda: calls.append("b")], repeats=3,
                         warmup=1)
    assert calls == ["a", "b"] * 4  # one warm-up round, then three timed rounds
    assert len(medians) == 2 and all(m >= 0 for m in medians)
