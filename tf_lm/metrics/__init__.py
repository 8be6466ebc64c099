"""Metrics Keras lacks in the form a classifier's or a VAE's `fit` needs."""

from tf_lm.metrics.active_units import ActiveUnits
from tf_lm.metrics.sparse_f1_score import SparseF1Score

__all__ = ["SparseF1Score", "ActiveUnits"]
