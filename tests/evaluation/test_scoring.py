import numpy as np
import pytest
import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.evaluation import evaluate_tokens
from tf_lm.evaluation.scoring import (carried_log_likelihood, check_stride, default_stride,
                                      window, window_count, windowed_log_likelihood)
from tf_lm.models import CausalLM, GPTBackbone, RecurrentBackbone

TOKENS = np.random.default_rng(1).integers(0, 11, size=120).astype("int32")
LENGTHS = [120, 2, 17, 40, 9]  # longer and shorter than the context


def reference_plan(last, context, stride):
    """The windows as a loop: each starts `stride` after the last, the last moved back to end
    at the text's end; each scores the targets the earlier ones did not."""
    plan, scored_until, start = [], 0, 0
    while scored_until < last:
        start = min(start, max(last - context, 0))
        end = min(start + context, last)
        plan.append((start, [scored_until < start + 1 + i <= end for i in range(context)]))
        scored_until = end
        start += stride
    return plan


@pytest.mark.parametrize("last,context,stride", [(1, 4, 2), (9, 4, 2), (9, 4, 4), (9, 4, 1),
                                                 (4, 8, 4), (299, 16, 5), (16, 16, 8),
                                                 (17, 16, 8), (40, 16, 16)])
def test_the_windows_are_the_reference_loop(last, context, stride):
    size = min(context, last)
    count = int(window_count(last, size, stride))
    starts, scored = window(tf.range(count), last, size, stride)  # the windows of one text
    expected = reference_plan(last, size, stride)
    assert starts.numpy().tolist() == [s for s, _ in expected]
    assert scored.numpy().tolist() == [m for _, m in expected]
    for k, (start, mask) in enumerate(expected):  # window k of every row, as the graph asks
        row_start, row_scored = window(k, tf.constant([last]), size, stride)
        assert row_start.numpy().tolist() == [start]
        assert row_scored.numpy().tolist() == [mask]


def batch_of_texts():
    rows = [TOKENS[:n] for n in LENGTHS]
    padded = np.zeros([len(rows), max(LENGTHS)], np.int32)
    for i, row in enumerate(rows):
        padded[i, :len(row)] = row
    return rows, tf.constant(padded), tf.constant(LENGTHS, tf.int32)


def test_the_served_windows_are_evaluate_tokens_on_every_row():
    model = CausalLM(GPTBackbone(11, 1, 2, 8, sequence_length=16))
    model.build((None, None))
    rows, tokens, lengths = batch_of_texts()
    total = tf.function(lambda t, n: windowed_log_likelihood(model, t, n, 16))(tokens, lengths)
    for row, log_likelihood in zip(rows, total.numpy()):
        expected = evaluate_tokens(model, row, context=16)  # stride: default_stride(16)
        assert log_likelihood == pytest.approx(-expected["loss"] * expected["tokens"],
                                               rel=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_carried_state_is_evaluate_tokens_on_every_row(cell):
    model = CausalLM(RecurrentBackbone(11, cell, 1, 8), tie_embeddings=False)
    model.build((None, None))
    rows, tokens, lengths = batch_of_texts()
    total, hits = tf.function(lambda t, n: carried_log_likelihood(model, t, n, 8, True))(
        tokens, lengths)
    for row, log_likelihood, hit in zip(rows, total.numpy(), hits.numpy()):
        expected = evaluate_tokens(model, row, context=8)
        assert log_likelihood == pytest.approx(-expected["loss"] * expected["tokens"],
                                               rel=1e-5)
        assert hit == pytest.approx(expected["token_accuracy"] * expected["tokens"])


def test_the_stride_is_none_for_the_default_and_refused_outside_the_context():
    assert check_stride(None, 16) == default_stride(16) == 8 and default_stride(1) == 1
    assert check_stride(16, 16) == 16
    for stride in (0, 17, -1):
        with pytest.raises(InputError, match=f"stride={stride}"):
            check_stride(stride, 16)
