"""Labelled texts → batches of right-padded token ids, tokenized inside the graph."""

import tensorflow as tf

from tf_lm.data.pipeline import batched_texts


def encode_texts(texts, tokenizer, preprocessor, length):
    """`{"token_ids", "padding_mask"}` of a 1-D string tensor, in TensorFlow ops.

    Each text is preprocessed (`TextPreprocessor`), tokenized, cut to its first `length`
    tokens and right-padded with id 0 to `length` (one shape for every batch, so one
    compiled step); the mask is true at real tokens. Training, evaluation and the exported
    `classify` signature all encode through this function.
    """
    ids = tokenizer.tokenize(preprocessor(texts))[:, :length]  # ragged (batch, <= length)
    ids = tf.cast(ids, tf.int32)
    token_ids = ids.to_tensor(default_value=0, shape=[None, length])
    padding_mask = tf.ones_like(ids, tf.bool).to_tensor(default_value=False,
                                                        shape=[None, length])
    return {"token_ids": token_ids, "padding_mask": padding_mask}


def classification_dataset(texts, labels, tokenizer, preprocessor, length, batch_size,
                           seed=None, repeat=False, start_step=0):
    """Batches of `(inputs, label)`.

    Args:
        texts, labels: Python strings and int label ids.
        tokenizer, preprocessor: the run's (see `encode_texts`).
        length: tokens per text (`data.block_size`).
        batch_size: texts per batch (global batch under a distribution strategy).
        seed: shuffle with this seed, a new order every epoch (training); None keeps the
            order (evaluation).
        repeat: cycle endlessly, full batches only (training).
        start_step: the first batch (resuming a run): the same seed gives the same stream.
    """
    dataset = batched_texts(tf.data.Dataset.from_tensor_slices(
        (tf.constant(texts, tf.string), tf.constant(labels, tf.int32))), len(texts),
        batch_size, seed, repeat, start_step)

    def encode(batch_texts, batch_labels):
        return encode_texts(batch_texts, tokenizer, preprocessor, length), batch_labels

    return dataset.map(encode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
