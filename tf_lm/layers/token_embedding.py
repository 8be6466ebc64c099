"""Token embedding with an optional tied output projection."""

import math

import keras
from keras import ops

from tf_lm.utils.checks import check_positive_int
from tf_lm.utils.serializable import clone_initializer, serializable
from tf_lm.layers.tokenwise import tokenwise
from tf_lm.layers.word_vectors import read_word_vectors


@serializable
class TokenEmbedding(keras.layers.Layer):
    """A lookup table from token ids to vectors, usable backwards as the output projection.

    Forward, `E[ids]` (times √d with `scale=True`, as "Attention is all you need" does before
    adding sinusoidal encodings). Reversed, `h · Eᵀ`: the logits of a model whose output
    projection is tied to its input embedding (Press & Wolf 2017; GPT-2, nanoGPT).

    Args:
        vocabulary_size: number of token ids.
        output_dim: width of each embedding vector.
        scale: multiply embeddings by √output_dim in the forward direction.
        embeddings_initializer: initializer of the `(vocabulary_size, output_dim)` table.

    Call arguments:
        inputs: integer token ids `(batch, seq)`, or hidden states `(batch, seq, output_dim)`
            when `reverse=True`.
        reverse: compute logits `inputs · Eᵀ` instead of looking ids up.

    Returns:
        `(batch, seq, output_dim)` embeddings, or `(batch, seq, vocabulary_size)` logits.

    Example:
        >>> embedding = TokenEmbedding(vocabulary_size=65, output_dim=128)
        >>> hidden = embedding(token_ids)                  # (batch, seq, 128)
        >>> logits = embedding(hidden, reverse=True)       # (batch, seq, 65)
    """

    def __init__(self, vocabulary_size, output_dim, scale=False,
                 embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        check_positive_int("vocabulary_size", vocabulary_size)
        check_positive_int("output_dim", output_dim)
        self.vocabulary_size = vocabulary_size
        self.output_dim = output_dim
        self.scale = scale
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.vocabulary_size, self.output_dim),
            initializer=clone_initializer(self.embeddings_initializer))
        self.built = True

    def call(self, inputs, reverse=False):
        if reverse:
            table = ops.cast(self.embeddings, self.compute_dtype)
            # (tokens, dim) · (dim, vocab) -> (tokens, vocab), tokens = batch · seq
            return tokenwise(lambda x: ops.matmul(x, ops.transpose(table)), inputs)
        outputs = ops.take(self.embeddings, ops.cast(inputs, "int32"), axis=0)
        outputs = ops.cast(outputs, self.compute_dtype)
        if self.scale:
            outputs = outputs * ops.cast(math.sqrt(self.output_dim), self.compute_dtype)
        return outputs

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return tuple(input_shape[:-1]) + (self.vocabulary_size,)
        return tuple(input_shape) + (self.output_dim,)

    def compute_output_spec(self, inputs, reverse=False):
        shape = self.compute_output_shape(inputs.shape, reverse=reverse)
        return keras.KerasTensor(shape, dtype=self.compute_dtype)

    def load_word_vectors(self, path, vocabulary):
        """Copy pretrained vectors (GloVe or word2vec text format) into the matching rows.

        `vocabulary[i]` is the word of token id `i`. A word is looked up as written, then
        lower-cased (GloVe's vocabularies are lower case). Rows without a vector keep their
        random initialization. Returns a `WordVectorCoverage` (covered, total, a few misses).
        """
        if len(vocabulary) != self.vocabulary_size:
            raise ValueError(
                f"`vocabulary` must have vocabulary_size={self.vocabulary_size} words. "
                f"Received: len(vocabulary)={len(vocabulary)}")
        if not self.built:
            self.build()
        rows, vectors, coverage = read_word_vectors(path, vocabulary, self.output_dim)
        if rows:
            table = ops.convert_to_numpy(self.embeddings).copy()
            table[rows] = vectors
            self.embeddings.assign(table)
        return coverage

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocabulary_size": self.vocabulary_size,
            "output_dim": self.output_dim,
            "scale": self.scale,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        })
        return config
