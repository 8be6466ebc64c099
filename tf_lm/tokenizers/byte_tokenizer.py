"""UTF-8 byte tokenizer: keras-hub's `ByteTokenizer` plus special tokens after the 256 bytes."""

import keras_hub
import numpy as np
import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.tokenizers.tokenizer import Tokenizer, on_batch, to_tensor


# The 256 one-byte strings, as a NumPy constant: a module-level tf.constant would start
# TensorFlow's runtime at import, before a MultiWorkerMirroredStrategy can configure it.
_BYTES = np.array([bytes([i]) for i in range(256)], dtype=object)


def _bytes_to_ids(single_bytes):
    """A vector of one-byte strings -> their int32 values (empty stays empty)."""
    return tf.cast(tf.reshape(tf.io.decode_raw(single_bytes, tf.uint8), [-1]), tf.int32)


class ByteTokenizer(Tokenizer, keras_hub.tokenizers.ByteTokenizer):
    """Ids 0-255 are the bytes of the UTF-8 text; ids from 256 on are special tokens.

    The interface, vocabulary and config are keras-hub's `ByteTokenizer` (with
    `lowercase=False`: lowercasing needs tensorflow-text's `CaseFoldUTF8` op and changes the
    text). `tokenize` and `detokenize` are our own few ops because keras-hub's treat byte 0
    as padding (a text with NUL would not round-trip) and fail on an empty string.
    Detokenizing drops special ids, then decodes UTF-8 with `errors` ("replace" by default,
    so a cut multi-byte character becomes U+FFFD).

    Args:
        end_token: the end-of-text special token (id 256), or None for no specials.
        errors: "strict", "replace" or "ignore" for invalid UTF-8 when detokenizing.

    Example:
    ```python
    tokenizer = ByteTokenizer()
    tokenizer.encode("hé")  # [104, 195, 169]
    ```
    """

    kind = "byte"
    asset_file = None

    def __init__(self, end_token="<eos>", errors="replace", **kwargs):
        kwargs.pop("lowercase", None)
        super().__init__(lowercase=False, errors=errors, **kwargs)
        self.end_token = end_token
        self._end_token_id = 256 if end_token is not None else None
        self._specials = [end_token] if end_token is not None else []

    @classmethod
    def from_corpus(cls, lines=None, end_token="<eos>", errors="replace"):
        """Bytes need no vocabulary; `lines` is ignored."""
        return cls(end_token=end_token, errors=errors)

    def vocabulary_size(self):
        return 256 + len(self._specials)

    def get_vocabulary(self):
        return [bytes([i]).decode("latin-1") for i in range(256)] + list(self._specials)

    def id_to_token(self, id):
        if 256 <= id < self.vocabulary_size():
            return self._specials[id - 256]
        return super().id_to_token(id)

    def token_to_id(self, token):
        if token in self._specials:
            return 256 + self._specials.index(token)
        if len(token) != 1 or ord(token) > 255:
            raise InputError(f"Token {token!r} is not a byte or special token")
        return ord(token)

    def tokenize(self, inputs):
        return on_batch(self._tokenize_batch, to_tensor(inputs, tf.string), batch_rank=1)

    def detokenize(self, inputs):
        return on_batch(self._detokenize_batch, to_tensor(inputs, tf.int32), batch_rank=2)

    def _tokenize_batch(self, inputs):
        return tf.ragged.map_flat_values(_bytes_to_ids, tf.strings.bytes_split(inputs))

    def _detokenize_batch(self, ids):
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        ids = tf.ragged.boolean_mask(ids, ids < 256)  # special tokens are not text
        text = tf.strings.reduce_join(tf.gather(tf.constant(_BYTES, tf.string), ids), axis=-1)
        return tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors=self.errors,
                                            replacement_char=0xFFFD)

    def get_config(self):
        config = super().get_config()
        config.update({"end_token": self.end_token})
        for key in ("lowercase", "sequence_length", "normalization_form", "replacement_char"):
            config.pop(key, None)
        return config
