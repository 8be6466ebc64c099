"""Generating text from a `CausalLM`."""

from tf_lm.generation.sample_text import sample_text

__all__ = ["sample_text"]
