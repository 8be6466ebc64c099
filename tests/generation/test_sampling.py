import numpy as np
import pytest
import tensorflow as tf

from tf_lm.generation.sampling import next_tokens, uniform_noise

LOGITS = np.log(np.array([0.05, 0.1, 0.15, 0.2, 0.22, 0.28], "float32"))
DRAWS = 3000
# Chi-square critical values at p = 0.001 for 1..5 degrees of freedom.
CRITICAL = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52}


def draw(temperature=1.0, top_k=0, top_p=1.0):
    logits = tf.constant(np.tile(LOGITS, (DRAWS, 1)))
    seen = tf.zeros_like(logits, tf.bool)
    seeds = tf.range(DRAWS)  # every row its own seed: DRAWS independent samples
    tokens = next_tokens(logits, seen, temperature, top_k, top_p, 1.0, seeds, 7).numpy()
    return np.bincount(tokens, minlength=LOGITS.size)


def expected(temperature=1.0, keep=None):
    z = LOGITS / temperature
    p = np.exp(z - z.max())
    if keep is not None:
        p = np.where(np.isin(np.arange(p.size), keep), p, 0.0)
    return p / p.sum()


def chi_square(counts, probabilities):
    kept = probabilities > 0
    assert counts[~kept].sum() == 0, "a token outside the kept set was sampled"
    e = probabilities[kept] * counts.sum()
    return ((counts[kept] - e) ** 2 / e).sum(), kept.sum() - 1


@pytest.mark.parametrize("options,keep", [
    ({"temperature": 1.0}, None),
    ({"temperature": 0.5}, None),
    ({"temperature": 2.0}, None),
    ({"top_k": 3}, [3, 4, 5]),
    ({"top_p": 0.6}, [3, 4, 5]),  # 0.28 + 0.22 = 0.50 < 0.6, + 0.2 reaches it
    ({"top_p": 0.45}, [4, 5]),
])
def test_samples_follow_the_intended_distribution(options, keep):
    counts = draw(**options)
    statistic, dof = chi_square(counts, expected(options.get("temperature", 1.0), keep))
    assert statistic < CRITICAL[dof], (counts, statistic)


def test_the_chi_square_test_can_fail():
    counts = draw(temperature=1.0)
    statistic, dof = chi_square(counts, expected(0.5))
    assert statistic > CRITICAL[dof]


def test_greedy_and_its_limits():
    logits = tf.constant(np.tile(LOGITS, (50, 1)))
    seen = tf.zeros_like(logits, tf.bool)
    seeds = tf.range(50)
    for options in ({"temperature": 0.0, "top_k": 0, "top_p": 1.0},
                    {"temperature": 1.0, "top_k": 1, "top_p": 1.0},
                    {"temperature": 1.0, "top_k": 0, "top_p": 1e-6}):
        tokens = next_tokens(logits, seen, repetition_penalty=1.0, row_seeds=seeds, step=0,
                             **options).numpy()
        assert (tokens == 5).all(), options


def test_repetition_penalty_lowers_seen_tokens():
    logits = tf.constant([[2.0, 1.9, -1.0]])
    seen = tf.constant([[True, False, True]])
    assert int(next_tokens(logits, seen, 0.0, 0, 1.0, 1.2, tf.constant([0]), 0)[0]) == 1
    assert int(next_tokens(logits, seen, 0.0, 0, 1.0, 1.0, tf.constant([0]), 0)[0]) == 0
    # Greedy rows with and without a penalty in one batch, traced (the loop's graph): only the
    # penalized row moves.
    choose = tf.function(lambda penalty: next_tokens(
        tf.concat([logits, logits], 0), tf.concat([seen, seen], 0), 0.0, 0, 1.0, penalty,
        tf.constant([0, 1]), 0))
    assert choose(tf.constant([1.0, 1.2])).numpy().tolist() == [0, 1]
    assert choose(tf.constant([1.0, 1.0])).numpy().tolist() == [0, 0]


def test_noise_depends_only_on_seed_step_and_token():
    a = uniform_noise(tf.constant([3, 4]), 5, 10).numpy()
    b = uniform_noise(tf.constant([4]), 5, 10).numpy()
    np.testing.assert_array_equal(a[1], b[0])
    assert not np.array_equal(a[0], a[1])
    assert ((a > 0) & (a < 1)).all()
    c = uniform_noise(tf.constant([4]), 6, 10).numpy()
    assert not np.array_equal(b, c)


def test_parameters_may_differ_per_row():
    logits = tf.constant(np.tile(LOGITS, (4, 1)))
    seen = tf.constant([[False] * 6] * 3 + [[False] * 5 + [True]])
    seeds = tf.constant([1, 2, 3, 4])
    per_row = next_tokens(logits, seen, temperature=[0.0, 1.0, 1.0, 0.0], top_k=[0, 1, 0, 0],
                          top_p=[1.0, 1.0, 1e-6, 1.0], repetition_penalty=[1.0, 1.0, 1.0, 10.0],
                          row_seeds=seeds, step=0).numpy()
    # rows 0-2: greedy three ways; row 3: the penalty moves greedy off the seen best token
    assert per_row.tolist() == [5, 5, 5, 4]
    for row in range(4):
        alone = next_tokens(logits[row:row + 1], seen[row:row + 1],
                            [0.0, 1.0, 1.0, 0.0][row], [0, 1, 0, 0][row],
                            [1.0, 1.0, 1e-6, 1.0][row], [1.0, 1.0, 1.0, 10.0][row],
                            seeds[row:row + 1], 0).numpy()
        assert alone[0] == per_row[row]
