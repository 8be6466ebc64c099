import numpy as np
import tensorflow as tf

from tf_lm.data.sentence_pipeline import (count_long_sentences, encode_sentences,
                                          sentence_dataset, sentences)
from tf_lm.tokenizers.word_tokenizer import WordTokenizer

TOKENIZER = WordTokenizer.from_corpus(["the cat sat on the mat", "a dog ran"],
                                      end_token="<eos>")


def test_sentences_are_lines_or_pieces_after_each_period_and_headings_are_left_out():
    lines = [" = Title = \n", "\n", " The cat sat . It ran ! Why ? \n", "a line\n"]
    assert sentences(lines) == ["= Title =", "The cat sat . It ran ! Why ?", "a line"]
    assert sentences(lines, "periods", wikitext=True) == [
        "The cat sat .", "It ran !", "Why ?", "a line"]


def test_each_sentence_is_framed_by_eos_cut_to_length_and_padded():
    end = TOKENIZER.end_token_id
    out = encode_sentences(tf.constant(["the cat sat", "the cat sat on the mat a dog"]),
                           TOKENIZER, 5)
    ids, mask = out["token_ids"].numpy(), out["padding_mask"].numpy()
    word = TOKENIZER.token_to_id
    assert ids.shape == (2, 6)
    assert ids[0].tolist() == [end, word("the"), word("cat"), word("sat"), end, 0]
    assert mask[0].tolist() == [True] * 5 + [False]
    assert ids[1].tolist() == [end, word("the"), word("cat"), word("sat"), word("on"), end]
    assert count_long_sentences(["the cat sat", "the cat sat on the mat a dog"],
                                TOKENIZER, 5) == 1


def test_training_batches_repeat_shuffled_and_resume_at_a_step():
    texts = [f"the cat sat {'on ' * i}" for i in range(10)]
    first = list(sentence_dataset(texts, TOKENIZER, 12, 4, seed=3, repeat=True).take(5))
    resumed = list(sentence_dataset(texts, TOKENIZER, 12, 4, seed=3, repeat=True,
                                    start_step=2).take(3))
    for a, b in zip(first[2:], resumed):
        np.testing.assert_array_equal(a["token_ids"].numpy(), b["token_ids"].numpy())
