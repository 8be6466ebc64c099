"""Tokenizers: one interface (keras-hub's `Tokenizer` plus tf_lm's), all in-graph."""

from tf_lm.tokenizers.byte_pair_tokenizer import BytePairTokenizer
from tf_lm.tokenizers.byte_tokenizer import ByteTokenizer
from tf_lm.tokenizers.char_tokenizer import CharTokenizer
from tf_lm.tokenizers.registry import TOKENIZERS, build_tokenizer, load_tokenizer
from tf_lm.tokenizers.sentence_piece_tokenizer import SentencePieceTokenizer
from tf_lm.tokenizers.tokenizer import Tokenizer
from tf_lm.tokenizers.vocabulary_tokenizer import VocabularyTokenizer
from tf_lm.tokenizers.word_piece_tokenizer import WordPieceTokenizer
from tf_lm.tokenizers.word_tokenizer import WordTokenizer

__all__ = ["Tokenizer", "VocabularyTokenizer", "CharTokenizer", "ByteTokenizer", "WordTokenizer",
           "WordPieceTokenizer", "SentencePieceTokenizer", "BytePairTokenizer",
           "TOKENIZERS", "build_tokenizer",
           "load_tokenizer"]
