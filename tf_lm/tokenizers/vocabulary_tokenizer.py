"""The base of tokenizers whose vocabulary is an explicit list of tokens (index = id)."""

import collections

import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.tokenizers.tokenizer import Tokenizer, on_batch, to_tensor


class VocabularyTokenizer(Tokenizer):
    """Holds a list vocabulary and its index; `CharTokenizer` and `WordTokenizer` build on it.

    Subclasses validate their entries, then call `_set_index(vocabulary)` from their
    `set_vocabulary`, build their lookup tables from `self.vocabulary`, and implement
    `_tokenize_batch` (1-D strings -> ragged ids) and `_detokenize_batch` (ids -> 1-D
    strings). This class accepts scalars and Python inputs around them.
    """

    def __init__(self, **kwargs):
        super().__init__(dtype="int32", **kwargs)
        self.vocabulary = None

    def _set_index(self, vocabulary):
        duplicates = [t for t, n in collections.Counter(vocabulary).items() if n > 1]
        if duplicates:
            raise InputError(
                f"A {self.kind} vocabulary has duplicate entries: {duplicates[:5]!r}"
            )
        self.vocabulary = list(vocabulary)
        self._index = {t: i for i, t in enumerate(self.vocabulary)}

    def _check_vocabulary(self):
        if self.vocabulary is None:
            raise InputError(
                f"{type(self).__name__} has no vocabulary: pass `vocabulary` or use from_corpus"
            )

    def get_vocabulary(self):
        self._check_vocabulary()
        return list(self.vocabulary)

    def vocabulary_size(self):
        self._check_vocabulary()
        return len(self.vocabulary)

    def id_to_token(self, id):
        self._check_vocabulary()
        if not 0 <= id < len(self.vocabulary):
            raise InputError(f"`id` must be in [0, {len(self.vocabulary)}). Received: {id}")
        return self.vocabulary[id]

    def tokenize(self, inputs):
        self._check_vocabulary()
        return on_batch(self._tokenize_batch, to_tensor(inputs, tf.string), batch_rank=1)

    def detokenize(self, inputs):
        self._check_vocabulary()
        return on_batch(self._detokenize_batch, to_tensor(inputs, tf.int32), batch_rank=2)

    @staticmethod
    def _iterate_lines(lines):
        """Python strings from an iterable of str or a `tf.data.Dataset` of strings."""
        if isinstance(lines, tf.data.Dataset):
            return (x.decode("utf-8", errors="replace") for x in lines.as_numpy_iterator())
        return lines
