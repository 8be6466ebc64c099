"""Character (Unicode code point) tokenizer with a vocabulary learned from the corpus."""

import json
import os

import numpy as np
import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.tokenizers.vocabulary_tokenizer import VocabularyTokenizer

VOCABULARY_FILE = "vocabulary.json"
REPLACEMENT_CHARACTER = "\ufffd"


class CharTokenizer(VocabularyTokenizer):
    """One id per Unicode code point, over the characters of the training split.

    keras-hub's `UnicodeCodepointTokenizer` uses the raw code point as the id (an id
    space of 1.1 M); a character LM wants the dense vocabulary of the characters it has
    seen (Tiny Shakespeare: 65), so this layer maps code points through a lookup table.

    Args:
        vocabulary: list of single characters (index = id), or None to set later.
        unknown_token: a character that out-of-vocabulary characters map to (it is added
            to the vocabulary if missing), or None: out-of-vocabulary input is then an
            error (`InputError` eagerly, `InvalidArgumentError` in a graph).
        errors: invalid UTF-8 in the input: "strict" fails, "replace" maps it to U+FFFD.

    Call arguments (`tokenize`): a string or 1-D string tensor. Returns int32 ids: a
    dense vector for a scalar input, a `tf.RaggedTensor` of shape (batch, None) otherwise.

    Example:
    ```python
    tokenizer = CharTokenizer.from_corpus(["hello world\\n"])
    tokenizer.decode(tokenizer.encode("hello"))  # "hello"
    ```
    """

    kind = "char"
    asset_file = VOCABULARY_FILE

    def __init__(self, vocabulary=None, unknown_token=None, errors="strict", **kwargs):
        if errors not in ("strict", "replace"):
            raise InputError(f"`errors` must be 'strict' or 'replace'. Received: errors={errors!r}")
        if unknown_token is not None and len(unknown_token) != 1:
            raise InputError(
                f"`unknown_token` must be one character. Received: unknown_token={unknown_token!r}"
            )
        super().__init__(**kwargs)
        self.unknown_token = unknown_token
        self.errors = errors
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    @classmethod
    def from_corpus(cls, lines, unknown_token=None, errors="strict"):
        """Vocabulary: every distinct character of `lines`, sorted by code point."""
        lines = cls._iterate_lines(lines)
        chars = set()
        for line in lines:
            chars.update(line)
        if not chars:
            raise InputError("Cannot learn a character vocabulary from empty text")
        return cls(vocabulary=sorted(chars), unknown_token=unknown_token, errors=errors)

    def set_vocabulary(self, vocabulary):
        vocabulary = list(vocabulary)
        for i, ch in enumerate(vocabulary):
            if not isinstance(ch, str) or len(ch) != 1:
                raise InputError(
                    f"A character vocabulary holds single characters. Entry {i}: {ch!r}"
                )
        if self.unknown_token is not None and self.unknown_token not in vocabulary:
            vocabulary = [self.unknown_token] + vocabulary
        self._set_index(vocabulary)
        self._unknown_token_id = (
            self._index[self.unknown_token] if self.unknown_token is not None else None
        )
        default = -1 if self._unknown_token_id is None else self._unknown_token_id
        codepoints = tf.constant([ord(c) for c in vocabulary], dtype=tf.int32)
        ids = tf.range(len(vocabulary), dtype=tf.int32)
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(codepoints, ids), default_value=default
        )
        self._codepoints = codepoints

    def token_to_id(self, token):
        self._check_vocabulary()
        if token not in self._index:
            raise InputError(f"Token {token!r} is not in the character vocabulary")
        return self._index[token]

    def _codepoints_of(self, inputs):
        return tf.strings.unicode_decode(
            inputs, "UTF-8", errors=self.errors, replacement_char=0xFFFD
        )

    def _tokenize_batch(self, inputs):
        ids = tf.ragged.map_flat_values(self._table.lookup, self._codepoints_of(inputs))
        if self._unknown_token_id is None:
            if tf.executing_eagerly():
                self._raise_if_unknown(inputs, ids)
            else:
                check = tf.debugging.assert_non_negative(
                    ids.flat_values,
                    message="CharTokenizer: input has characters outside the vocabulary",
                )
                with tf.control_dependencies([check]):
                    ids = tf.identity(ids)
        return ids

    def _raise_if_unknown(self, inputs, ids):
        flat = ids.flat_values.numpy()
        if (flat < 0).any():
            first = int(np.argmax(flat < 0))
            char = chr(int(self._codepoints_of(inputs).flat_values.numpy()[first]))
            raise InputError(
                f"Character {char!r} (U+{ord(char):04X}) is not in the character vocabulary "
                f"({len(self.vocabulary)} characters, no unknown token)"
            )

    def _detokenize_batch(self, ids):
        return tf.strings.unicode_encode(tf.gather(self._codepoints, ids), "UTF-8")

    def count_out_of_vocabulary(self, lines):
        """Characters of `lines` that are not in the vocabulary, and all characters."""
        oov = total = 0
        for line in lines:
            total += len(line)
            oov += sum(1 for ch in line if ch not in self._index or ch == self.unknown_token)
        return oov, total

    def save_assets(self, dir_path):
        with open(os.path.join(dir_path, VOCABULARY_FILE), "w", encoding="utf-8") as f:
            json.dump(self.vocabulary, f, ensure_ascii=False)

    def load_assets(self, dir_path):
        path = os.path.join(dir_path, VOCABULARY_FILE)
        try:
            with open(path, encoding="utf-8") as f:
                vocabulary = json.load(f)
        except (OSError, ValueError) as e:
            raise InputError(f"Vocabulary file '{path}' is unreadable or corrupt: {e}") from None
        if not isinstance(vocabulary, list):
            raise InputError(f"Vocabulary file '{path}' must hold a JSON list of characters")
        self.set_vocabulary(vocabulary)

    def get_config(self):
        config = super().get_config()
        config.update({"vocabulary": self.vocabulary, "unknown_token": self.unknown_token,
                       "errors": self.errors})
        return config
