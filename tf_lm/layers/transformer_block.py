"""A decoder-only Transformer block: self-attention and feed-forward, each with a residual."""

import keras

from tf_lm.layers.causal_self_attention import CausalSelfAttention
from tf_lm.layers.feed_forward import FeedForward
from tf_lm.utils.activations import get_activation
from tf_lm.utils.checks import check_positive_int, check_rate
from tf_lm.utils.serializable import clone_initializer, output_spec, serializable


@serializable
class TransformerBlock(keras.layers.Layer):
    """One block of a GPT: attention mixes positions, the feed-forward network mixes channels.

    Pre-LayerNorm (GPT-2, nanoGPT; the default):
        x = x + Attention(LN₁(x));  x = x + FFN(LN₂(x))
    Post-LayerNorm (the original Transformer):
        x = LN₁(x + Attention(x));  x = LN₂(x + FFN(x))
    Residual dropout is applied to each branch's output inside `CausalSelfAttention` and
    `FeedForward`.

    Args:
        num_heads: attention heads; the input width must be divisible by it.
        intermediate_dim: feed-forward width.
        dropout: attention-weight and residual dropout.
        use_bias: biases in dense layers and LayerNorm offsets (nanoGPT's `bias`).
        norm_position: `"pre"` or `"post"`.
        activation: feed-forward activation: any Keras activation, or `gelu_tanh`.
        layer_norm_epsilon: LayerNorm epsilon.
        kernel_initializer: initializer of the input projections.
        output_kernel_initializer: initializer of the two projections back into the residual
            stream (default: the same).

    Call arguments:
        inputs: `(batch, seq, hidden)`.
        padding_mask, cache, cache_index: as for `CausalSelfAttention`.
        training: enables dropout.

    Returns:
        `(batch, seq, hidden)`, and the updated cache when one was given.

    Example:
        >>> block = TransformerBlock(num_heads=4, intermediate_dim=512)
        >>> y = block(keras.random.normal((2, 16, 128)))   # (2, 16, 128)
    """

    def __init__(self, num_heads, intermediate_dim, dropout=0.0, use_bias=True,
                 norm_position="pre", activation="gelu", layer_norm_epsilon=1e-5,
                 kernel_initializer="glorot_uniform", output_kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("num_heads", num_heads)
        check_positive_int("intermediate_dim", intermediate_dim)
        check_rate("dropout", dropout)
        if norm_position not in ("pre", "post"):
            raise ValueError(f"`norm_position` must be 'pre' or 'post'. "
                             f"Received: norm_position={norm_position!r}")
        if isinstance(activation, dict):  # a serialized callable
            activation = keras.activations.deserialize(activation)
        get_activation(activation)  # refused here, not at build
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.norm_position = norm_position
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.output_kernel_initializer = keras.initializers.get(
            output_kernel_initializer or kernel_initializer)

    def build(self, input_shape):
        self.attention_norm = self._layer_norm("attention_norm", input_shape)
        self.attention = CausalSelfAttention(
            self.num_heads, dropout=self.dropout, use_bias=self.use_bias, name="attention",
            kernel_initializer=clone_initializer(self.kernel_initializer),
            output_kernel_initializer=clone_initializer(self.output_kernel_initializer),
            dtype=self.dtype_policy)
        self.attention.build(input_shape)
        self.feed_forward_norm = self._layer_norm("feed_forward_norm", input_shape)
        self.feed_forward = FeedForward(
            self.intermediate_dim, activation=self.activation, dropout=self.dropout,
            use_bias=self.use_bias, name="feed_forward",
            kernel_initializer=clone_initializer(self.kernel_initializer),
            output_kernel_initializer=clone_initializer(self.output_kernel_initializer),
            dtype=self.dtype_policy)
        self.feed_forward.build(input_shape)
        self.built = True

    def _layer_norm(self, name, input_shape):
        norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, center=self.use_bias, name=name,
            dtype=self.dtype_policy)
        norm.build(input_shape)
        return norm

    def call(self, inputs, padding_mask=None, cache=None, cache_index=0, training=None):
        x = inputs
        attention_input = self.attention_norm(x) if self.norm_position == "pre" else x
        attended = self.attention(attention_input, padding_mask=padding_mask, cache=cache,
                                  cache_index=cache_index, training=training)
        if cache is not None:
            attended, cache = attended
        x = x + attended
        if self.norm_position == "post":
            x = self.attention_norm(x)
        feed_forward_input = self.feed_forward_norm(x) if self.norm_position == "pre" else x
        x = x + self.feed_forward(feed_forward_input, training=training)
        if self.norm_position == "post":
            x = self.feed_forward_norm(x)
        return x if cache is None else (x, cache)

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs, padding_mask=None, cache=None, cache_index=0,
                            training=None):
        return output_spec(self, inputs.shape, cache)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "norm_position": self.norm_position,
            "activation": (self.activation if isinstance(self.activation, str)
                           else keras.activations.serialize(self.activation)),
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "output_kernel_initializer":
                keras.initializers.serialize(self.output_kernel_initializer),
        })
        return config
