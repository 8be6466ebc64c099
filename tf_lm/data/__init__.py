"""Corpora, their splits, and the tf.data input pipeline."""
