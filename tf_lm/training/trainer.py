"""The one training path: build everything a config describes, then `model.fit`."""

import re
import shutil
import tempfile

import keras
import tensorflow as tf

from tf_lm.errors import InputError, PeerLost
from tf_lm.run_dir.checkpoint_files import latest_backups
from tf_lm.run_dir.run_directory import RunDirectory
from tf_lm.training.classifier_session import ClassifierSession
from tf_lm.training.session import Session, stateful_training
from tf_lm.training.sliced_step import resolve_batch_slices
from tf_lm.training.strategy import is_chief, read_tf_config, resolve_strategy
from tf_lm.training.train_result import TrainResult
from tf_lm.training.vae_session import VAESession

SESSIONS = {"causal_lm": Session, "classifier": ClassifierSession, "vae": VAESession}

# What a collective raises when a peer stops answering (TF's coordination service stops
# getting its heartbeats and aborts the collectives of every other task).
_PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
                tf.errors.AbortedError)


def _task_names(text):
    """Sorted TensorFlow task names in `text`, each as /job:J/replica:0/task:N."""
    found = re.findall(r"/job:(\w+)/(?:replica:\d+/)?task:(\d+)", text)
    return sorted({f"/job:{job}/replica:0/task:{index}" for job, index in found})


def _peer_lost(error, shared):
    """The `PeerLost` error for a collective aborted because a worker was lost."""
    message = getattr(error, "message", str(error))
    if "unhealthy" in message:  # the coordination service named the tasks it lost
        tasks = _task_names(message.split("unhealthy", 1)[1])
    else:  # a connection reset: the tasks the error mentions, this one aside
        task = (read_tf_config() or {}).get("task", {})
        own = f"/job:{task.get('type')}/replica:0/task:{task.get('index')}"
        tasks = [name for name in _task_names(message) if name != own]
    backups = latest_backups(shared.backup_dir)
    where = (f"the chief's newest backup (step {backups[0][0]})" if backups
             else "the start (no backup was written yet)")
    return PeerLost(
        f"lost {', '.join(tasks) or 'a worker'} of this multi-worker run "
        f"({type(error).__name__}: it stopped answering); start every worker again with the "
        f"same command to resume from {where}.", tasks)


def train(config, run_dir="runs/run", *, callbacks=(), model=None, resume=False,
          overwrite=False, verbose=1, echo=print):
    """Train the model `config` describes; returns a `TrainResult`.

    Builds the strategy, the run directory (see `RunDirectory`), the corpus and tokenizer, the
    datasets and the model, compiles it inside `strategy.scope()`, restores the newest backup
    if there is one, runs `model.fit` with the tf_lm callbacks and `callbacks`, then evaluates
    the final model on the whole validation split and samples from it.

    Args:
        config: a resolved `Config`.
        run_dir: the run directory.
        callbacks: Keras callbacks of the caller's, run after tf_lm's own.
        model: a model of the caller's instead of the one `config.model` describes: a
            `CausalLM` (any backbone with its decoding interface), or a function
            `(config, tokenizer) -> model`, called inside `strategy.scope()` (needed for a
            strategy with several replicas). It is compiled with the config's optimizer.
        resume: continue a run whose config differs (see `RunDirectory.prepare`).
        overwrite: move an existing run aside and start over.
        verbose: Keras `fit` verbosity (1: progress bar).
        echo: where progress lines go (`print`, or a no-op).
    """
    train_config = config.train
    # First: a multi-worker strategy must configure collectives before any op runs.
    strategy = resolve_strategy(train_config.strategy)
    keras.utils.set_random_seed(train_config.seed)
    if train_config.deterministic:
        tf.config.experimental.enable_op_determinism()
    replicas = strategy.num_replicas_in_sync
    if train_config.batch_size % replicas:
        raise InputError(
            f"train.batch_size={train_config.batch_size} must be divisible by the "
            f"{replicas} replicas of the {type(strategy).__name__}.")
    # Checked before the run directory is touched.
    slices = resolve_batch_slices(train_config.batch_slices,
                                  train_config.batch_size // replicas, stateful_training(config))
    chief = is_chief(strategy)
    session_class = SESSIONS[config.model.task]
    loaded = session_class.load_data(config)  # the data, checked before anything is written
    shared = RunDirectory(run_dir)
    scratch = None
    if chief:
        state = shared.prepare(config, resume=resume, overwrite=overwrite)
        run = shared
    else:  # other workers read the chief's run directory and write to a scratch one
        state = "resume" if shared.stored_config() is not None else "new"
        scratch = tempfile.mkdtemp(prefix="tf_lm-worker-")
        run = RunDirectory(scratch)
    try:
        if state == "finished":
            record = shared.finished()
            echo(f"{shared.path} already holds a finished run (step {record['steps']}, "
                 f"val_loss {record['val_loss']:.4f}); pass --overwrite to train again (the "
                 "old run is moved aside) or choose another --run-dir.")
            return TrainResult(shared.path, "already_finished", record["steps"],
                               val_loss=record["val_loss"])
        session = session_class(config, strategy, slices, chief, shared, run, echo)
        backups = latest_backups(shared.backup_dir)
        try:
            session.data(loaded)
            session.build_model(model)
            session.fit(session.callbacks(callbacks), verbose)
        except InputError:
            if chief and latest_backups(shared.backup_dir) == backups:  # refused: no trace
                shared.undo_prepare()
            raise
        except _PEER_ERRORS as e:
            if not session.multi_worker:
                raise
            raise _peer_lost(e, shared) from None
        return session.finish()
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
