"""tf_lm's tokenizer interface, on top of keras-hub's `Tokenizer` layer."""

import itertools
import json
import os

import keras_hub
import numpy as np
import tensorflow as tf
from keras_hub.src.utils.tensor_utils import no_convert_scope

from tf_lm.errors import InputError
from tf_lm.utils.hashing import file_sha256

CONFIG_FILE = "tokenizer.json"
FORMAT_VERSION = 1


class Tokenizer(keras_hub.tokenizers.Tokenizer):
    """The one tokenizer interface of tf_lm.

    It is keras-hub's `Tokenizer` (a Keras layer with `tokenize`, `detokenize`,
    `vocabulary_size`, `get_vocabulary`, `id_to_token`, `token_to_id`) plus what a
    language-model run needs:

    - `from_corpus(lines, ...)`: learn the vocabulary from the training split.
    - `encode(text)` / `decode(ids)`: Python conveniences over the TensorFlow path.
    - `save(directory)` / `tf_lm.tokenizers.load_tokenizer(directory)`: plain-text, JSON or
      proto assets plus a `tokenizer.json` that records the vocabulary's size and sha256,
      so a corrupt or swapped vocabulary file is refused on load.
    - `count_out_of_vocabulary(lines)`: how many tokens of some text the vocabulary lacks.
    - `unknown_token_id` and `end_token_id` (None where the tokenizer has none).

    Tokenization always runs TensorFlow ops, eagerly or in a graph, so the same tokenizer
    runs unchanged in `tf.data` and inside an exported SavedModel. Only core TensorFlow and
    tensorflow-text ops are used (the ones stock TF Serving links in).

    Subclasses set `kind` (the name used in configs) and `asset_file`.
    """

    kind = None
    asset_file = None
    more_asset_files = ()  # further files of the vocabulary (BPE's merges.txt)

    def __init__(self, *args, **kwargs):
        # keras-hub runs eager calls through a pure-Python path by default; tf_lm always
        # runs the TensorFlow path so eager, tf.data and SavedModel give identical ids.
        kwargs["_allow_python_workflow"] = False
        super().__init__(*args, **kwargs)

    # keras-hub converts eager outputs to Python lists; tf_lm keeps TensorFlow tensors
    # (`tf.RaggedTensor` ids, `tf.string` text) eagerly too, as in a graph.
    def tokenize(self, inputs, *args, **kwargs):
        with no_convert_scope():
            return super().tokenize(to_tensor(inputs, tf.string), *args, **kwargs)

    def detokenize(self, inputs, *args, **kwargs):
        with no_convert_scope():
            return super().detokenize(to_tensor(inputs, tf.int32), *args, **kwargs)

    # ---- learning a vocabulary -------------------------------------------------------
    @classmethod
    def from_corpus(cls, lines, **options):
        """Learns a vocabulary from `lines` (an iterable of str or a `tf.data.Dataset`)."""
        raise NotImplementedError(f"{cls.__name__} does not implement from_corpus()")

    # ---- Python conveniences ---------------------------------------------------------
    def encode(self, text):
        """Token ids of one string, as an int32 NumPy array."""
        if not isinstance(text, str):
            raise InputError(f"encode() expects a str. Received: {type(text).__name__}")
        return np.asarray(self.tokenize(tf.constant([text])).flat_values, dtype=np.int32)

    def encode_lines(self, lines, chunk_size=4096):
        """Token ids of many strings (any iterable), concatenated into one int32 array."""
        out = []
        lines = iter(lines)
        while chunk := list(itertools.islice(lines, chunk_size)):
            ids = self.tokenize(tf.constant(chunk))
            out.append(np.asarray(ids.flat_values, dtype=np.int32))
        return np.concatenate(out) if out else np.zeros([0], np.int32)

    def decode(self, ids):
        """The text of a sequence of token ids."""
        ids = np.asarray(ids, dtype=np.int32).reshape([-1])
        size = self.vocabulary_size()
        bad = ids[(ids < 0) | (ids >= size)]
        if bad.size:
            raise InputError(
                f"Token ids must be in [0, {size}) for this {self.kind} tokenizer. "
                f"Received: {int(bad[0])}"
            )
        text = self.detokenize(tf.constant(ids[None, :]))
        return np.asarray(text)[0].decode("utf-8", errors="replace")

    def count_out_of_vocabulary(self, lines):
        """(tokens missing from the vocabulary, all tokens) over `lines`.

        The default counts ids equal to the unknown token; subclasses whose unknown
        token can also be written in the text itself refine this.
        """
        ids = self.encode_lines(lines)
        unknown = getattr(self, "unknown_token_id", None)
        oov = int(np.sum(ids == unknown)) if unknown is not None else 0
        return oov, int(ids.size)

    @property
    def end_token_id(self):
        """Id of the end-of-sequence token, or None."""
        return getattr(self, "_end_token_id", None)

    @property
    def unknown_token_id(self):
        """Id that out-of-vocabulary input maps to, or None (such input is an error)."""
        return getattr(self, "_unknown_token_id", None)

    # ---- saving ----------------------------------------------------------------------
    def asset_config(self):
        """The constructor arguments that are not assets (JSON-serializable)."""
        config = self.get_config()
        for key in ("name", "trainable", "dtype", "config_file", "vocabulary", "proto"):
            config.pop(key, None)
        return config

    def save(self, directory):
        """Writes `tokenizer.json` and the vocabulary asset into `directory` (created)."""
        os.makedirs(directory, exist_ok=True)
        digest, more = None, {}
        if self.asset_file:
            self.save_assets(directory)
            digest = file_sha256(os.path.join(directory, self.asset_file))
            more = {name: file_sha256(os.path.join(directory, name))
                    for name in self.more_asset_files}
        record = {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "config": self.asset_config(),
            "vocabulary_size": int(self.vocabulary_size()),
            "asset_file": self.asset_file,
            "asset_sha256": digest,
        }
        if more:
            record["more_asset_sha256"] = more
        tmp = os.path.join(directory, CONFIG_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, os.path.join(directory, CONFIG_FILE))


def to_tensor(x, dtype):
    """A `tf.Tensor` or `tf.RaggedTensor` of `dtype` from a tensor, array or (nested) list."""
    if isinstance(x, tf.RaggedTensor):
        return x if x.dtype == dtype else tf.cast(x, dtype)
    if isinstance(x, tf.Tensor):
        return x if x.dtype == dtype else tf.cast(x, dtype)
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], (list, tuple)):
        lengths = {len(row) for row in x}
        if len(lengths) > 1:
            return tf.ragged.constant(x, dtype=dtype)
    return tf.convert_to_tensor(x, dtype=dtype)


def on_batch(fn, x, batch_rank):
    """Applies `fn` to a batch; an input of rank `batch_rank - 1` is run as a batch of one.

    Tokenizers work on batches (1-D strings, 2-D ids); this lets them also take one string
    or one id vector and give back one result, as keras-hub's tokenizers do.
    """
    if x.shape.rank == batch_rank - 1:
        return fn(x[tf.newaxis])[0]
    return fn(x)
