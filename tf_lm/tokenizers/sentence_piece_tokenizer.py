"""SentencePiece subwords: keras-hub's tokenizer and trainer, with tf_lm's interface."""

import keras_hub
import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.tokenizers.tokenizer import Tokenizer


class SentencePieceTokenizer(Tokenizer, keras_hub.tokenizers.SentencePieceTokenizer):
    """keras-hub's `SentencePieceTokenizer`, trained by `compute_sentence_piece_proto`.

    The model proto is saved as `vocabulary.spm`. keras-hub trains with pad=0, unk=1,
    bos=2, eos=3; `end_token_id` is the eos id. SentencePiece's `nmt_nfkc` normalization
    folds runs of whitespace (newlines included) into one space, so a round trip keeps the
    words but not the exact whitespace. Tokenizing runs tensorflow-text's
    `SentencepieceOp`, which stock TF Serving links in.

    Args:
        proto: the serialized model (bytes) or a path to a `.spm` file.

    Example:
    ```python
    tokenizer = SentencePieceTokenizer.from_corpus(lines, vocabulary_size=1000)
    ```
    """

    kind = "sentencepiece"
    asset_file = "vocabulary.spm"

    def __init__(self, proto=None, **kwargs):
        for key in ("dtype", "add_bos", "add_eos", "sequence_length"):
            kwargs.pop(key, None)
        super().__init__(proto=proto, dtype="int32", **kwargs)

    def set_proto(self, proto):
        try:
            super().set_proto(proto)
        except (ValueError, OSError, RuntimeError, tf.errors.OpError) as e:
            raise InputError(
                f"SentencePiece model is unreadable or corrupt: {getattr(e, 'message', e)}"
            ) from None
        if self.proto is not None:
            self._unknown_token_id = 1
            self._end_token_id = 3

    @classmethod
    def from_corpus(cls, lines, vocabulary_size=8000, model_type="unigram", verbose=False):
        """Trains a SentencePiece model with `vocabulary_size` pieces on `lines`.

        `verbose=False` sets SentencePiece's (process-wide) log level to warnings only.
        """
        import sentencepiece

        sentencepiece.set_min_log_level(0 if verbose else 1)
        dataset = lines if isinstance(lines, tf.data.Dataset) else (
            tf.data.Dataset.from_tensor_slices(tf.constant(list(lines), tf.string))
        )
        try:
            proto = keras_hub.tokenizers.compute_sentence_piece_proto(
                dataset, vocabulary_size, model_type=model_type
            )
        except RuntimeError as e:
            raise InputError(
                f"SentencePiece training failed for data.vocab_size={vocabulary_size}: {e}"
            ) from None
        return cls(proto=proto)

    def get_config(self):
        return {"name": self.name, "proto": None}
