"""Sentences → batches of `<eos> w_1 … w_n <eos>`, right-padded, tokenized inside the graph."""

import re

import tensorflow as tf

from tf_lm.data.pipeline import batched_texts

_SENTENCE_END = re.compile(r"(?<= [.?!]) (?=\S)")  # after a tokenized " ." / " ?" / " !"
_HEADING = re.compile(r"^\s*=( =)* .* =( =)*\s*$")  # WikiText's " = = Title = = "


def sentences(lines, split="lines", wikitext=False):
    """The sentences of `lines` (Python strings): each non-blank line (`split="lines"`), or
    each line cut after every space-separated `.`, `?` or `!` (`split="periods"`, for
    tokenized text such as WikiText's paragraphs). `wikitext` leaves out its `= Title =`
    headings. Surrounding whitespace is stripped."""
    out = []
    for line in lines:
        line = line.strip()
        if not line or (wikitext and _HEADING.match(line)):
            continue
        pieces = _SENTENCE_END.split(line) if split == "periods" else [line]
        out += [piece.strip() for piece in pieces if piece.strip()]
    return out


def encode_sentences(texts, tokenizer, length):
    """`{"token_ids", "padding_mask"}`, `(batch, length + 1)`, of a 1-D string tensor.

    `tokenizer` is a word tokenizer with an end token, which it appends to each text. Each
    sentence becomes `<eos> w_1 … w_n <eos>`: the first `<eos>` is the decoder's start token,
    the last one the end it must predict. A sentence of more than `length - 1` words keeps its
    first `length - 1` and its final `<eos>`. Padding is id 0; the mask is true at real tokens.
    """
    end = tokenizer.end_token_id
    words = tokenizer.tokenize(texts)[:, :-1][:, :length - 1]  # ragged, without the end token
    words = tf.cast(words, tf.int32)
    rows = words.nrows()
    ends = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tf.constant(end, tf.int32)))
    ids = tf.concat([ends, words, ends], axis=1)  # (batch, <= length + 1)
    token_ids = ids.to_tensor(default_value=0, shape=[None, length + 1])
    padding_mask = tf.ones_like(ids, tf.bool).to_tensor(default_value=False,
                                                        shape=[None, length + 1])
    return {"token_ids": token_ids, "padding_mask": padding_mask}


def count_long_sentences(texts, tokenizer, length):
    """How many of `texts` have more than `length - 1` words (they are cut)."""
    counts = tokenizer.tokenize(tf.constant(list(texts), tf.string)).row_lengths() - 1
    return int(tf.reduce_sum(tf.cast(counts > length - 1, tf.int32)))


def sentence_dataset(texts, tokenizer, length, batch_size, seed=None, repeat=False,
                     start_step=0):
    """Batches of encoded sentences (`encode_sentences`), inputs only: a VAE's targets are
    its inputs.

    Args:
        texts: Python strings, one sentence each.
        tokenizer: the run's word tokenizer (with its end token).
        length: tokens a sentence keeps, its end token included (`data.block_size`).
        batch_size: sentences per batch.
        seed: shuffle with this seed, a new order every epoch (training); None keeps the
            order (evaluation).
        repeat: cycle endlessly, full batches only (training).
        start_step: the first batch (resuming a run): the same seed gives the same stream.
    """
    dataset = batched_texts(tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string)),
                            len(texts), batch_size, seed, repeat, start_step)

    def encode(batch_texts):
        return encode_sentences(batch_texts, tokenizer, length)

    return dataset.map(encode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
