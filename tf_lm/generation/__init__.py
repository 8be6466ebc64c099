"""Generating text from a `CausalLM` (or a sentence VAE's decoder): one compiled decoding
loop, every sampler."""

from tf_lm.generation.decoder import Decoder
from tf_lm.generation.sample_text import sample_text
from tf_lm.generation.sentence_generator import SentenceGenerator
from tf_lm.generation.text_generator import TextGenerator

__all__ = ["Decoder", "TextGenerator", "SentenceGenerator", "sample_text"]
