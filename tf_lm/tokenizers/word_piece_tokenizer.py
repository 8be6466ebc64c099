"""WordPiece subwords: keras-hub's tokenizer and trainer, with tf_lm's interface."""

import keras_hub
import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.tokenizers.tokenizer import Tokenizer

RESERVED_TOKENS = ("[PAD]", "[UNK]", "[EOS]")


class WordPieceTokenizer(Tokenizer, keras_hub.tokenizers.WordPieceTokenizer):
    """keras-hub's `WordPieceTokenizer`, trained on the corpus by `compute_word_piece_vocabulary`.

    Text is split on whitespace and punctuation, then into `##`-joined pieces; decoding
    joins words with single spaces, so a round trip keeps the words but not the exact
    whitespace. Tokenizing runs tensorflow-text's `FastWordpieceTokenizer` and regex ops,
    which stock TF Serving links in.

    Args:
        vocabulary: list of pieces or a path to a vocabulary file; `[UNK]` must be in it.
        lowercase: lowercase (and case-fold) the text first.

    Example:
    ```python
    tokenizer = WordPieceTokenizer.from_corpus(lines, vocabulary_size=1000)
    ```
    """

    kind = "wordpiece"
    asset_file = "vocabulary.txt"

    def __init__(self, vocabulary=None, lowercase=False, **kwargs):
        for key in ("oov_token", "split", "strip_accents", "suffix_indicator", "dtype"):
            kwargs.pop(key, None)
        super().__init__(vocabulary=vocabulary, lowercase=lowercase, oov_token="[UNK]",
                         dtype="int32", **kwargs)
        self._refresh_ids()

    def set_vocabulary(self, vocabulary):
        super().set_vocabulary(vocabulary)
        self._refresh_ids()

    def _refresh_ids(self):
        vocabulary = getattr(self, "vocabulary", None)
        if vocabulary:
            index = {t: i for i, t in enumerate(vocabulary)}
            self._unknown_token_id = index.get("[UNK]")
            self._end_token_id = index.get("[EOS]")

    @classmethod
    def from_corpus(cls, lines, vocabulary_size=8000, lowercase=False):
        """Trains a WordPiece vocabulary of at most `vocabulary_size` entries on `lines`."""
        dataset = lines if isinstance(lines, tf.data.Dataset) else (
            tf.data.Dataset.from_tensor_slices(tf.constant(list(lines), tf.string))
        )
        vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
            dataset.batch(1024), vocabulary_size, lowercase=lowercase,
            reserved_tokens=list(RESERVED_TOKENS),
        )
        if len(vocabulary) <= len(RESERVED_TOKENS):
            raise InputError("Cannot learn a WordPiece vocabulary: the text has no words")
        return cls(vocabulary=vocabulary, lowercase=lowercase)

    def load_assets(self, dir_path):
        try:
            super().load_assets(dir_path)
        except (ValueError, OSError, UnicodeDecodeError) as e:
            raise InputError(f"WordPiece vocabulary in '{dir_path}' is corrupt: {e}") from None

    def get_config(self):
        config = super().get_config()
        return {"lowercase": config["lowercase"], "vocabulary": None, "name": config["name"]}
