"""Models: backbones (token ids → hidden states), the `CausalLM` task, building from a config."""

from tf_lm.models.builder import (build_backbone, build_causal_lm, build_sentence_vae,
                                  build_text_classifier)
from tf_lm.models.causal_lm import CausalLM
from tf_lm.models.gpt_backbone import GPTBackbone
from tf_lm.models.recurrent_backbone import RecurrentBackbone
from tf_lm.models.saving import load_model
from tf_lm.models.sentence_vae import SentenceVAE
from tf_lm.models.text_classifier import TextClassifier

__all__ = ["GPTBackbone", "RecurrentBackbone", "CausalLM", "TextClassifier", "SentenceVAE",
           "build_backbone", "build_sentence_vae",
           "build_causal_lm", "build_text_classifier", "load_model"]
