"""The position-wise feed-forward network of a Transformer block."""

import keras

from tf_lm.layers.tokenwise import tokenwise
from tf_lm.utils.activations import get_activation
from tf_lm.utils.checks import check_positive_int, check_rate
from tf_lm.utils.serializable import clone_initializer, serializable


@serializable
class FeedForward(keras.layers.Layer):
    """FFN(x) = W₂ · act(W₁ x + b₁) + b₂, applied to every position alone.

    Args:
        intermediate_dim: width of the hidden layer (4 × model width in GPT-2).
        activation: any Keras activation: `gelu` (exact, erf), `relu` (the original
            Transformer), ...; or `gelu_tanh` (GPT-2's tanh approximation).
        dropout: dropout on the output (nanoGPT's MLP dropout).
        use_bias: biases b₁, b₂.
        kernel_initializer: initializer of W₁.
        output_kernel_initializer: initializer of W₂ (default: the same).

    Call arguments:
        inputs: `(..., hidden)`.
        training: enables dropout.

    Returns:
        `(..., hidden)`.
    """

    def __init__(self, intermediate_dim, activation="gelu", dropout=0.0, use_bias=True,
                 kernel_initializer="glorot_uniform", output_kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("intermediate_dim", intermediate_dim)
        check_rate("dropout", dropout)
        if isinstance(activation, dict):  # a serialized callable
            activation = keras.activations.deserialize(activation)
        self.activation_fn = get_activation(activation)
        self.intermediate_dim = intermediate_dim
        self.activation = activation
        self.dropout = dropout
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.output_kernel_initializer = keras.initializers.get(
            output_kernel_initializer or kernel_initializer)

    def build(self, input_shape):
        hidden_dim = input_shape[-1]
        self.intermediate_dense = keras.layers.Dense(
            self.intermediate_dim, use_bias=self.use_bias, name="intermediate",
            dtype=self.dtype_policy,
            kernel_initializer=clone_initializer(self.kernel_initializer))
        self.intermediate_dense.build(input_shape)
        self.output_dense = keras.layers.Dense(
            hidden_dim, use_bias=self.use_bias, name="output", dtype=self.dtype_policy,
            kernel_initializer=clone_initializer(self.output_kernel_initializer))
        self.output_dense.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))
        self.output_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy,
                                                   name="output_dropout")
        self.built = True

    def call(self, inputs, training=None):
        return self.output_dropout(tokenwise(self._network, inputs), training=training)

    def _network(self, x):
        x = self.intermediate_dense(x)  # (tokens, intermediate)
        x = self.activation_fn(x)
        return self.output_dense(x)  # (tokens, hidden)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "intermediate_dim": self.intermediate_dim,
            "activation": (self.activation if isinstance(self.activation, str)
                           else keras.activations.serialize(self.activation)),
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "output_kernel_initializer":
                keras.initializers.serialize(self.output_kernel_initializer),
        })
        return config
