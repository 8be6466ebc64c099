"""How a prompt becomes token ids, and new ids become the returned text: TensorFlow ops.

`TextGenerator` runs these functions eagerly and the exported `ServingModule` traces them, so
`tf-lm generate` and a served request cannot disagree on a prompt or on a continuation.

Prompt conventions:
- an empty prompt starts from the tokenizer's end-of-text token when it has one (`<eos>`: byte
  tokenizer, word tokenizer in WikiText mode), else from a newline (char), else from the
  unknown token (a plain word tokenizer);
- a prompt is continued, not ended: the end-of-text token a WikiText-mode tokenizer appends is
  dropped, unless the prompt itself ends with a newline.
"""

import tensorflow as tf

from tf_lm.errors import InputError

NO_START = ("this tokenizer has no end-of-text, newline or unknown token to start an empty "
            "prompt from")


def start_ids(tokenizer):
    """The ids an empty prompt starts from: a list, empty when the tokenizer has none."""
    if tokenizer.end_token_id is not None:
        return [int(tokenizer.end_token_id)]
    try:
        newline = [int(i) for i in tokenizer.encode("\n")]
    except InputError:  # a character vocabulary without "\n" and without an unknown token
        newline = []
    if newline:
        return newline
    unknown = tokenizer.unknown_token_id
    return [int(unknown)] if unknown is not None else []


def prompt_ids(tokenizer, prompts, start):
    """The token ids of each prompt: `(batch, None)` int32, ragged.

    Args:
        tokenizer: a `tf_lm.tokenizers.Tokenizer`.
        prompts: `(batch,)` strings.
        start: `start_ids(tokenizer)`, the ids of a prompt without tokens (a row stays empty
            when it is empty).
    """
    ids = tf.cast(tokenizer.tokenize(prompts), tf.int32)
    end = tokenizer.end_token_id
    if end is not None:
        lengths = ids.row_lengths()
        padded = tf.concat([ids.flat_values, [-1]], axis=0)  # an empty row reads -1
        last = tf.gather(padded, tf.where(lengths > 0, ids.row_limits() - 1,
                                          tf.size(ids.flat_values, tf.int64)))
        ended = ((lengths > 0) & (last == end)
                 & ~tf.strings.regex_full_match(prompts, "(?s).*\n"))
        ids = tf.ragged.boolean_mask(ids, ~(ended[:, None] & _is_last(ids)))
    if not start:
        return ids
    return _ragged_where(ids.row_lengths() == 0, start_rows(start, tf.shape(prompts)[0]), ids)


def start_rows(start, batch):
    """`start` repeated for `batch` rows: `(batch, len(start))` int32, ragged (what an empty
    prompt becomes, and what a scored text is read after)."""
    return tf.RaggedTensor.from_tensor(tf.tile(tf.constant([start], tf.int32), [batch, 1]))


def continuation_text(tokenizer, prompt_ids, new_ids):
    """The text of `new_ids` as it continues each prompt: `(batch,)` valid UTF-8 strings.

    The new ids are decoded after the prompt's and the prompt's text is cut off, so a word
    tokenizer puts the space between prompt and continuation; a row whose joint text does not
    start with the prompt's is decoded alone. A byte model may stop inside a character: what
    is not UTF-8 becomes U+FFFD.

    Args:
        prompt_ids, new_ids: `(batch, None)` int32, ragged.
    """
    head = _detokenize(tokenizer, prompt_ids)
    full = _detokenize(tokenizer, tf.concat([prompt_ids, new_ids], axis=1))
    alone = _detokenize(tokenizer, new_ids)
    head_length = tf.strings.length(head)
    continues = tf.strings.substr(full, tf.zeros_like(head_length), head_length) == head
    rest = tf.strings.substr(full, head_length, tf.strings.length(full) - head_length)
    text = tf.where(continues & (new_ids.row_lengths() > 0), rest, alone)
    return tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace",
                                        replacement_char=0xFFFD)


def _detokenize(tokenizer, ids):
    return tf.reshape(tokenizer.detokenize(ids), [-1])


def _is_last(ids):
    """A ragged bool, True at the last token of each row."""
    positions = tf.ragged.range(ids.row_lengths())
    return positions == tf.expand_dims(ids.row_lengths() - 1, 1)


def _ragged_where(condition, when_true, when_false):
    """Row i of `when_true` where `condition[i]`, else row i of `when_false` (ragged rows)."""
    rows = tf.range(tf.shape(condition)[0])
    chosen = tf.where(condition, rows + tf.shape(condition)[0], rows)
    return tf.gather(tf.concat([when_false, when_true], axis=0), chosen)
