"""A GPT backbone: token ids in, hidden states out (decoder-only Transformer)."""

import math

import keras
from keras import ops

from tf_lm.layers.position_embedding import PositionEmbedding
from tf_lm.utils.checks import check_divisible, check_positive_int, check_rate
from tf_lm.utils.serializable import output_spec, serializable
from tf_lm.layers.sinusoidal_position_encoding import SinusoidalPositionEncoding
from tf_lm.layers.token_embedding import TokenEmbedding
from tf_lm.layers.transformer_block import TransformerBlock


@serializable
class GPTBackbone(keras.Model):
    """Token embedding + position encoding → `num_layers` Transformer blocks → final LayerNorm.

    GPT-2's layout with nanoGPT's initialization: weights ~ N(0, 0.02²), the projections back
    into the residual stream ~ N(0, (0.02/√(2·layers))²), biases zero. With sinusoidal
    positions the token embeddings are scaled by √hidden_dim as in the Transformer paper.
    The final LayerNorm exists only with pre-LayerNorm blocks (post-LN blocks end normalized).

    Args:
        vocabulary_size: number of token ids.
        num_layers: Transformer blocks.
        num_heads: attention heads per block.
        hidden_dim: width of the residual stream (and of the embeddings).
        intermediate_dim: feed-forward width; `None` means 4 × hidden_dim.
        sequence_length: the context: size of the learned position table, and the longest
            cache allowed with it.
        dropout: embedding, attention and residual dropout.
        use_bias: biases in dense layers and LayerNorms.
        position_encoding: `"learned"` or `"sinusoidal"`.
        norm_position: `"pre"` (GPT-2) or `"post"` (original Transformer).
        activation: feed-forward activation.
        layer_norm_epsilon: LayerNorm epsilon.
        initializer_range: standard deviation of the normal initializer.

    Call arguments:
        token_ids: `(batch, seq)` integers.
        padding_mask: optional `(batch, key_length)`; see `CausalSelfAttention`.
        cache: optional, from `initial_cache`: a tuple of one `(2, batch, heads, max_length,
            head_dim)` cache per layer.
        cache_index: position of `token_ids[:, 0]` (scalar, may be a tensor).
        training: enables dropout.

    Returns:
        `(batch, seq, hidden_dim)`, and the updated cache when one was given.
    """

    def __init__(self, vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim=None,
                 sequence_length=1024, dropout=0.0, use_bias=True, position_encoding="learned",
                 norm_position="pre", activation="gelu", layer_norm_epsilon=1e-5,
                 initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("vocabulary_size", vocabulary_size), ("num_layers", num_layers),
                            ("num_heads", num_heads), ("hidden_dim", hidden_dim),
                            ("sequence_length", sequence_length)):
            check_positive_int(name, value)
        check_rate("dropout", dropout)
        check_divisible("hidden_dim", hidden_dim, "num_heads", num_heads)
        if position_encoding not in ("learned", "sinusoidal"):
            raise ValueError("`position_encoding` must be 'learned' or 'sinusoidal'. "
                             f"Received: position_encoding={position_encoding!r}")
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.embedding_dim = hidden_dim
        self.intermediate_dim = intermediate_dim or 4 * hidden_dim
        self.sequence_length = sequence_length
        self.dropout = dropout
        self.use_bias = use_bias
        self.position_encoding = position_encoding
        self.norm_position = norm_position
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.head_dim = hidden_dim // num_heads

    def build(self, input_shape):
        normal = keras.initializers.RandomNormal(stddev=self.initializer_range)
        residual = keras.initializers.RandomNormal(
            stddev=self.initializer_range / math.sqrt(2 * self.num_layers))
        hidden_shape = tuple(input_shape) + (self.hidden_dim,)
        self.token_embedding = TokenEmbedding(
            self.vocabulary_size, self.hidden_dim, embeddings_initializer=normal,
            scale=self.position_encoding == "sinusoidal", name="token_embedding",
            dtype=self.dtype_policy)
        self.token_embedding.build(input_shape)
        if self.position_encoding == "learned":
            self.position_embedding = PositionEmbedding(
                self.sequence_length, initializer=normal, name="position_embedding",
                dtype=self.dtype_policy)
        else:
            self.position_embedding = SinusoidalPositionEncoding(
                name="position_embedding", dtype=self.dtype_policy)
        self.position_embedding.build(hidden_shape)
        self.embedding_dropout = keras.layers.Dropout(
            self.dropout, name="embedding_dropout", dtype=self.dtype_policy)
        self.transformer_blocks = []
        for i in range(self.num_layers):
            block = TransformerBlock(
                self.num_heads, self.intermediate_dim, dropout=self.dropout,
                use_bias=self.use_bias, norm_position=self.norm_position,
                activation=self.activation, layer_norm_epsilon=self.layer_norm_epsilon,
                kernel_initializer=normal, output_kernel_initializer=residual,
                name=f"transformer_block_{i}", dtype=self.dtype_policy)
            block.build(hidden_shape)
            self.transformer_blocks.append(block)
        self.final_norm = None
        if self.norm_position == "pre":
            self.final_norm = keras.layers.LayerNormalization(
                epsilon=self.layer_norm_epsilon, center=self.use_bias, name="final_norm",
                dtype=self.dtype_policy)
            self.final_norm.build(hidden_shape)
        self.built = True

    def call(self, token_ids, padding_mask=None, cache=None, cache_index=0, training=None):
        x = self.token_embedding(token_ids)  # (batch, seq, hidden)
        x = x + self.position_embedding(x, start_index=cache_index)
        x = self.embedding_dropout(x, training=training)
        caches = []
        for i, block in enumerate(self.transformer_blocks):
            if cache is None:
                x = block(x, padding_mask=padding_mask, training=training)
            else:
                x, layer_cache = block(x, padding_mask=padding_mask, cache=cache[i],
                                       cache_index=cache_index, training=training)
                caches.append(layer_cache)
        if self.final_norm is not None:
            x = self.final_norm(x)
        if cache is None:
            return x
        # A tuple, not one stacked tensor: stacking would copy every layer's cache per step.
        return x, tuple(caches)

    def initial_cache(self, batch_size, max_length):
        """An empty cache: a tuple of `num_layers` zero tensors `(2, batch_size, num_heads,
        max_length, head_dim)` (the keys and values of each layer).

        `batch_size` and `max_length` may be scalar tensors (the exported graph's shapes are
        known only at run time); a Python `max_length` is checked against the position table.
        """
        if (self.position_encoding == "learned" and isinstance(max_length, int)
                and max_length > self.sequence_length):
            raise ValueError(
                f"`max_length` cannot exceed the learned position table. Received: "
                f"max_length={max_length}, sequence_length={self.sequence_length}")
        shape = (2, batch_size, self.num_heads, max_length, self.head_dim)
        return tuple(ops.zeros(shape, dtype=self.compute_dtype) for _ in range(self.num_layers))

    def reorder_cache(self, cache, rows):
        """The cache of the sequences `rows` `(new_batch,)` (beam search follows parents)."""
        return tuple(ops.take(layer, rows, axis=1) for layer in cache)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.hidden_dim,)

    def compute_output_spec(self, token_ids, padding_mask=None, cache=None, cache_index=0,
                            training=None):
        return output_spec(self, self.compute_output_shape(token_ids.shape), cache)

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim,
            "sequence_length": self.sequence_length,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "position_encoding": self.position_encoding,
            "norm_position": self.norm_position,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "initializer_range": self.initializer_range,
        })
        return config
