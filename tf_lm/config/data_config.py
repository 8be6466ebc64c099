"""The `data` section: corpus, tokenizer and input pipeline."""

import dataclasses
from typing import Optional

from tf_lm.config.fields import option

TOKENIZERS = ("char", "byte", "word", "wordpiece", "sentencepiece", "bpe")
FORMATS = ("text", "wikitext")
SAMPLERS = ("random", "contiguous")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the text comes from, how it becomes token ids, and how ids become batches."""

    # A bundled corpus name (`tinyshakespeare`), a file, a directory, a glob, or several of
    # these separated by commas.
    corpus: str = option(
        "tinyshakespeare",
        "bundled corpus name, file, directory or glob (comma-separated for several)",
    )
    # `text`: raw text. `wikitext`: tokenized WikiText/PTB, one sentence a line, `<unk>`
    # already present; the word tokenizer adds `<eos>` at every line end.
    format: str = option("text", "corpus format: text or wikitext (PTB style)", choices=FORMATS)
    # Fraction of the corpus held out for validation when it has no separate split files.
    valid_fraction: float = option(
        0.1, "validation fraction when the corpus has no valid file", minimum=0.0, maximum=0.5
    )
    # Fraction held out for test (taken from the end) when it has no separate split files.
    test_fraction: float = option(
        0.0, "test fraction when the corpus has no test file", minimum=0.0, maximum=0.5
    )
    # `strict` refuses invalid UTF-8 (naming file and byte offset); `replace` substitutes U+FFFD.
    encoding_errors: str = option(
        "strict", "invalid UTF-8 handling: strict or replace", choices=("strict", "replace")
    )
    # Corpora bigger than this are streamed from disk instead of read into memory (0: always
    # stream). Streaming splits fractional corpora at line boundaries.
    in_memory_max_mb: float = option(
        512.0, "corpora above this size (MB) are streamed from disk; 0 always streams", minimum=0.0
    )
    tokenizer: str = option("char", "tokenizer kind", choices=TOKENIZERS)
    # Target vocabulary size for the trained subword tokenizers (wordpiece, sentencepiece, bpe).
    vocab_size: int = option(
        8000, "vocabulary size for wordpiece/sentencepiece/bpe training", minimum=8
    )
    # Word tokenizer: words seen fewer times than this in the training split become `<unk>`.
    min_freq: int = option(1, "word tokenizer: minimum training-split frequency", minimum=1)
    # Word tokenizer: keep at most this many entries (special tokens included); null: all.
    max_vocab_size: Optional[int] = option(
        None, "word tokenizer: largest vocabulary (specials included)", minimum=2
    )
    # SentencePiece model type.
    sentencepiece_model: str = option(
        "unigram", "sentencepiece model type", choices=("unigram", "bpe", "word", "char")
    )
    # Tokens of context the model sees; windows hold block_size + 1 tokens.
    block_size: int = option(64, "context length in tokens", minimum=1)
    # `random`: windows at random offsets (nanoGPT, Transformers). `contiguous`: each batch
    # row continues the same row of the previous batch (stateful RNN training, Zaremba).
    sampler: str = option("random", "training window sampler", choices=SAMPLERS)
    # Seed of the window sampler and of the shuffle buffer; the same seed gives the same batches.
    seed: int = option(1337, "seed of the input pipeline", minimum=0)
    # Streaming corpora: windows are shuffled through a buffer of this many windows.
    shuffle_buffer: int = option(10000, "shuffle buffer (windows) when streaming", minimum=1)
    # Cache the evaluation windows of streamed corpora in memory after the first pass.
    cache: bool = option(True, "cache evaluation windows of streamed corpora in memory")
    # Classifier runs: lowercase the text and/or remove stop words ("english": scikit-learn's
    # English list; or a file of one word a line) before tokenizing, inside the graph, so
    # training, evaluation and serving agree.
    lowercase: bool = option(False, "classifier: lowercase the text before tokenizing")
    # Classifier runs: k-fold cross-validation. The labelled data is dealt into `folds`
    # stratified folds (a seeded shuffle of each class); fold `fold` is the test split, the
    # validation split is `valid_fraction` of the others. One run a fold; 0: no folds.
    folds: int = option(0, "classifier: cross-validation folds (0: none)", minimum=0)
    fold: int = option(0, "classifier: the fold that is the test split (0 .. folds-1)",
                       minimum=0)
    # Classifier tables: `csv` reads quoted fields as CSV does (a field may hold the delimiter
    # or a newline; a text that begins with `"` loses its quote marks); `none` takes every
    # character literally (GLUE's TSVs).
    quoting: str = option("csv", "classifier tables: csv quoting or none (all literal)",
                          choices=("csv", "none"))
    stopwords: str = option("", "classifier: stop words to remove: 'english' or a file")
    # VAE runs: a sentence is each non-blank line (`lines`), or each piece of a line cut after
    # a space-separated `.`, `?` or `!` (`periods`: tokenized paragraphs such as WikiText's).
    sentences: str = option("lines", "vae: what a sentence is", choices=("lines", "periods"))
