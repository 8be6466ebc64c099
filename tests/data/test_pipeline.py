import numpy as np
import pytest
import tensorflow as tf

from tf_lm.config import Config
from tf_lm.data import pipeline
from tf_lm.data.corpus import Corpus
from tf_lm.errors import InputError
from tf_lm.tokenizers import CharTokenizer, build_tokenizer

TOKENS = np.arange(1000, dtype=np.int32) % 97


def _batches(dataset, n):
    return [(x.numpy(), y.numpy()) for x, y in dataset.take(n)]


def _is_window_of(row_x, row_y, tokens):
    """The row is tokens[s:s+T] and the target tokens[s+1:s+T+1] for some s."""
    for s in range(tokens.size - row_x.size):
        if np.array_equal(tokens[s:s + row_x.size], row_x):
            return np.array_equal(tokens[s + 1:s + row_x.size + 1], row_y)
    return False


def test_random_windows_are_shifted_slices():
    tokens = np.random.RandomState(0).randint(0, 50, size=500).astype(np.int32)
    dataset = pipeline.make_dataset(tokens, block_size=16, batch_size=4, seed=3)
    assert dataset.element_spec[0].shape.as_list() == [4, 16]
    for x, y in _batches(dataset, 5):
        assert x.shape == (4, 16) and y.shape == (4, 16) and x.dtype == np.int32
        np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
        assert all(_is_window_of(x[i], y[i], tokens) for i in range(4))


def test_random_sampler_is_deterministic_per_seed():
    a = _batches(pipeline.make_dataset(TOKENS, 8, 4, seed=1), 3)
    b = _batches(pipeline.make_dataset(TOKENS, 8, 4, seed=1), 3)
    c = _batches(pipeline.make_dataset(TOKENS, 8, 4, seed=2), 3)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(a, b))
    assert not all(np.array_equal(p[0], q[0]) for p, q in zip(a, c))


def test_random_sampler_covers_the_last_window():
    tokens = np.arange(10, dtype=np.int32)
    starts = {int(x[0]) for b in _batches(pipeline.make_dataset(tokens, 4, 8, seed=0), 40)
              for x in b[0]}
    assert starts == set(range(0, 6))  # every start 0..n-block-1, never past the end


def test_contiguous_rows_continue_across_batches():
    block, batch = 5, 3
    dataset = pipeline.make_dataset(TOKENS, block, batch, sampler="contiguous")
    batches = _batches(dataset, 100)
    row_len = (TOKENS.size - 1) // batch
    assert len(batches) == row_len // block
    for (x0, y0), (x1, _) in zip(batches, batches[1:]):
        np.testing.assert_array_equal(y0[:, -1], x1[:, 0])  # row r goes on in batch i+1
        np.testing.assert_array_equal(x0[:, 1:], y0[:, :-1])
    stream = np.concatenate([b[0][1] for b in batches])  # row 1 across the epoch
    np.testing.assert_array_equal(stream, TOKENS[row_len: row_len + stream.size])


def test_sequential_windows_cover_every_target_once():
    dataset = pipeline.make_dataset(TOKENS, 7, 4, sampler="sequential")
    ys = np.concatenate([y.reshape(-1) for _, y in _batches(dataset, 1000)])
    count = (TOKENS.size - 1) // 7
    np.testing.assert_array_equal(ys, TOKENS[1: count * 7 + 1])


def test_corpus_smaller_than_a_batch_still_batches():
    tokens = np.arange(12, dtype=np.int32)
    x, y = _batches(pipeline.make_dataset(tokens, 8, 16, seed=0), 1)[0]
    assert x.shape == (16, 8)
    cx, cy = _batches(pipeline.make_dataset(tokens, 8, 16, sampler="contiguous"), 1)[0]
    assert cx.shape == (16, 8)
    np.testing.assert_array_equal(cx[:, 1:], cy[:, :-1])
    sx, _ = _batches(pipeline.make_dataset(tokens, 8, 16, sampler="sequential"), 1)[0]
    assert sx.shape == (1, 8)


def test_corpus_shorter_than_one_window_is_refused():
    with pytest.raises(InputError, match="Split 'train' has 8 tokens, shorter than one window"):
        pipeline.make_dataset(np.arange(8, dtype=np.int32), 8, 2)


def test_streamed_windows_equal_in_memory_windows(text_file):
    memory = Corpus.load(str(text_file))
    stream = Corpus.load(str(text_file), in_memory_max_mb=0)
    tokenizer = CharTokenizer.from_corpus(memory.lines("train"))
    tokens = pipeline.tokenize_split(memory, "train", tokenizer)
    streamed = np.concatenate(
        [c for c in pipeline.token_chunks(stream, "train", tokenizer).as_numpy_iterator()])
    n = streamed.size  # the stream splits at a line boundary, memory at a character
    np.testing.assert_array_equal(streamed, tokens[:n])
    windows = list(pipeline.streamed_windows(
        pipeline.token_chunks(stream, "train", tokenizer), 16).as_numpy_iterator())
    for k, window in enumerate(windows):
        np.testing.assert_array_equal(window, tokens[15 + 16 * k: 15 + 16 * k + 17])
    x, y = next(iter(pipeline.make_dataset(pipeline.token_chunks(stream, "train", tokenizer),
                                           16, 4, seed=0, shuffle_buffer=8)))
    assert x.shape == (4, 16)
    np.testing.assert_array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
    with pytest.raises(InputError, match="contiguous sampler needs the split in memory"):
        pipeline.make_dataset(pipeline.token_chunks(stream, "train", tokenizer), 16, 4,
                              sampler="contiguous")


def test_pipeline_runs_under_a_distribution_strategy():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    dataset = pipeline.make_dataset(TOKENS, 8, 4, seed=0)
    dist = strategy.experimental_distribute_dataset(dataset)
    x, y = next(iter(dist))
    assert tuple(x.shape) == (4, 8)
    np.testing.assert_array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])


def test_build_datasets_from_config(wikitext_dir):
    config = Config.resolve(overrides=[f"data.corpus={wikitext_dir}", "data.format=wikitext",
                                       "data.tokenizer=word", "data.block_size=4"])
    corpus = Corpus.from_config(config.data)
    tokenizer = build_tokenizer(config.data, corpus)
    datasets = pipeline.build_datasets(config.data, corpus, tokenizer, batch_size=2)
    assert set(datasets) == {"train", "valid", "test"}
    x, y = next(iter(datasets["train"]))
    assert x.shape == (2, 4)
    vx, vy = next(iter(datasets["valid"]))
    valid_ids = tokenizer.encode_lines(corpus.lines("valid"))
    np.testing.assert_array_equal(vx.numpy()[0], valid_ids[:4])
    np.testing.assert_array_equal(vy.numpy()[0], valid_ids[1:5])
