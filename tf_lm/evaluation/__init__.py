"""Evaluation: perplexity over every token of a split, reference metrics for continuations."""

from tf_lm.evaluation.continuations import continuation_metrics
from tf_lm.evaluation.perplexity import evaluate_tokens

__all__ = ["evaluate_tokens", "continuation_metrics"]
