"""The one training path: build everything a config describes, then `model.fit`."""

import dataclasses
import math
import os
import shutil
import tempfile

import keras
import tensorflow as tf

from tf_lm.data.corpus import Corpus
from tf_lm.data.pipeline import batches_per_epoch, make_dataset, token_chunks, tokenize_split
from tf_lm.errors import InputError, TrainingError
from tf_lm.evaluation.perplexity import evaluate_tokens
from tf_lm.generation.sample_text import sample_text
from tf_lm.models.builder import build_causal_lm
from tf_lm.tokenizers.registry import build_tokenizer, load_tokenizer
from tf_lm.training import atomic
from tf_lm.training.backup import Backup, restore_backup
from tf_lm.training.best_checkpoint import BestCheckpoint, read_best
from tf_lm.training.non_finite_guard import NonFiniteGuard
from tf_lm.training.optimizers import build_optimizer
from tf_lm.training.recurrent_state_reset import RecurrentStateReset
from tf_lm.training.run_directory import RunDirectory
from tf_lm.training.sliced_step import resolve_batch_slices
from tf_lm.training.step_profiler import StepProfiler
from tf_lm.training.strategy import is_chief, resolve_strategy
from tf_lm.training.tensorboard_logger import TensorBoardLogger


@dataclasses.dataclass
class TrainResult:
    """What a run did: where it is, how far it got, and how good the model is."""

    run_dir: str
    status: str  # "finished", "already_finished" or "stopped_early"
    steps: int
    resumed_from_step: int = 0
    val_loss: float = float("nan")
    val_perplexity: float = float("nan")
    val_bits_per_character: float = None
    sample: str = ""
    model: object = None


class _ValidationEarlyStopping(keras.callbacks.EarlyStopping):
    """`EarlyStopping` on val_loss that ignores the epochs without a validation."""

    def on_epoch_end(self, epoch, logs=None):
        if logs and self.monitor in logs:
            super().on_epoch_end(epoch, logs)


def checkpoint_interval(total_steps, requested):
    """The largest divisor of `total_steps` that is at most `requested` (the Keras epoch)."""
    return max(d for d in range(1, min(requested, total_steps) + 1) if total_steps % d == 0)


def _distribute(strategy, make, global_batch):
    """`make()` → global batches; each input pipeline takes its contiguous rows of each batch.

    The sharding policy, stated: every worker builds the same global batch i (same seed and
    step) and keeps rows [k·B/W, (k+1)·B/W) for worker k; its replicas split those rows in
    order. So the replicas together see exactly the batches a single device would.
    """
    if strategy.num_replicas_in_sync == 1:
        return make()

    def dataset_fn(context):
        per_pipeline = global_batch // context.num_input_pipelines
        start = context.input_pipeline_id * per_pipeline
        rows = make().map(lambda x, y: (x[start:start + per_pipeline],
                                        y[start:start + per_pipeline]))
        per_replica = context.get_per_replica_batch_size(global_batch)
        return rows.unbatch().batch(per_replica, drop_remainder=True)

    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return strategy.distribute_datasets_from_function(dataset_fn, options)


def _local_twin(model):
    """A copy of `model` outside any strategy and without recurrent state variables, for
    sampling, the final evaluation and saving (each process alone, no collectives)."""
    config = model.get_config()
    if "stateful" in config["backbone"]["config"]:
        config["backbone"]["config"].update({"stateful": False, "batch_size": None})
    twin = model.__class__.from_config(config)  # called outside strategy.scope()
    twin.build((None, None))
    twin.compile(jit_compile=model.jit_compile)  # loss and metrics for `evaluate`
    return twin


def _sync_twin(twin, model):
    """Copy `model`'s weights into its twin (a stateful model's state variables aside)."""
    states = set()
    if getattr(model.backbone, "stateful", False):
        states = {id(v) for layer in model.backbone.recurrent_block.recurrent_layers
                  for v in layer.states}
    source = [v for v in model.weights if id(v) not in states]
    if len(source) != len(twin.weights):
        raise RuntimeError(f"cannot copy {len(source)} weights into {len(twin.weights)}")
    for target, value in zip(twin.weights, source):
        target.assign(value)


def _tokenizer(config, corpus, run, chief):
    """The run's saved tokenizer, or a new one saved by the chief. Other workers build their
    own (tokenizers are deterministic) rather than race the chief's writing."""
    if chief and os.path.exists(os.path.join(run.tokenizer_dir, "tokenizer.json")):
        return load_tokenizer(run.tokenizer_dir)
    tokenizer = build_tokenizer(config.data, corpus)
    if chief:
        tokenizer.save(run.tokenizer_dir)
    return tokenizer


