"""`tf-lm bench train` for a recurrent config: tf_lm's LSTM language model against the classic
Keras example's `Sequential` and against PyTorch's `nn.LSTM`, on the same batches."""

import itertools

from tf_lm.benchmarks.measure import peak_rss_mb
from tf_lm.benchmarks.peer_models import keras_lstm_lm
from tf_lm.benchmarks.torch_peer import torch_available, torch_lstm_tokens_per_s
from tf_lm.benchmarks.train_benchmark import fit_speed


def bench_train_recurrent(workload, steps=50, repeats=3):
    """Training tokens/s of `steps` batches, the median of `repeats` timed epochs after one
    warm-up, for tf_lm's model, `keras_lstm_lm` and (when PyTorch is importable) the PyTorch
    peer, each with SGD at the config's rate and clip.

    Returns `tf_lm_tokens_per_s`, `keras_lstm_tokens_per_s`, `keras_ratio` (tf_lm / Keras),
    `pytorch_tokens_per_s` and `pytorch_ratio` (None, with `pytorch_note`, without PyTorch),
    `pytorch_threads`, `vocabulary_size`, `peak_rss_mb`.
    """
    import keras

    from tf_lm.optimizers import build_optimizer

    config = workload.config
    train, block = config.train, config.data.block_size
    tokens_per_step = train.batch_size * block
    total = steps * (1 + repeats)

    def optimizer():
        return build_optimizer(train, total, steps)

    ours, _ = fit_speed(workload.model(), workload.dataset(), optimizer(), steps, repeats,
                        tokens_per_step, train.jit_compile, train.steps_per_execution)
    keras_model = keras_lstm_lm(config.model, workload.vocabulary_size)
    theirs, _ = fit_speed(keras_model, workload.dataset(), optimizer(), steps, repeats,
                          tokens_per_step, train.jit_compile, train.steps_per_execution,
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    result = {
        "tf_lm_tokens_per_s": ours,
        "keras_lstm_tokens_per_s": theirs,
        "keras_ratio": ours / theirs,
        "pytorch_tokens_per_s": None,
        "pytorch_ratio": None,
        "pytorch_threads": None,
        "vocabulary_size": workload.vocabulary_size,
        "tf_lm_parameters": workload.model().count_params(),
    }
    if torch_available():
        batches = [(x.numpy(), y.numpy())
                   for x, y in itertools.islice(workload.dataset(), steps)]
        torch_rate, threads = torch_lstm_tokens_per_s(
            config.model, workload.vocabulary_size, batches, train.learning_rate,
            train.clip_norm, repeats)
        result.update(pytorch_tokens_per_s=torch_rate, pytorch_ratio=ours / torch_rate,
                      pytorch_threads=threads)
    else:
        result["pytorch_note"] = "PyTorch is not installed (not a tf_lm dependency): skipped"
    result.update(peak_rss_mb=peak_rss_mb(), steps=steps, repeats=repeats)
    return result
