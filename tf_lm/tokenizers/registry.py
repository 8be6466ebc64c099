"""Builds a tokenizer from a config and a corpus, and loads a saved one."""

import json
import os

from tf_lm.errors import InputError
from tf_lm.tokenizers.byte_pair_tokenizer import BytePairTokenizer
from tf_lm.tokenizers.byte_tokenizer import ByteTokenizer
from tf_lm.tokenizers.char_tokenizer import REPLACEMENT_CHARACTER, CharTokenizer
from tf_lm.tokenizers.sentence_piece_tokenizer import SentencePieceTokenizer
from tf_lm.tokenizers.tokenizer import CONFIG_FILE, FORMAT_VERSION
from tf_lm.utils.hashing import file_sha256
from tf_lm.tokenizers.word_piece_tokenizer import WordPieceTokenizer
from tf_lm.tokenizers.word_tokenizer import WordTokenizer

TOKENIZERS = {
    cls.kind: cls
    for cls in (CharTokenizer, ByteTokenizer, WordTokenizer, WordPieceTokenizer,
                SentencePieceTokenizer, BytePairTokenizer)
}


def build_tokenizer(data_config, corpus, end_token=None):
    """Learns the tokenizer that `data_config` names from `corpus`'s training split.

    `end_token`: the end-of-text word a word tokenizer appends to each text (a sentence VAE's
    `<eos>`); the WikiText format always has `<eos>`.

    Character vocabularies get an unknown token (U+FFFD) only when the held-out splits
    have characters the training split lacks, so Tiny Shakespeare keeps nanoGPT's
    65-character vocabulary while other corpora still encode every split.
    """
    kind = data_config.tokenizer
    if kind not in TOKENIZERS:
        raise InputError(
            f"Unknown tokenizer '{kind}'. Valid tokenizers: {', '.join(TOKENIZERS)}"
        )
    train = corpus.lines("train")
    if kind == "char":
        tokenizer = CharTokenizer.from_corpus(train, errors=data_config.encoding_errors)
        known = set(tokenizer.get_vocabulary())
        unseen = any(
            ch not in known
            for split in corpus.split_names if split != "train"
            for line in corpus.lines(split) for ch in line
        )
        if unseen:
            tokenizer = CharTokenizer(
                vocabulary=tokenizer.get_vocabulary(), unknown_token=REPLACEMENT_CHARACTER,
                errors=data_config.encoding_errors,
            )
        return tokenizer
    if kind == "byte":
        return ByteTokenizer()
    if kind == "word":
        return WordTokenizer.from_corpus(
            train, min_freq=data_config.min_freq, max_size=data_config.max_vocab_size,
            end_token="<eos>" if data_config.format == "wikitext" else end_token,
        )
    if kind == "bpe":
        return BytePairTokenizer.from_corpus(train, vocabulary_size=data_config.vocab_size)
    if kind == "wordpiece":
        return WordPieceTokenizer.from_corpus(train, vocabulary_size=data_config.vocab_size)
    return SentencePieceTokenizer.from_corpus(
        train, vocabulary_size=data_config.vocab_size, model_type=data_config.sentencepiece_model
    )


def _check_asset(directory, name, expected, config_path):
    asset_path = os.path.join(directory, name)
    if not os.path.isfile(asset_path):
        raise InputError(f"Vocabulary file '{asset_path}' is missing")
    digest = file_sha256(asset_path)
    if digest != expected:
        raise InputError(
            f"Vocabulary file '{asset_path}' does not match '{config_path}' (sha256 "
            f"{digest[:12]}… expected {str(expected)[:12]}…): it is corrupt or from another run")


def load_tokenizer(directory, expected_vocabulary_size=None):
    """Loads a tokenizer written by `Tokenizer.save(directory)`.

    Args:
        directory: the folder holding `tokenizer.json` and the vocabulary asset.
        expected_vocabulary_size: if given (a model's vocabulary size), a tokenizer of
            another size is refused.

    Raises:
        InputError: missing or corrupt files, a vocabulary whose sha256 differs from the
            one recorded at save time, or a size mismatch.
    """
    path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isfile(path):
        raise InputError(f"No tokenizer in '{directory}': '{CONFIG_FILE}' is missing")
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
        kind, config = record["kind"], record["config"]
        version = record["format_version"]
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"Tokenizer file '{path}' is corrupt: {e}") from None
    asset = record.get("asset_file")
    if not isinstance(kind, str) or not isinstance(config, dict) or not (
            asset is None or isinstance(asset, str)):
        raise InputError(
            f"Tokenizer file '{path}' is corrupt: 'kind' and 'asset_file' must be strings and "
            "'config' a mapping"
        )
    if version != FORMAT_VERSION:
        raise InputError(
            f"Tokenizer file '{path}' has format_version {version}; expected {FORMAT_VERSION}"
        )
    if kind not in TOKENIZERS:
        raise InputError(f"Tokenizer file '{path}' names an unknown tokenizer kind: {kind!r}")
    cls = TOKENIZERS[kind]
    if asset:
        expected = {asset: record.get("asset_sha256")}
        more = record.get("more_asset_sha256") or {}
        expected.update(more if isinstance(more, dict) else {})
        for name in (asset,) + tuple(cls.more_asset_files):
            _check_asset(directory, name, expected.get(name), path)
    try:
        tokenizer = cls(**config)
        if asset:
            tokenizer.load_assets(directory)
    except (TypeError, ValueError) as e:  # InputError is a ValueError too
        message = str(e) if isinstance(e, InputError) else f"invalid config: {e}"
        raise InputError(f"Tokenizer in '{directory}': {message}") from None
    size = tokenizer.vocabulary_size()
    if size != record.get("vocabulary_size"):
        raise InputError(
            f"Tokenizer in '{directory}' has {size} entries but '{CONFIG_FILE}' records "
            f"{record.get('vocabulary_size')}"
        )
    if expected_vocabulary_size is not None and size != expected_vocabulary_size:
        raise InputError(
            f"Tokenizer in '{directory}' has a vocabulary of {size}, but the model expects "
            f"{expected_vocabulary_size}"
        )
    return tokenizer