def train(config, run_dir="runs/run", resume=False, overwrite=False, verbose=1, echo=print):
    """Train the model `config` describes; returns a `TrainResult`.

    Builds the strategy, the run directory (see `RunDirectory`), the corpus and tokenizer, the
    datasets and the model, compiles it inside `strategy.scope()`, restores the newest backup
    if there is one, runs `model.fit` with the tf_lm callbacks, then evaluates the final model
    on the whole validation split and samples from it.

    Args:
        config: a resolved `Config`.
        run_dir: the run directory.
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
                                  train_config.batch_size // replicas, _stateful(config))
    chief = is_chief(strategy)
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
        return _train(config, strategy, slices, chief, shared, run, verbose, echo)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def _stateful(config):
    """A recurrent model reading contiguous batches carries its state from batch to batch."""
    return config.model.architecture != "gpt" and config.data.sampler == "contiguous"


def _train(config, strategy, slices, chief, shared, run, verbose, echo):
    train_config, data_config = config.train, config.data
    corpus = Corpus.from_config(data_config)
    tokenizer = _tokenizer(config, corpus, shared, chief)
    block, batch = data_config.block_size, train_config.batch_size
    if corpus.streaming:
        train_source = token_chunks(corpus, "train", tokenizer)
        train_tokens = corpus.num_chars("train")  # an estimate for the epoch length
    else:
        train_source = tokenize_split(corpus, "train", tokenizer)
        train_tokens = train_source.size
    data_epoch = batches_per_epoch(train_tokens, block, batch)
    total_steps = (train_config.epochs * data_epoch if train_config.epochs
                   else train_config.steps)
    interval = checkpoint_interval(total_steps, train_config.checkpoint_interval)
    validation_freq = max(1, train_config.eval_interval // interval)
    has_valid = "valid" in corpus.split_names
    if not has_valid:
        echo("warning: no validation split (data.valid_fraction=0 and no valid file): no "
             "validation loss, best checkpoint or early stopping.")

    stateful = _stateful(config)
    if stateful and strategy.num_replicas_in_sync > 1:
        raise InputError("Stateful recurrent training (data.sampler=contiguous) runs on one "
                         f"replica; this strategy has {strategy.num_replicas_in_sync}. Use "
                         "train.strategy=default or data.sampler=random.")
    vocabulary = tokenizer.get_vocabulary() if config.model.word_vectors else None
    with strategy.scope():
        model = build_causal_lm(
            config.model, tokenizer.vocabulary_size(), block,
            dtype=train_config.mixed_precision, stateful=stateful,
            batch_size=batch if stateful else None, vocabulary=vocabulary)
        model.compile(optimizer=build_optimizer(train_config, total_steps, data_epoch),
                      jit_compile=train_config.jit_compile,
                      steps_per_execution=train_config.steps_per_execution,
                      batch_slices=slices)
        restored = restore_backup(model, shared.backup_dir)
    start_step = restored["step"] if restored else 0
    initial_epoch = restored["epoch"] if restored else 0
    if restored and start_step != initial_epoch * interval:
        raise InputError(
            f"The backup in {shared.backup_dir} is at step {start_step}, which is not a multiple "
            f"of this config's checkpoint interval ({interval}); resume with the interval the "
            "run was started with.")
    if restored:
        echo(f"resuming {shared.path} from step {start_step}")
    if getattr(model, "word_vector_coverage", None) is not None:
        echo(str(model.word_vector_coverage))

    def make_train():
        return make_dataset(train_source, block, batch, sampler=data_config.sampler,
                            seed=data_config.seed, shuffle_buffer=data_config.shuffle_buffer,
                            start_step=start_step, repeat=True)

    train_data = _distribute(strategy, make_train, batch)
    valid_data = None
    if has_valid:
        valid_tokens = tokenize_split(corpus, "valid", tokenizer) if not corpus.streaming \
            else token_chunks(corpus, "valid", tokenizer)
        valid_sampler = "random" if not corpus.streaming else "sequential"
        if stateful:
            valid_sampler = "contiguous"

        def make_valid():
            dataset = make_dataset(valid_tokens, block, batch, sampler=valid_sampler,
                                   seed=data_config.seed, repeat=True, drop_remainder=True,
                                   cache=data_config.cache)
            return dataset.repeat() if valid_sampler == "sequential" else dataset

        valid_data = _distribute(strategy, make_valid, batch)

    distributed = strategy.num_replicas_in_sync > 1 or not isinstance(
        strategy, type(tf.distribute.get_strategy()))
    twin = _local_twin(model) if stateful or distributed else model
    per_character = data_config.tokenizer == "char"

    def sample(seed=0):
        if twin is not model:
            _sync_twin(twin, model)
        return sample_text(twin, tokenizer, "\n", train_config.sample_tokens, seed=seed)

    guard = NonFiniteGuard()
    callbacks = [guard, TensorBoardLogger(
        run.logs_dir, batch * block, config, per_character=per_character,
        sample_fn=sample if train_config.sample_tokens and chief else None)]
    callbacks.append(keras.callbacks.CSVLogger(run.csv_path, append=bool(restored)))
    if has_valid:
        callbacks.append(BestCheckpoint(run.checkpoints_dir))
    callbacks.append(Backup(run.backup_dir))
    if has_valid and train_config.early_stopping_patience:
        callbacks.append(_ValidationEarlyStopping(
            monitor="val_loss", patience=train_config.early_stopping_patience))
    if stateful:
        callbacks.append(RecurrentStateReset(data_epoch))
    if train_config.profile_steps and chief:
        callbacks.append(StepProfiler(run.logs_dir, train_config.profile_start,
                                      train_config.profile_steps))

    epochs = total_steps // interval
    echo(f"training {model.count_params():,} parameters for {total_steps} steps "
         f"({epochs} epochs of {interval} steps) on {strategy.num_replicas_in_sync} replica(s)"
         f"{f', each batch in {slices} parallel slices' if slices > 1 else ''}; "
         f"run directory {shared.path}")
    history = None
    if initial_epoch < epochs:
        history = model.fit(
            train_data, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=interval,
            validation_data=valid_data, validation_steps=train_config.eval_steps,
            validation_freq=validation_freq, callbacks=callbacks, verbose=verbose,
            shuffle=False)
    if guard.failed_step is not None:
        best = read_best(run.checkpoints_dir)
        where = (f"the last good checkpoint is {run.checkpoints_dir}/best.weights.h5 (step "
                 f"{best['step']}, val_loss {best['val_loss']:.4f})" if best else
                 "no checkpoint was saved yet")
        raise TrainingError(
            f"The training loss became {guard.failed_loss} at step {guard.failed_step}; "
            f"{where}. Lower train.learning_rate or set train.clip_norm.")
    steps_done = (initial_epoch + len(history.epoch) if history else initial_epoch) * interval
    stopped_early = history is not None and steps_done < total_steps

    result = TrainResult(shared.path, "stopped_early" if stopped_early else "finished",
                         steps_done, resumed_from_step=start_step, model=model)
    if has_valid:
        if twin is not model:
            _sync_twin(twin, model)
        if corpus.streaming:  # too large to hold: Keras over non-overlapping windows
            full = make_dataset(valid_tokens, block, batch, sampler="sequential",
                                cache=data_config.cache)
            result.val_loss = float(twin.evaluate(full, verbose=0, return_dict=True)["loss"])
        else:  # every token once: non-overlapping windows (GPT), carried state (RNNs)
            result.val_loss = evaluate_tokens(twin, valid_tokens, block, stride=block,
                                              batch_size=batch)["loss"]
        result.val_perplexity = float(math.exp(result.val_loss))
        if per_character:
            result.val_bits_per_character = result.val_loss / math.log(2)
    if chief:
        if train_config.sample_tokens:
            try:
                result.sample = sample(seed=train_config.seed)
            except ValueError as e:  # a model that cannot be sampled still finishes its run
                echo(f"warning: no sample: {e}")
        tmp = run.model_path[: -len(".keras")] + ".tmp.keras"
        saved = model
        if stateful:  # without the training states
            _sync_twin(twin, model)
            twin.optimizer.build(twin.trainable_variables)  # saved with a complete state
            saved = twin
        saved.save(tmp)
        os.replace(tmp, run.model_path)
        atomic.write_json(run.finished_path, {
            "steps": steps_done, "val_loss": result.val_loss,
            "val_perplexity": result.val_perplexity,
            "val_bits_per_character": result.val_bits_per_character,
            "status": result.status})
    return result
