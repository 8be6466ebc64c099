"""A train step that computes each batch's gradient over slices of it, then applies it once.

A Transformer's training step is one chain of ops: each matmul waits for the one before, and
with small matrices XLA on a CPU keeps one core busy however many there are. Slicing the batch
gives XLA independent chains (the forward and backward pass of each slice) that its executor
runs on different cores at once (docs/performance.md has the measurements).

The update is the whole batch's. With a loss that is a mean over the batch (Keras' default
`sum_over_batch_size` reduction; other reductions are refused), the batch's loss is the mean
of the slices' losses weighted by their sizes, and so is its gradient: each slice's gradient
is scaled by its share of the rows and the slices' gradients are added. An embedding's
`IndexedSlices` gradient is made dense first, as tf_lm's optimizers do anyway
(`tf_lm.optimizers`: Keras' Adam applied to `IndexedSlices` squares each looked-up
row separately, so its update would depend on how the batch is split). Slices differ by at
most one row, so any batch size works. Dropout draws differ, as they would with another seed.
"""

import functools

import keras
import tensorflow as tf

from tf_lm.errors import InputError
from tf_lm.utils.checks import check_positive_int


def _added(total, gradient, weight):
    """`total + weight · gradient`, dense (`None` stays `None`: Keras skips such variables)."""
    if gradient is None:
        return total
    gradient = tf.convert_to_tensor(gradient) * weight
    return gradient if total is None else total + gradient


def slice_batches(model, slices):
    """Make `model.fit` compute each step's gradient over `slices` slices of the batch.

    Call after `model.compile`; it replaces the model's `train_step` on this instance (1 keeps
    Keras' own). Refused for a loss that is not a mean over the batch, whose slices would not
    add up to the batch's loss.
    """
    check_positive_int("slices", slices)
    reduction = getattr(model.loss, "reduction", "sum_over_batch_size")
    if slices > 1 and reduction != "sum_over_batch_size":
        raise ValueError(
            "Batch slices need a loss that is a mean over the batch (reduction "
            f"'sum_over_batch_size'). Received: slices={slices}, reduction={reduction!r}")
    if slices > 1:
        model.train_step = functools.partial(sliced_train_step, model, slices=slices)
    return model


def sliced_train_step(model, data, slices):
    """Keras' TensorFlow `train_step`, with the gradient summed over `slices` slices."""
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    rows = tf.shape(tf.nest.flatten(x)[0])[0]  # x may be a dict (a classifier's inputs)
    sizes = tf.stack([(rows + slices - 1 - i) // slices for i in range(slices)])  # sum = rows
    parts = [_split(t, sizes, slices) for t in (x, y, sample_weight)]
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    weights = model.trainable_weights
    gradients, predictions = [None] * len(weights), []
    for x_slice, y_slice, weight_slice in zip(*parts):
        slice_rows = tf.shape(tf.nest.flatten(x_slice)[0])[0]
        share = tf.cast(slice_rows, tf.float32) / tf.cast(rows, tf.float32)
        with tf.GradientTape() as tape:
            y_pred = model(x_slice, training=True)
            loss = model.compute_loss(x=x_slice, y=y_slice, y_pred=y_pred,
                                      sample_weight=weight_slice, training=True)
            # Keras logs `loss` from this tracker, which no public API updates; the unscaled
            # mean, as Keras' own step logs it.
            model._loss_tracker.update_state(loss * replicas,
                                             sample_weight=slice_rows)
            loss = model.optimizer.scale_loss(loss)
        grads = tape.gradient(loss, weights)
        gradients = [_added(total, g, tf.cast(share, w.dtype))
                     for total, g, w in zip(gradients, grads, weights)]
        predictions.append(y_pred)
    model.optimizer.apply_gradients(zip(gradients, weights))
    joined = tf.nest.map_structure(lambda *parts: tf.concat(parts, axis=0), *predictions)
    return model.compute_metrics(x, y, joined, sample_weight=sample_weight)


def _split(structure, sizes, slices):
    """`slices` slices of a tensor or a nest of them (None: `slices` Nones)."""
    if structure is None:
        return [None] * slices
    pieces = [tf.split(t, sizes, num=slices) for t in tf.nest.flatten(structure)]
    return [tf.nest.pack_sequence_as(structure, [p[i] for p in pieces]) for i in range(slices)]


def resolve_batch_slices(requested, per_replica_batch, stateful):
    """`train.batch_slices` for this machine: 0 (auto) is 2 on a machine without GPUs or TPUs
    when the per-replica batch is even and the model carries no state across batches, else 1.
    An explicit value must divide the per-replica batch."""
    if requested == 0:
        accelerated = (tf.config.list_physical_devices("GPU")
                       or tf.config.list_physical_devices("TPU"))
        return 2 if not accelerated and not stateful and per_replica_batch % 2 == 0 else 1
    if requested > 1 and stateful:
        raise InputError("Config key 'train.batch_slices' must be 1 (or 0) for a stateful "
                         "recurrent model, whose state rows follow the batch rows. Received: "
                         f"{requested}")
    if per_replica_batch % requested:
        raise InputError(
            "Config key 'train.batch_slices' must divide the batch of each replica. Received: "
            f"batch_slices={requested}, batch per replica={per_replica_batch}")
    return requested
