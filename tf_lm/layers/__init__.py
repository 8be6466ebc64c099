"""The layers of the reference implementation: each readable in one sitting, each reusable."""

from tf_lm.layers.causal_self_attention import CausalSelfAttention
from tf_lm.layers.feed_forward import FeedForward
from tf_lm.layers.gaussian_sample import GaussianSample
from tf_lm.layers.position_embedding import PositionEmbedding
from tf_lm.layers.recurrent_block import RecurrentBlock
from tf_lm.layers.sequence_pooling import SequencePooling
from tf_lm.layers.sinusoidal_position_encoding import SinusoidalPositionEncoding
from tf_lm.layers.token_embedding import TokenEmbedding
from tf_lm.layers.transformer_block import TransformerBlock
from tf_lm.layers.word_dropout import WordDropout
from tf_lm.layers.word_vectors import WordVectorCoverage, read_word_vectors

__all__ = ["TokenEmbedding", "PositionEmbedding", "SinusoidalPositionEncoding",
           "CausalSelfAttention", "FeedForward", "TransformerBlock", "RecurrentBlock",
           "SequencePooling", "GaussianSample", "WordDropout",
           "WordVectorCoverage", "read_word_vectors"]
