"""Whitespace word tokenizer with a frequency-ordered vocabulary (WikiText/PTB style)."""

import collections
import os
import re

import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.tokenizers.vocabulary_tokenizer import VocabularyTokenizer

VOCABULARY_FILE = "vocabulary.txt"
# `tf.strings.split` splits on ASCII whitespace only; Python's str.split() also splits on
# U+00A0, U+2028 and friends. Learning and counting use this rule so they agree with the graph.
_ASCII_WHITESPACE = re.compile(r"[ \t\n\r\v\f]+")


def split_words(line):
    """The words of `line` exactly as `tf.strings.split` sees them."""
    return [w for w in _ASCII_WHITESPACE.split(line) if w]


class WordTokenizer(VocabularyTokenizer):
    """Splits on whitespace and maps each word through a vocabulary; unknown words -> `<unk>`.

    keras-hub's `WordPieceTokenizer` always splits punctuation and breaks unknown words
    into pieces; word-level LM benchmarks (PTB, WikiText) need whole, pre-tokenized words
    and a plain `<unk>`, so this layer is a lookup table over `tf.strings.split`.

    In WikiText/PTB mode (`end_token="<eos>"`) every input string is one line and gets an
    `<eos>` after its last word, the convention of pytorch/examples and AWD-LSTM; decoding
    turns `<eos>` back into a newline.

    Args:
        vocabulary: list of words (index = id), or None to set later. The special tokens
            are added at the front if missing.
        unknown_token: what out-of-vocabulary words become.
        end_token: appended to every input string, or None (plain text mode).

    Example:
    ```python
    tokenizer = WordTokenizer.from_corpus(["the cat sat", "the dog"], end_token="<eos>")
    tokenizer.encode("the cat ran")  # [the, cat, <unk>, <eos>] as ids
    ```
    """

    kind = "word"
    asset_file = VOCABULARY_FILE

    def __init__(self, vocabulary=None, unknown_token="<unk>", end_token=None, **kwargs):
        if not unknown_token or any(c.isspace() for c in unknown_token):
            raise InputError(
                f"`unknown_token` must be a word without whitespace. Received: {unknown_token!r}"
            )
        super().__init__(**kwargs)
        self.unknown_token = unknown_token
        self.end_token = end_token
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    @property
    def specials(self):
        return [t for t in (self.unknown_token, self.end_token) if t is not None]

    @classmethod
    def from_corpus(cls, lines, min_freq=1, max_size=None, unknown_token="<unk>",
                    end_token=None):
        """Vocabulary of the words in `lines`: specials first, then by count (ties by word).

        Args:
            lines: iterable of str, or a `tf.data.Dataset` of strings, one line each.
            min_freq: words seen fewer times are left out (they become `unknown_token`).
            max_size: largest vocabulary size, special tokens included; None: no limit.
        """
        lines = cls._iterate_lines(lines)
        counts = collections.Counter()
        for line in lines:
            counts.update(split_words(line))
        specials = [t for t in (unknown_token, end_token) if t is not None]
        words = sorted(
            (w for w, n in counts.items() if n >= min_freq and w not in specials),
            key=lambda w: (-counts[w], w),
        )
        vocabulary = specials + words
        if max_size is not None:
            if max_size < len(specials):
                raise InputError(
                    f"`max_size` must hold the special tokens {specials}. Received: {max_size}"
                )
            vocabulary = vocabulary[:max_size]
        if len(vocabulary) == len(specials):
            raise InputError("Cannot learn a word vocabulary: the text has no words")
        return cls(vocabulary=vocabulary, unknown_token=unknown_token, end_token=end_token)

    def set_vocabulary(self, vocabulary):
        vocabulary = list(vocabulary)
        for i, word in enumerate(vocabulary):
            if not isinstance(word, str) or split_words(word) != [word]:
                raise InputError(
                    f"A word vocabulary holds non-empty words without whitespace. "
                    f"Entry {i}: {word!r}"
                )
        missing = [t for t in self.specials if t not in vocabulary]
        vocabulary = missing + vocabulary
        self._set_index(vocabulary)
        self._unknown_token_id = self._index[self.unknown_token]
        self._end_token_id = self._index[self.end_token] if self.end_token else None
        words = tf.constant(vocabulary)
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(words, tf.range(len(vocabulary), dtype=tf.int32)),
            default_value=self._unknown_token_id,
        )
        shown = list(vocabulary)
        if self._end_token_id is not None:
            shown[self._end_token_id] = "\n"
        self._words = tf.constant(shown)

    def token_to_id(self, token):
        self._check_vocabulary()
        return self._index.get(token, self._unknown_token_id)

    def _tokenize_batch(self, inputs):
        ids = tf.ragged.map_flat_values(self._table.lookup, tf.strings.split(inputs))
        if self._end_token_id is not None:
            ends = tf.fill([tf.shape(inputs)[0], 1], tf.constant(self._end_token_id, tf.int32))
            ids = tf.concat([ids, tf.RaggedTensor.from_tensor(ends)], axis=1)
        return ids

    def _detokenize_batch(self, ids):
        text = tf.strings.reduce_join(tf.gather(self._words, ids), axis=-1, separator=" ")
        if self._end_token_id is not None:
            text = tf.strings.regex_replace(text, " ?\n ?", "\n")
        return text

    def count_out_of_vocabulary(self, lines):
        """Words not in the vocabulary (a literal unknown token in the text counts as known)."""
        oov = total = 0
        for line in lines:
            words = split_words(line)
            total += len(words) + (1 if self.end_token else 0)
            oov += sum(1 for w in words if w not in self._index)
        return oov, total

    def save_assets(self, dir_path):
        with open(os.path.join(dir_path, VOCABULARY_FILE), "w", encoding="utf-8") as f:
            f.write("".join(w + "\n" for w in self.vocabulary))

    def load_assets(self, dir_path):
        path = os.path.join(dir_path, VOCABULARY_FILE)
        try:
            with open(path, encoding="utf-8") as f:
                words = f.read().split("\n")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"Vocabulary file '{path}' is unreadable or corrupt: {e}") from None
        if words and words[-1] == "":
            words.pop()
        try:
            self.set_vocabulary(words)
        except InputError as e:
            raise InputError(f"Vocabulary file '{path}' is corrupt: {e}") from None

    def get_config(self):
        config = super().get_config()
        config.update({"vocabulary": self.vocabulary, "unknown_token": self.unknown_token,
                       "end_token": self.end_token})
        return config
