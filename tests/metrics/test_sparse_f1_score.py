import numpy as np
from sklearn.metrics import f1_score

from tf_lm.metrics import SparseF1Score


def test_macro_f1_of_integer_labels_and_logits_equals_scikit_learns():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 200)
    logits = rng.normal(size=(200, 3)).astype("float32") + np.eye(3)[labels]
    metric = SparseF1Score(3)
    for start in range(0, 200, 64):  # accumulated over batches, as in validation
        metric.update_state(labels[start:start + 64], logits[start:start + 64])
    expected = f1_score(labels, logits.argmax(1), average="macro")
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)
    per_class = SparseF1Score(3, average=None)
    per_class.update_state(labels, logits)
    np.testing.assert_allclose(np.asarray(per_class.result()),
                               f1_score(labels, logits.argmax(1), average=None), rtol=1e-5)
    assert SparseF1Score.from_config(metric.get_config()).num_classes == 3
