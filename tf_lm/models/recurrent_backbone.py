"""A recurrent backbone: token ids in, hidden states out (LSTM / GRU / SimpleRNN)."""

import keras
from keras import ops

from tf_lm.layers.recurrent_block import CELLS, RecurrentBlock
from tf_lm.utils.checks import check_positive_int, check_rate
from tf_lm.utils.serializable import output_spec, serializable
from tf_lm.layers.token_embedding import TokenEmbedding


@serializable
class RecurrentBackbone(keras.Model):
    """Token embedding → dropout → stacked recurrent layers (Zaremba et al. 2014 layout).

    With `init_scale > 0` every weight, the embedding included, starts uniform in
    [-init_scale, init_scale] as in the paper; otherwise Keras' defaults apply (the classic
    Keras example). `recurrent_init_scale > 0` sets the recurrent layers' range apart from the
    embedding's (PyTorch's `nn.LSTM` starts them in ±1/√hidden_dim).

    Args:
        vocabulary_size: number of token ids.
        cell: `"lstm"`, `"gru"` or `"rnn"`.
        num_layers: stacked recurrent layers.
        hidden_dim: units of each layer.
        embedding_dim: embedding width; `None` means hidden_dim.
        dropout: on the embedding and on each layer's output.
        init_scale: uniform initialization range, 0 for Keras defaults.
        recurrent_init_scale: uniform range of the recurrent layers alone (kernels and
            biases), 0 for the same as the embedding's.
        stateful: carry states across batches (needs `batch_size`).
        batch_size: the fixed batch size of a stateful backbone.

    Call arguments:
        token_ids: `(batch, seq)` integers.
        padding_mask: optional `(batch, seq)`; masked steps leave the state unchanged.
        cache: optional states `(batch, num_layers, states_per_layer, hidden_dim)`.
        cache_index: unused (the state already knows where it is); accepted so both backbone
            families share one decoding interface.
        training: enables dropout.

    Returns:
        `(batch, seq, hidden_dim)`, and the final states when a cache was given.
    """

    def __init__(self, vocabulary_size, cell="lstm", num_layers=1, hidden_dim=128,
                 embedding_dim=None, dropout=0.0, init_scale=0.0, stateful=False, batch_size=None,
                 recurrent_init_scale=0.0, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("vocabulary_size", vocabulary_size)
        check_positive_int("hidden_dim", hidden_dim)
        if embedding_dim is not None:
            check_positive_int("embedding_dim", embedding_dim)
        check_rate("dropout", dropout)
        if cell not in CELLS:
            raise ValueError(f"`cell` must be one of {tuple(CELLS)}. Received: cell={cell!r}")
        if stateful and not batch_size:
            raise ValueError("A stateful backbone needs `batch_size`. Received: batch_size="
                             f"{batch_size!r}")
        self.vocabulary_size = vocabulary_size
        self.cell = cell
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.embedding_dim = embedding_dim or hidden_dim
        self.dropout = dropout
        self.init_scale = init_scale
        self.recurrent_init_scale = recurrent_init_scale
        self.stateful = stateful
        self.batch_size = batch_size

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if self.stateful:
            input_shape = (self.batch_size,) + input_shape[1:]
        uniform = keras.initializers.RandomUniform(-self.init_scale, self.init_scale)
        scaled = self.init_scale > 0
        recurrent_scale = self.recurrent_init_scale or self.init_scale
        recurrent_uniform = uniform  # a new initializer would draw a seed: only when needed
        if self.recurrent_init_scale > 0:
            recurrent_uniform = keras.initializers.RandomUniform(-recurrent_scale,
                                                                 recurrent_scale)
        self.token_embedding = TokenEmbedding(
            self.vocabulary_size, self.embedding_dim, name="token_embedding",
            embeddings_initializer=uniform if scaled else "uniform", dtype=self.dtype_policy)
        self.token_embedding.build(input_shape)
        self.embedding_dropout = keras.layers.Dropout(
            self.dropout, name="embedding_dropout", dtype=self.dtype_policy)
        self.recurrent_block = RecurrentBlock(
            self.cell, self.hidden_dim, num_layers=self.num_layers, dropout=self.dropout,
            stateful=self.stateful, name="recurrent_block", dtype=self.dtype_policy,
            **({"kernel_initializer": recurrent_uniform,
                "recurrent_initializer": recurrent_uniform,
                "bias_initializer": recurrent_uniform} if recurrent_scale > 0 else {}))
        self.recurrent_block.build(input_shape + (self.embedding_dim,))
        self.built = True

    def call(self, token_ids, padding_mask=None, cache=None, cache_index=0, training=None):
        x = self.token_embedding(token_ids)  # (batch, seq, embedding_dim)
        x = self.embedding_dropout(x, training=training)
        if cache is None:
            return self.recurrent_block(x, padding_mask=padding_mask, training=training)
        return self.recurrent_block(x, initial_state=cache, padding_mask=padding_mask,
                                    training=training, return_state=True)

    def initial_cache(self, batch_size, max_length=None):
        """Zero states `(batch_size, num_layers, states_per_layer, hidden_dim)`."""
        return self.recurrent_block.initial_state(batch_size)

    def reorder_cache(self, cache, rows):
        """The states of the sequences `rows` `(new_batch,)` (beam search follows parents)."""
        return ops.take(cache, rows, axis=0)

    def reset_states(self):
        """Zero the carried states of a stateful backbone (at an epoch or document start)."""
        self.recurrent_block.reset_states()

    def state_variables(self):
        """The variables that carry a stateful backbone's states from batch to batch: not
        weights, so a copy of the model leaves them out and validation saves and restores
        them (empty when not stateful)."""
        return self.recurrent_block.state_variables()

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.hidden_dim,)

    def compute_output_spec(self, token_ids, padding_mask=None, cache=None, cache_index=0,
                            training=None):
        return output_spec(self, self.compute_output_shape(token_ids.shape), cache)

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocabulary_size": self.vocabulary_size,
            "cell": self.cell,
            "num_layers": self.num_layers,
            "hidden_dim": self.hidden_dim,
            "embedding_dim": self.embedding_dim,
            "dropout": self.dropout,
            "init_scale": self.init_scale,
            "recurrent_init_scale": self.recurrent_init_scale,
            "stateful": self.stateful,
            "batch_size": self.batch_size,
        })
        return config
