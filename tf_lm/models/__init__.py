"""Models: backbones (token ids → hidden states), the `CausalLM` task, building from a config."""

from tf_lm.models.builder import build_backbone, build_causal_lm
from tf_lm.models.causal_lm import CausalLM
from tf_lm.models.gpt_backbone import GPTBackbone
from tf_lm.models.recurrent_backbone import RecurrentBackbone
from tf_lm.models.saving import load_model

__all__ = ["GPTBackbone", "RecurrentBackbone", "CausalLM", "build_backbone", "build_causal_lm",
           "load_model"]
