import numpy as np

from tf_lm.metrics import ActiveUnits


def test_counts_the_units_whose_posterior_mean_varies_over_all_texts_seen():
    rng = np.random.default_rng(0)
    means = np.stack([rng.normal(0, 1.0, 400), rng.normal(0, 0.05, 400),  # var 1, 0.0025
                      np.full(400, 3.0), rng.normal(0, 0.2, 400)], axis=1)  # 0, 0.04
    metric = ActiveUnits(4)
    for batch in np.split(means.astype("float32"), 8):
        metric.update_state(batch)
    assert float(metric.result()) == 2.0
    # Per-batch variances would see each batch of a unit moving between batches as constant.
    shifted = ActiveUnits(1)
    shifted.update_state(np.zeros((10, 1), "float32"))
    shifted.update_state(np.ones((10, 1), "float32"))
    assert float(shifted.result()) == 1.0
    metric.reset_state()
    assert float(metric.result()) == 0.0
