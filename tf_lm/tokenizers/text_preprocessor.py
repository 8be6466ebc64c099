"""Lowercasing and stop-word removal before tokenizing, in TensorFlow ops."""

import json
import os

import tensorflow as tf

from tf_lm.errors import InputError

PREPROCESSING_FILE = "preprocessing.json"


class TextPreprocessor(tf.Module):
    """Text → text, before the tokenizer: lowercase, then drop stop words.

    Runs as TensorFlow ops (`StringLower`, a whitespace split, a hash-table lookup, a join),
    so `tf.data`, evaluation and the exported SavedModel apply exactly the same rule (a
    `tf.Module`: a SavedModel that holds it carries its table). With
    stop words, a text is split on whitespace and rejoined with single spaces (the words are
    compared lowercased); without them, only the case changes.

    Args:
        lowercase: lowercase the text (Unicode, UTF-8).
        stopwords: words to remove (a list), or None.

    Example:
    ```python
    TextPreprocessor(lowercase=True, stopwords=["the", "a"])(tf.constant(["The Film, a joy"]))
    # [b"film, joy"]
    ```
    """

    def __init__(self, lowercase=False, stopwords=None):
        super().__init__(name="text_preprocessor")
        self.lowercase = bool(lowercase)
        self.stopwords = sorted({word.lower() for word in stopwords or ()})
        self._table = None
        if self.stopwords:
            self._table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    tf.constant(self.stopwords), tf.ones([len(self.stopwords)], tf.int32)),
                default_value=0)

    @classmethod
    def from_config(cls, data_config):
        """From `data.lowercase` and `data.stopwords` ("", "english", or a file path)."""
        return cls(data_config.lowercase, stopword_list(data_config.stopwords))

    @property
    def active(self):
        return self.lowercase or bool(self.stopwords)

    def __call__(self, texts):
        """A string tensor of any shape → the same shape, preprocessed."""
        texts = tf.convert_to_tensor(texts, tf.string)
        if self.lowercase:
            texts = tf.strings.lower(texts, encoding="utf-8")
        if not self.stopwords:
            return texts
        words = tf.strings.split(texts)  # ragged, on whitespace
        folded = words if self.lowercase else tf.ragged.map_flat_values(
            tf.strings.lower, words, encoding="utf-8")
        keep = tf.ragged.map_flat_values(self._table.lookup, folded) == 0
        return tf.strings.reduce_join(tf.ragged.boolean_mask(words, keep), axis=-1,
                                      separator=" ")

    def apply(self, lines, chunk_size=4096):
        """Python strings → preprocessed Python strings, through the same TensorFlow ops."""
        lines = list(lines)
        if not self.active:
            return lines
        out = []
        for start in range(0, len(lines), chunk_size):
            done = self(tf.constant(lines[start:start + chunk_size]))
            out += [text.decode("utf-8") for text in done.numpy()]
        return out

    def get_config(self):
        return {"lowercase": self.lowercase, "stopwords": list(self.stopwords)}

    def save(self, directory):
        """Writes `preprocessing.json` into `directory`."""
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, PREPROCESSING_FILE)
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(self.get_config(), handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        os.replace(path + ".tmp", path)

    @classmethod
    def load(cls, directory):
        """The preprocessor saved in `directory`, or one that does nothing if there is none."""
        path = os.path.join(directory, PREPROCESSING_FILE)
        if not os.path.exists(path):
            return cls()
        try:
            with open(path, encoding="utf-8") as handle:
                config = json.load(handle)
            return cls(bool(config["lowercase"]), [str(w) for w in config["stopwords"]])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise InputError(f"Preprocessing file '{path}' is corrupt: {e}") from None


def stopword_list(source):
    """The stop words `data.stopwords` names: "" none; "english" scikit-learn's English list
    (318 words, from the Glasgow Information Retrieval Group); else a UTF-8 file of one word a
    line (blank lines and lines starting with '#' skipped)."""
    if not source:
        return []
    if source == "english":
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return sorted(ENGLISH_STOP_WORDS)
    try:
        with open(source, encoding="utf-8") as handle:
            words = [line.strip() for line in handle]
    except FileNotFoundError:
        raise InputError(f"data.stopwords: no such file '{source}' (expected 'english' or a "
                         "file of one word a line)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"data.stopwords: cannot read '{source}' as UTF-8 text: {e}") from None
    words = [w for w in words if w and not w.startswith("#")]
    if not words:
        raise InputError(f"data.stopwords: '{source}' holds no words")
    return words
