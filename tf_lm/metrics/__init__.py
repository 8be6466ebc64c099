"""Metrics Keras lacks in the form a classifier's `fit` needs."""

from tf_lm.metrics.sparse_f1_score import SparseF1Score

__all__ = ["SparseF1Score"]
