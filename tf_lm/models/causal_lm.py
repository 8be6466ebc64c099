"""The causal language-modelling task: a backbone plus the head that predicts the next token."""

import keras
import keras_hub
from keras import ops

from tf_lm.models.task import Task
from tf_lm.utils.serializable import clone_initializer, serializable


@serializable
class CausalLM(Task):
    """P(token_t | tokens_<t) for every position: the backbone's hidden states → vocabulary logits.

    The head is the token embedding used backwards (`tie_embeddings=True`, logits = h · Eᵀ) or a
    dense layer of its own. With `head_activation="softmax"` the model outputs probabilities, as
    the classic Keras example does (`Dense(vocab, activation="softmax")`); decoding always gets
    logits from `call_with_cache`.

    `compile()` defaults: Adam, sparse categorical cross-entropy on the outputs (from logits
    unless the head is a softmax) and keras-hub's `Perplexity` metric = exp(mean cross-entropy).

    Text generation is `tf_lm.generation.TextGenerator(model, tokenizer)`, one level up.
    Decoding entry points, shared by both backbone families: `initial_cache(batch, max_length)`,
    `call_with_cache(token_ids, cache, cache_index)` and `reorder_cache(cache, rows)`. For a
    GPT the cache holds keys and values of every layer; for an RNN it holds the recurrent
    states.

    Args:
        backbone: a `GPTBackbone` or `RecurrentBackbone` (anything with `token_embedding`,
            `hidden_dim`, `embedding_dim`, `vocabulary_size`, `initial_cache`,
            `reorder_cache` and a `call` taking `cache`/`cache_index`).
        tie_embeddings: reuse the token embedding as the output projection; needs
            `embedding_dim == hidden_dim`.
        head_activation: `None` (logits) or `"softmax"` (probabilities).
        head_use_bias: bias in an untied head.
        head_initializer: kernel (and bias) initializer of an untied head.
        head_bias_initializer: the head's bias initializer; `None` means the kernel's when
            that is uniform (Zaremba et al.), else zeros.

    Call arguments:
        token_ids: `(batch, seq)` integers.
        training: enables dropout.

    Returns:
        `(batch, seq, vocabulary_size)` logits (or probabilities).

    Example:
        >>> backbone = GPTBackbone(vocabulary_size=65, num_layers=4, num_heads=4, hidden_dim=128,
        ...                        sequence_length=64, use_bias=False)
        >>> model = CausalLM(backbone)
        >>> model.compile(optimizer="adamw")
        >>> model.fit(dataset, steps_per_epoch=100)
    """

    def __init__(self, backbone, tie_embeddings=True, head_activation=None, head_use_bias=False,
                 head_initializer="glorot_uniform", head_bias_initializer=None, **kwargs):
        kwargs.setdefault("dtype", backbone.dtype_policy)
        super().__init__(**kwargs)
        if head_activation not in (None, "softmax"):
            raise ValueError("`head_activation` must be None or 'softmax'. "
                             f"Received: head_activation={head_activation!r}")
        if tie_embeddings and backbone.embedding_dim != backbone.hidden_dim:
            raise ValueError(
                "Tied embeddings need embedding_dim == hidden_dim. Received: embedding_dim="
                f"{backbone.embedding_dim}, hidden_dim={backbone.hidden_dim}")
        self.backbone = backbone
        self.tie_embeddings = tie_embeddings
        self.head_activation = head_activation
        self.head_use_bias = head_use_bias
        self.head_initializer = keras.initializers.get(head_initializer)
        self.head_bias_initializer = (None if head_bias_initializer is None
                                      else keras.initializers.get(head_bias_initializer))
        self.vocabulary_size = backbone.vocabulary_size

    def build(self, input_shape):
        if not self.backbone.built:  # a deserialized backbone arrives built
            self.backbone.build(input_shape)
        self.head = None
        if not self.tie_embeddings:
            self.head = keras.layers.Dense(
                self.vocabulary_size, use_bias=self.head_use_bias, name="head",
                kernel_initializer=clone_initializer(self.head_initializer),
                bias_initializer=self._head_bias_initializer(),
                dtype=self.dtype_policy)
            self.head.build(tuple(input_shape) + (self.backbone.hidden_dim,))
        self.built = True

    @property
    def is_recurrent(self):
        """True for a recurrent backbone (its cache is a state, not keys and values)."""
        return hasattr(self.backbone, "cell")

    def _head_bias_initializer(self):
        if self.head_bias_initializer is not None:
            return clone_initializer(self.head_bias_initializer)
        if isinstance(self.head_initializer, keras.initializers.RandomUniform):
            return clone_initializer(self.head_initializer)
        return "zeros"

    def logits(self, hidden_states):
        """Vocabulary logits `(batch, seq, vocab)` from hidden states `(batch, seq, hidden)`."""
        if self.head is None:
            return self.backbone.token_embedding(hidden_states, reverse=True)
        return self.head(hidden_states)

    def call(self, token_ids, training=None):
        outputs = self.logits(self.backbone(token_ids, training=training))
        if self.head_activation == "softmax":
            outputs = ops.cast(ops.softmax(ops.cast(outputs, "float32"), axis=-1),
                               self.compute_dtype)
        return outputs

    def initial_cache(self, batch_size, max_length):
        """The empty decoding cache for `batch_size` sequences of up to `max_length` tokens."""
        self._build_if_needed()
        return self.backbone.initial_cache(batch_size, max_length)

    def reorder_cache(self, cache, rows):
        """The cache of the sequences `rows` (indices into the batch), in that order."""
        return self.backbone.reorder_cache(cache, rows)

    def call_with_cache(self, token_ids, cache, cache_index=0, padding_mask=None):
        """Logits of `token_ids` at positions `cache_index...`, continuing from `cache`.

        Returns `(logits (batch, seq, vocab), updated cache)`. Feeding a prompt in one call and
        then one token per call gives the same logits as one full forward pass.
        """
        self._build_if_needed()
        hidden, cache = self.backbone(token_ids, padding_mask=padding_mask, cache=cache,
                                      cache_index=cache_index, training=False)
        return self.logits(hidden), cache

    def _build_if_needed(self):
        if not self.built:
            self.build((None, None))

    def compile(self, optimizer="adam", loss="auto", metrics="auto", **kwargs):
        """`keras.Model.compile` with language-model defaults for `loss` and `metrics`."""
        from_logits = self.head_activation != "softmax"
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
        if metrics == "auto":
            metrics = [keras_hub.metrics.Perplexity(from_logits=from_logits, name="perplexity")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.vocabulary_size,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "tie_embeddings": self.tie_embeddings,
            "head_activation": self.head_activation,
            "head_use_bias": self.head_use_bias,
            "head_initializer": keras.initializers.serialize(self.head_initializer),
            "head_bias_initializer": (None if self.head_bias_initializer is None else
                                      keras.initializers.serialize(self.head_bias_initializer)),
        })
        return config
