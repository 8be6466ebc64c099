"""The text classification task: a backbone, a pooling of its states, a dense head."""

import keras

from tf_lm.layers.sequence_pooling import SequencePooling
from tf_lm.layers.word_dropout import WordDropout
from tf_lm.metrics.sparse_f1_score import SparseF1Score
from tf_lm.models.task import Task
from tf_lm.utils.serializable import serializable


@serializable
class TextClassifier(Task):
    """P(class | text): the backbone's hidden states, pooled, dropout, a dense layer.

    keras-hub's `TextClassifier` shape (backbone → pooled → dropout → `Dense(num_classes)`),
    for tf_lm's causal backbones (GPT or recurrent): a causal model's last real token has read
    the whole text, so `pooling="last"` takes its state (GPT's fine-tuning recipe); `"mean"`
    averages the real tokens' states, `"max"` takes each feature's largest, `"concat"` joins
    all three (ULMFiT). The backbone is the same class a `CausalLM` holds, so a
    pretrained language model's backbone weights carry over unchanged.

    `compile()` defaults: AdamW, sparse categorical cross-entropy from logits, accuracy and
    macro F1.

    Args:
        backbone: a `GPTBackbone` or `RecurrentBackbone`.
        num_classes: classes (at least 2).
        label_names: the class names, in label order (saved with the model).
        pooling: `"last"`, `"mean"`, `"max"` or `"concat"` (`SequencePooling`).
        dropout: rate on the pooled state.
        word_dropout: while training, the rate at which input tokens are replaced by
            `unknown_id` (`WordDropout`), so that no single word decides the label.
        unknown_id: the tokenizer's unknown token; needed when `word_dropout > 0`.
        seed: seed of the word dropout draws.

    Call arguments:
        inputs: {"token_ids": (batch, seq) ints, "padding_mask": (batch, seq) bools}, texts
            right-padded (real tokens first).
        training: enables dropout.

    Returns:
        `(batch, num_classes)` logits.

    Example:
        >>> backbone = GPTBackbone(vocabulary_size=500, num_layers=2, num_heads=2, hidden_dim=32,
        ...                        sequence_length=64)
        >>> model = TextClassifier(backbone, num_classes=2, label_names=["neg", "pos"])
        >>> model.compile()
        >>> model.fit({"token_ids": ids, "padding_mask": ids != 0}, labels)
    """

    def __init__(self, backbone, num_classes, label_names=None, pooling="last", dropout=0.1,
                 word_dropout=0.0, unknown_id=None, seed=None, **kwargs):
        kwargs.setdefault("dtype", backbone.dtype_policy)
        super().__init__(**kwargs)
        if num_classes < 2:
            raise ValueError(f"`num_classes` must be at least 2. Received: {num_classes}")
        label_names = list(label_names) if label_names else [str(i) for i in range(num_classes)]
        if len(label_names) != num_classes:
            raise ValueError(f"`label_names` must have num_classes={num_classes} names. "
                             f"Received: {label_names!r}")
        if word_dropout and unknown_id is None:
            raise ValueError("`word_dropout` needs the tokenizer's `unknown_id`. Received: "
                             f"word_dropout={word_dropout}, unknown_id=None")
        self.backbone = backbone
        self.num_classes = num_classes
        self.label_names = label_names
        self.pooling = pooling
        self.dropout = dropout
        self.word_dropout = word_dropout
        self.unknown_id = unknown_id
        self.seed = seed
        self.input_dropout = None
        if word_dropout:
            self.input_dropout = WordDropout(word_dropout, unknown_id, seed=seed, keep_first=False,
                                             name="word_dropout")
        self.pooler = SequencePooling(pooling, name="pooling", dtype=self.dtype_policy)
        self.pooled_dropout = keras.layers.Dropout(dropout, name="pooled_dropout",
                                                   dtype=self.dtype_policy)
        self.head = keras.layers.Dense(
            num_classes, name="head", dtype=self.dtype_policy,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02))  # GPT's range

    def build(self, input_shape=None):
        if not self.backbone.built:
            self.backbone.build((None, None))
        self.head.build(self.pooler.compute_output_shape((None, None, self.backbone.hidden_dim)))
        self.built = True

    def call(self, inputs, training=None):
        token_ids, padding_mask = inputs["token_ids"], inputs["padding_mask"]
        # Right padding and causal models: padded positions never reach the real tokens'
        # states, so the backbone runs without the mask; the pooling leaves them out.
        if self.input_dropout is not None:
            token_ids = self.input_dropout(token_ids, padding_mask, training=training)
        hidden = self.backbone(token_ids, training=training)  # (batch, seq, hidden)
        pooled = self.pooler(hidden, padding_mask)  # (batch, hidden or 3 * hidden)
        return self.head(self.pooled_dropout(pooled, training=training))

    def compile(self, optimizer="adamw", loss="auto", metrics="auto", **kwargs):
        """`keras.Model.compile` with classification defaults for `loss` and `metrics`."""
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                       SparseF1Score(self.num_classes, name="f1")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def compute_output_shape(self, input_shape):
        return (None, self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.num_classes,
            "label_names": self.label_names,
            "pooling": self.pooling,
            "dropout": self.dropout,
            "word_dropout": self.word_dropout,
            "unknown_id": self.unknown_id,
            "seed": self.seed,
        })
        return config
