"""Make Keras 3 `fit` work under `MultiWorkerMirroredStrategy` (keras #20585, tensorflow #72388).

Two bugs in `keras/src/backend/tensorflow/trainer.py` (seen on keras 3.15.1 / TF 2.21):

1. `TensorFlowTrainer._maybe_symbolic_build` builds the model from the first batch by
   calling `strategy.reduce("MEAN", batch, axis=None)` on the whole `(x, y)` tuple of
   PerReplica values. Under a multi-worker strategy that reduce is a collective op over a
   nested structure of (integer) tensors and fails. The build only needs shapes and dtypes,
   so we hand it the first local replica's batch instead.
2. `reduce_per_replica` reduces every log value with `strategy.reduce("MEAN", v, axis=0)`
   under a multi-worker strategy; the logs are scalars, which have no axis 0. We reduce
   scalars with `axis=None` and leave everything else to Keras.

`apply()` patches each function only if its source still contains the faulty call, so it is a
no-op on a Keras release that has fixed them, and it is idempotent. Nothing else changes: the
patched functions delegate to the originals.
"""

import inspect
import re

import tensorflow as tf

_SYMBOLIC_BUILD_BUG = re.compile(r'reduce\(\s*"MEAN",\s*maybe_distributed_data_batch')
_REDUCE_BUG = re.compile(r'strategy\.reduce\("MEAN", v, axis=0\)')
_applied = {}


def _source(function):
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def needed():
    """Which of the two fixes this Keras still needs: a set of "symbolic_build", "reduce"."""
    from keras.src.backend.tensorflow import trainer

    found = set()
    if _SYMBOLIC_BUILD_BUG.search(_source(trainer.TensorFlowTrainer._maybe_symbolic_build)):
        found.add("symbolic_build")
    if _REDUCE_BUG.search(_source(trainer.reduce_per_replica)):
        found.add("reduce")
    return found


def apply():
    """Patch what `needed()` reports; returns the set of fixes now in place."""
    from keras.src.backend.tensorflow import trainer

    todo = needed() - set(_applied)
    if "symbolic_build" in todo:
        original = trainer.TensorFlowTrainer._maybe_symbolic_build

        def _maybe_symbolic_build(self, iterator=None, data_batch=None):
            strategy = self._distribute_strategy
            if iterator is not None and in_multi_worker_mode(strategy):
                for _, _, it in iterator:
                    batch = next(it)
                    data_batch = tf.nest.map_structure(
                        lambda v: strategy.experimental_local_results(v)[0]
                        if isinstance(v, tf.distribute.DistributedValues) else v, batch)
                    break
                iterator = None
            return original(self, iterator=iterator, data_batch=data_batch)

        trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
        _applied["symbolic_build"] = original
    if "reduce" in todo:
        original_reduce = trainer.reduce_per_replica

        def reduce_per_replica(values, strategy, reduction):
            if not in_multi_worker_mode(strategy) or reduction not in ("auto", "mean"):
                return original_reduce(values, strategy, reduction)

            def reduce(v):
                if isinstance(v, tf.distribute.DistributedValues) or tf.is_tensor(v):
                    rank = _rank(v, strategy)
                    return strategy.reduce("MEAN", v, axis=0 if rank else None)
                return v

            return tf.nest.map_structure(reduce, values)

        trainer.reduce_per_replica = reduce_per_replica
        _applied["reduce"] = original_reduce
    return set(_applied)


def in_multi_worker_mode(strategy):
    """True for a MultiWorkerMirroredStrategy that spans several worker processes."""
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def _rank(value, strategy):
    if isinstance(value, tf.distribute.DistributedValues):
        value = strategy.experimental_local_results(value)[0]
    return value.shape.rank
