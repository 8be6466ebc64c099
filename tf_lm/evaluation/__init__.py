"""Evaluation: perplexity over every token of a split, reference metrics for continuations,
a classifier's report, a sentence VAE's ELBO and importance-weighted log p(x)."""

from tf_lm.evaluation.classification import class_probabilities, classification_report
from tf_lm.evaluation.continuations import continuation_metrics
from tf_lm.evaluation.perplexity import evaluate_tokens
from tf_lm.evaluation.sentence_likelihood import sentence_likelihood

__all__ = ["evaluate_tokens", "continuation_metrics", "class_probabilities",
           "classification_report", "sentence_likelihood"]
