"""Byte-level BPE (GPT-2's tokenizer): keras-hub's graph tokenizer, trained by `tokenizers`."""

import json
import os
import tempfile

import keras_hub

from tf_lm.errors import InputError
from tf_lm.tokenizers.tokenizer import Tokenizer

END_OF_TEXT = "<|endoftext|>"
VOCABULARY_FILE = "vocab.json"
MERGES_FILE = "merges.txt"


class BytePairTokenizer(Tokenizer, keras_hub.tokenizers.BytePairTokenizer):
    """GPT-2's byte-level BPE: every byte has a token, so any UTF-8 text round-trips exactly.

    Tokenizing is keras-hub's `BytePairTokenizer` on its TensorFlow path (tensorflow-text's
    regex split, lookup tables and a merge loop: ops stock TF Serving links in), so the
    exported model carries it. The files are Hugging Face's: `vocab.json` (token -> id) and
    `merges.txt`, so a GPT-2 checkpoint's own files load unchanged. `<|endoftext|>` is the
    end of text and is never split when it appears in the text.

    keras-hub has no BPE trainer; `from_corpus` uses the `tokenizers` library's byte-level
    trainer, GPT-2's pre-tokenization included, and hands its files to keras-hub.

    Args:
        vocabulary: dict token -> id, or a path to `vocab.json`.
        merges: list of "a b" merge rules, or a path to `merges.txt`.

    Example:
    ```python
    tokenizer = BytePairTokenizer.from_corpus(lines, vocabulary_size=1000)
    tokenizer.decode(tokenizer.encode("naïve café")) == "naïve café"
    ```
    """

    kind = "bpe"
    asset_file = VOCABULARY_FILE
    more_asset_files = (MERGES_FILE,)

    def __init__(self, vocabulary=None, merges=None, **kwargs):
        for key in ("dtype", "sequence_length", "add_prefix_space", "unsplittable_tokens"):
            kwargs.pop(key, None)
        try:  # read here: keras-hub refuses file paths in Keras' safe mode
            if isinstance(vocabulary, str):
                with open(vocabulary, encoding="utf-8") as f:
                    vocabulary = json.load(f)
            if isinstance(merges, str):
                merges = _read_merges(merges)
        except (OSError, ValueError) as e:
            raise InputError(f"BPE files are unreadable or corrupt: {e}") from None
        if vocabulary is not None:
            _check_files(vocabulary, merges)
        super().__init__(vocabulary=vocabulary, merges=merges, dtype="int32",
                         unsplittable_tokens=[END_OF_TEXT], **kwargs)

    def set_vocabulary_and_merges(self, vocabulary, merges):
        try:
            super().set_vocabulary_and_merges(vocabulary, merges)
        except (ValueError, OSError, KeyError, TypeError) as e:
            raise InputError(f"BPE vocabulary or merges are unreadable or corrupt: {e}") \
                from None
        if vocabulary is not None:
            self._end_token_id = int(self.vocabulary[END_OF_TEXT])

    @classmethod
    def from_corpus(cls, lines, vocabulary_size=8000, min_frequency=2):
        """Trains a byte-level BPE of at most `vocabulary_size` tokens (the 256 bytes and
        `<|endoftext|>` included) on `lines` with the `tokenizers` library."""
        import tokenizers

        if vocabulary_size < 257:
            raise InputError(
                "data.vocab_size must be at least 257 for the bpe tokenizer (256 bytes and "
                f"{END_OF_TEXT}). Received: {vocabulary_size}")
        trainer = tokenizers.ByteLevelBPETokenizer()
        trainer.train_from_iterator(
            iter(lines), vocab_size=vocabulary_size, min_frequency=min_frequency,
            special_tokens=[END_OF_TEXT], show_progress=False)
        with tempfile.TemporaryDirectory() as directory:
            trainer.save_model(directory)
            with open(os.path.join(directory, VOCABULARY_FILE), encoding="utf-8") as f:
                vocabulary = json.load(f)
            merges = _read_merges(os.path.join(directory, MERGES_FILE))
        return cls(vocabulary=vocabulary, merges=merges)

    def save_assets(self, dir_path):
        with open(os.path.join(dir_path, VOCABULARY_FILE), "w", encoding="utf-8") as f:
            json.dump(dict(self.vocabulary), f, ensure_ascii=False)
        with open(os.path.join(dir_path, MERGES_FILE), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            f.writelines(f"{merge}\n" for merge in self.merges)

    def load_assets(self, dir_path):
        self.__init__(os.path.join(dir_path, VOCABULARY_FILE),
                      os.path.join(dir_path, MERGES_FILE), name=self.name)

    def get_config(self):
        return {"name": self.name, "vocabulary": None, "merges": None}


def _check_files(vocabulary, merges):
    if not isinstance(vocabulary, dict) or not all(
            isinstance(k, str) and isinstance(v, int) for k, v in vocabulary.items()):
        raise InputError("BPE vocabulary must map token strings to integer ids")
    if END_OF_TEXT not in vocabulary:
        raise InputError(f"BPE vocabulary has no '{END_OF_TEXT}' token; GPT-2's files and "
                         "tf_lm's trained ones both have it")
    if sorted(vocabulary.values()) != list(range(len(vocabulary))):
        raise InputError("BPE vocabulary ids must be 0..N-1 with no gaps or repeats")
    if merges is None or not list(merges):
        raise InputError("BPE merges are empty: a byte-level BPE needs at least one merge rule")


def _read_merges(path):
    """The merge rules of a `merges.txt` (its `#version` header and blank lines skipped)."""
    with open(path, encoding="utf-8") as f:
        rules = [line.rstrip("\n") for line in f]
    rules = [rule for rule in rules if rule and not rule.startswith("#version")]
    bad = next((rule for rule in rules if len(rule.split(" ")) != 2), None)
    if bad is not None:
        raise ValueError(f"'{path}': a merge rule must be two tokens separated by one space. "
                         f"Received: {bad!r}")
    return rules
