"""Evaluation: perplexity over every token of a split, reference metrics for continuations,
a classifier's report."""

from tf_lm.evaluation.classification import class_probabilities, classification_report
from tf_lm.evaluation.continuations import continuation_metrics
from tf_lm.evaluation.perplexity import evaluate_tokens

__all__ = ["evaluate_tokens", "continuation_metrics", "class_probabilities",
           "classification_report"]
