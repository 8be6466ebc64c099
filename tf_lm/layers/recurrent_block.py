"""Stacked LSTM / GRU / SimpleRNN layers that take and return their states."""

import keras
from keras import ops

from tf_lm.utils.checks import check_positive_int, check_rate
from tf_lm.utils.serializable import clone_initializer, serializable

CELLS = {"lstm": (keras.layers.LSTM, 2), "gru": (keras.layers.GRU, 1),
         "rnn": (keras.layers.SimpleRNN, 1)}


@serializable
class RecurrentBlock(keras.layers.Layer):
    """`num_layers` recurrent layers from `keras.layers`, dropout after each (Zaremba et al.).

    Built on `keras.layers.LSTM`/`GRU`/`SimpleRNN` with their default activations, so
    TensorFlow runs the fused cuDNN kernel on a GPU. All layers' states travel as one tensor
    `(batch, num_layers, states_per_layer, units)` — 2 states (h, c) for an LSTM, 1 for a GRU
    or SimpleRNN — which is what a decoding loop carries from step to step.

    Args:
        cell: `"lstm"`, `"gru"` or `"rnn"`.
        units: state size of every layer.
        num_layers: stacked layers.
        dropout: dropout on each layer's output (the non-recurrent connections).
        stateful: keep the final states of one batch as the initial states of the next, for
            training on contiguous batches (`reset_states()` starts over). Needs a fixed batch
            size (per replica) in the input shape. Decode with a non-stateful copy: Keras
            writes a stateful layer's states after every call.
        kernel_initializer, recurrent_initializer, bias_initializer: as for `keras.layers.LSTM`.
            With a bias initializer other than zeros, the LSTM's forget-gate bias of 1 is off.

    Call arguments:
        inputs: `(batch, seq, features)`.
        initial_state: optional states tensor as returned; zeros when left out.
        padding_mask: optional `(batch, seq)`; masked steps keep the state unchanged.
        training: enables dropout.
        return_state: also return the final states tensor.

    Returns:
        `(batch, seq, units)`, and `(batch, num_layers, states_per_layer, units)` with
        `return_state=True`.

    On a GPU the layers run cuDNN kernels, which XLA cannot compile: a recurrent model's decode
    step is traced without `jit_compile` there.

    Example:
        >>> block = RecurrentBlock("lstm", units=200, num_layers=2, dropout=0.5)
        >>> outputs, states = block(embedded, return_state=True)   # states (b, 2, 2, 200)
        >>> more, states = block(next_embedded, initial_state=states, return_state=True)
    """

    def __init__(self, cell="lstm", units=128, num_layers=1, dropout=0.0, stateful=False,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"`cell` must be one of {tuple(CELLS)}. Received: cell={cell!r}")
        check_positive_int("units", units)
        check_positive_int("num_layers", num_layers)
        check_rate("dropout", dropout)
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.dropout = dropout
        self.stateful = stateful
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.states_per_layer = CELLS[cell][1]

    def build(self, input_shape):
        if self.stateful and input_shape[0] is None:
            raise ValueError("A stateful RecurrentBlock needs a fixed batch size. Received: "
                             f"input_shape={tuple(input_shape)}")
        layer_class = CELLS[self.cell][0]
        extra = {"unit_forget_bias": self._zero_bias()} if self.cell == "lstm" else {}
        self.recurrent_layers, self.dropout_layers = [], []
        shape = tuple(input_shape)
        for i in range(self.num_layers):
            layer = layer_class(
                self.units, return_sequences=True, return_state=True, stateful=self.stateful,
                kernel_initializer=clone_initializer(self.kernel_initializer),
                recurrent_initializer=clone_initializer(self.recurrent_initializer),
                bias_initializer=clone_initializer(self.bias_initializer),
                name=f"{self.cell}_{i}", dtype=self.dtype_policy, **extra)
            layer.build(shape)
            shape = shape[:-1] + (self.units,)
            self.recurrent_layers.append(layer)
            self.dropout_layers.append(keras.layers.Dropout(
                self.dropout, name=f"dropout_{i}", dtype=self.dtype_policy))
        self.built = True

    def _zero_bias(self):
        return isinstance(self.bias_initializer, keras.initializers.Zeros)

    def call(self, inputs, initial_state=None, padding_mask=None, training=None,
             return_state=False):
        if padding_mask is not None and (
                len(padding_mask.shape) != 2 or any(
                    m is not None and i is not None and m != i
                    for m, i in zip(padding_mask.shape, inputs.shape[:2]))):
            raise ValueError(
                f"`padding_mask` must have shape (batch, seq) = {tuple(inputs.shape[:2])}. "
                f"Received: padding_mask.shape={tuple(padding_mask.shape)}")
        x = inputs
        final_states = []
        for i, (layer, dropout) in enumerate(zip(self.recurrent_layers, self.dropout_layers)):
            state = None
            if initial_state is not None:
                state = [ops.cast(initial_state[:, i, j], self.compute_dtype)
                         for j in range(self.states_per_layer)]
            mask = None if padding_mask is None else ops.cast(padding_mask, "bool")
            x, *states = layer(x, initial_state=state, mask=mask, training=training)
            x = dropout(x, training=training)
            if mask is not None:
                x = ops.copy(x)  # a new tensor: the padding mask stays inside this block
            final_states.append(ops.stack(states, axis=1))  # (batch, states, units)
        if not return_state:
            return x
        return x, ops.stack(final_states, axis=1)  # (batch, layers, states, units)

    def initial_state(self, batch_size):
        """Zero states `(batch_size, num_layers, states_per_layer, units)`."""
        return ops.zeros((batch_size, self.num_layers, self.states_per_layer, self.units),
                         dtype=self.compute_dtype)

    def reset_states(self):
        """Zero the carried states of a stateful block."""
        for layer in self.recurrent_layers:
            layer.reset_states()

    def state_variables(self):
        """The variables holding a stateful block's carried states (empty when not stateful)."""
        if not self.stateful:
            return []
        return [v for layer in self.recurrent_layers for v in layer.states]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def compute_output_spec(self, inputs, initial_state=None, padding_mask=None, training=None,
                            return_state=False):
        outputs = keras.KerasTensor(self.compute_output_shape(inputs.shape),
                                    dtype=self.compute_dtype)
        if not return_state:
            return outputs
        states = (inputs.shape[0], self.num_layers, self.states_per_layer, self.units)
        return outputs, keras.KerasTensor(states, dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({
            "cell": self.cell,
            "units": self.units,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
            "stateful": self.stateful,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config
