"""One training session: the corpus, datasets, model, callbacks, `model.fit`, the final files."""

import contextlib
import math
import os

import keras
import tensorflow as tf

from tf_lm.data.corpus import Corpus
from tf_lm.data.pipeline import (batches_per_epoch, check_length, make_dataset, token_chunks,
                                 tokenize_split)
from tf_lm.errors import InputError, TrainingError
from tf_lm.evaluation.perplexity import evaluate_tokens
from tf_lm.generation.sample_text import sample_text
from tf_lm.models import lora_adapters
from tf_lm.models.builder import build_causal_lm
from tf_lm.optimizers import build_optimizer
from tf_lm.pretrained.init_from import open_source, source_config_mismatch
from tf_lm.run_dir.checkpoint_files import latest_backups, load_weights_or_refuse
from tf_lm.tokenizers.registry import build_tokenizer, load_tokenizer
from tf_lm.training import fine_tuning, multi_worker_fix
from tf_lm.training.backup import Backup, restore_backup
from tf_lm.training.best_checkpoint import BestCheckpoint, describe_best, read_best
from tf_lm.training.carried_state_validation import CarriedStateValidation
from tf_lm.training.non_finite_guard import NonFiniteGuard
from tf_lm.training.plateau_decay import PlateauDecay
from tf_lm.training.preemption import PreemptionBackup
from tf_lm.training.recurrent_state_reset import RecurrentStateReset
from tf_lm.training.resumable_state import ResumableState
from tf_lm.training.sliced_step import slice_batches
from tf_lm.training.step_clock import StepClock
from tf_lm.training.step_profiler import StepProfiler
from tf_lm.training.tensorboard_logger import TensorBoardLogger
from tf_lm.training.training_log import TrainingLog
from tf_lm.training.train_result import TrainResult
from tf_lm.utils import atomic


class _ValidationEarlyStopping(ResumableState, keras.callbacks.EarlyStopping):
    """`EarlyStopping` on `train.monitor` that ignores the epochs without a validation and
    keeps its best and patience count across a resume."""

    resumable = ("wait", "best", "best_epoch")

    def on_epoch_end(self, epoch, logs=None):
        if logs and self.monitor in logs:
            super().on_epoch_end(epoch, logs)


def checkpoint_interval(total_steps, requested):
    """The largest divisor of `total_steps` that is at most `requested` (the Keras epoch)."""
    return max(d for d in range(1, min(requested, total_steps) + 1) if total_steps % d == 0)


def distribute(strategy, make, global_batch):
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

        def take(*batch):  # (x, y), or a VAE's inputs alone
            rows = tf.nest.map_structure(lambda t: t[start:start + per_pipeline], batch)
            return rows if len(rows) > 1 else rows[0]

        rows = make().map(take)
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
    state_variables = getattr(model.backbone, "state_variables", lambda: [])()
    states = {id(v) for v in state_variables}
    source = [v for v in lora_adapters.plain_weights(model) if id(v) not in states]
    if len(source) != len(twin.weights):
        raise RuntimeError(f"cannot copy {len(source)} weights into {len(twin.weights)}")
    for target, value in zip(twin.weights, source):
        target.assign(value)


def tokenizer_for_run(config, corpus, run, chief):
    """The run's saved tokenizer, or a new one saved by the chief. Other workers build their
    own (tokenizers are deterministic) rather than race the chief's writing."""
    if chief and os.path.exists(os.path.join(run.tokenizer_dir, "tokenizer.json")):
        return load_tokenizer(run.tokenizer_dir)
    if config.train.init_from:  # a fine-tune keeps the tokenizer of the run it starts from
        tokenizer = load_tokenizer(open_source(config.train.init_from).tokenizer_dir)
    else:
        tokenizer = build_tokenizer(config.data, corpus,
                                    end_token="<eos>" if config.model.task == "vae" else None)
    if chief:
        tokenizer.save(run.tokenizer_dir)
    return tokenizer


def describe_layer_groups(groups, optimizer, total_steps):
    """One line: each layer group's rate factor and the step it joins training."""
    parts = []
    for g, (name, _) in enumerate(groups):
        joins = g * optimizer.unfreeze_steps
        when = (f" from step {joins}" if 0 < joins < total_steps
                else f" (never trains: it would join at step {joins})" if joins else "")
        parts.append(f"{name} x{optimizer.layer_lr_decay ** g:.3g}{when}")
    return "layer groups, top first: " + ", ".join(parts)


def stateful_training(config):
    """A recurrent model reading contiguous batches carries its state from batch to batch."""
    return config.model.architecture != "gpt" and config.data.sampler == "contiguous"


class Session:
    """One call of `train` for a language model, in its named steps: data, model, callbacks,
    fit, finish. `ClassifierSession` changes the data, the model and the final evaluation."""

    def __init__(self, config, strategy, slices, chief, shared, run, echo):
        self.config, self.strategy, self.slices, self.chief = config, strategy, slices, chief
        self.shared, self.run, self.echo = shared, run, echo
        self.stateful = stateful_training(config)
        self.multi_worker = multi_worker_fix.in_multi_worker_mode(strategy)
        self.per_character = config.data.tokenizer == "char"
        self.history = None
        self.samples_text = True  # a language model shows samples in TensorBoard
        self.validation_steps = config.train.eval_steps  # None: the whole validation set

    @staticmethod
    def load_data(config):
        """The corpus, read before the run directory is touched: a missing or unreadable
        corpus leaves nothing written."""
        return Corpus.from_config(config.data)

    def data(self, corpus=None):
        """The corpus, the tokenizer, the schedule in steps, and the distributed datasets."""
        config, echo = self.config, self.echo
        data_config, train_config = config.data, config.train
        self.corpus = corpus = corpus or Corpus.from_config(data_config)
        self.tokenizer = tokenizer_for_run(config, corpus, self.shared, self.chief)
        block, batch = data_config.block_size, train_config.batch_size
        if corpus.streaming:
            self.train_source = token_chunks(corpus, "train", self.tokenizer)
            train_tokens = corpus.num_chars("train")  # an estimate for the epoch length
        else:
            self.train_source = tokenize_split(corpus, "train", self.tokenizer)
            train_tokens = self.train_source.size
            check_length(train_tokens, block, "train", corpus.source_of("train"))
        self._schedule(batches_per_epoch(train_tokens, block, batch))
        self.has_valid = "valid" in corpus.split_names
        if not self.has_valid:
            echo("warning: no validation split (data.valid_fraction=0 and no valid file): no "
                 "validation loss, best checkpoint or early stopping.")
        if self.stateful and self.strategy.num_replicas_in_sync > 1:
            raise InputError(
                "Stateful recurrent training (data.sampler=contiguous) runs on one replica; "
                f"this strategy has {self.strategy.num_replicas_in_sync}. Use "
                "train.strategy=default or data.sampler=random.")
        self.valid_tokens = None
        if self.has_valid:
            self.valid_tokens = (token_chunks(corpus, "valid", self.tokenizer)
                                 if corpus.streaming
                                 else tokenize_split(corpus, "valid", self.tokenizer))
            if not corpus.streaming:
                check_length(self.valid_tokens.size, block, "valid", corpus.source_of("valid"))

    def _schedule(self, data_epoch):
        """Steps in all, the Keras epoch (checkpoint interval) and the validation frequency."""
        train_config = self.config.train
        self.data_epoch = data_epoch
        self.total_steps = (train_config.epochs * data_epoch if train_config.epochs
                            else train_config.steps)
        if train_config.eval_interval == 0:  # validate (and back up) after every epoch
            self.interval, self.validation_freq = data_epoch, 1
        else:
            self.interval = checkpoint_interval(self.total_steps,
                                                train_config.checkpoint_interval)
            self.validation_freq = max(1, train_config.eval_interval // self.interval)
        per_execution = train_config.steps_per_execution
        if self.interval % per_execution:
            raise InputError(
                f"train.steps_per_execution={per_execution} must divide the checkpoint "
                f"interval ({self.interval} steps): Keras runs whole executions, so each "
                "interval would train more steps than its backup records.")

    def new_model(self):
        """The model `config.model` describes, built (called inside the strategy's scope)."""
        config, batch = self.config, self.config.train.batch_size
        vocabulary = self.tokenizer.get_vocabulary() if config.model.word_vectors else None
        return build_causal_lm(
            config.model, self.tokenizer.vocabulary_size(), config.data.block_size,
            dtype=config.train.mixed_precision, stateful=self.stateful,
            batch_size=batch if self.stateful else None, vocabulary=vocabulary)

    def build_model(self, model=None):
        """The model under the strategy, compiled, with the newest backup restored."""
        config, train_config = self.config, self.config.train
        with self.strategy.scope():
            if model is None:
                model = self.new_model()
            elif not isinstance(model, keras.Model):
                model = model(config, self.tokenizer)
            elif self.strategy.num_replicas_in_sync > 1:
                raise InputError(
                    "A model built outside strategy.scope() cannot train on "
                    f"{self.strategy.num_replicas_in_sync} replicas: pass a function "
                    "(config, tokenizer) -> model instead, which train() calls in the scope.")
            self._check_model(model)
            self.start_from_source(model)
            if type(model).train_step is not keras.Model.train_step and self.slices > 1:
                if train_config.batch_slices:  # explicit
                    raise InputError(
                        "train.batch_slices > 1 replaces train_step, and this model overrides "
                        f"its own. Received: batch_slices={train_config.batch_slices}")
                self.slices = 1  # auto: the model's own train_step wins
            optimizer = build_optimizer(train_config, self.total_steps, self.data_epoch)
            if train_config.layer_lr_decay != 1.0 or train_config.unfreeze_epochs:
                groups = fine_tuning.layer_groups(model)
                optimizer.set_layer_groups([variables for _, variables in groups])
                self.echo(describe_layer_groups(groups, optimizer, self.total_steps))
            model.compile(
                optimizer=optimizer,
                jit_compile=train_config.jit_compile,
                steps_per_execution=train_config.steps_per_execution)
            slice_batches(model, self.slices)
            restored = restore_backup(model, self.shared.backup_dir, echo=self.echo,
                                      set_aside=self.chief)
        self.model = model
        self.restored = restored
        self.start_step = restored["step"] if restored else 0
        if self.start_step > self.total_steps:
            raise InputError(
                f"The backup {restored['path']} is at step {self.start_step}, beyond this "
                f"config's {self.total_steps} steps; raise train.steps (or train.epochs).")
        self.clock = StepClock(self.interval, self.start_step)
        self.initial_epoch = self.clock.first_epoch
        if restored:
            self.echo(f"resuming {self.shared.path} from step {self.start_step}")
        elif self.initialized_from:
            self.echo(f"starting from the weights of {self.initialized_from}")
        if getattr(model, "word_vector_coverage", None) is not None:
            self.echo(str(model.word_vector_coverage))

    def start_from_source(self, model):
        """`train.init_from`'s weights, then the frozen layers and LoRA adapters."""
        train_config = self.config.train
        self.initialized_from = None
        if train_config.init_from:
            mismatch = source_config_mismatch(self.config)
            if mismatch:
                raise InputError(f"train.init_from={train_config.init_from} fixes the model and "
                                 f"tokenizer; this config differs at {mismatch}")
            if not latest_backups(self.shared.backup_dir):  # else the backup's weights win
                _, _, source = open_source(train_config.init_from).load()
                fine_tuning.copy_weights(model, source)
                self.initialized_from = train_config.init_from
        fine_tuning.freeze(model, train_config.freeze_embeddings, train_config.freeze_blocks)
        if train_config.lora_rank:
            fine_tuning.enable_lora(model, train_config.lora_rank, train_config.lora_alpha or None,
                                    train_config.lora_feed_forward)

    def _check_model(self, model):
        """A caller's model must predict this tokenizer's vocabulary and carry state exactly
        when the config's sampler does."""
        size = getattr(model, "vocabulary_size", None)
        if size is not None and size != self.tokenizer.vocabulary_size():
            raise InputError(
                f"The model predicts {size} token ids but the tokenizer of this run has "
                f"{self.tokenizer.vocabulary_size()}.")
        stateful = bool(getattr(getattr(model, "backbone", None), "stateful", False))
        if stateful != self.stateful:
            raise InputError(
                f"The model is {'' if stateful else 'not '}stateful but this config's "
                f"data.sampler={self.config.data.sampler!r} "
                f"{'needs' if self.stateful else 'does not allow'} a stateful recurrent model.")

    def datasets(self, start_step):
        """(train, validation) distributed datasets, the training batches from `start_step`."""
        data_config, batch = self.config.data, self.config.train.batch_size
        block = data_config.block_size

        def make_train():
            return make_dataset(self.train_source, block, batch, sampler=data_config.sampler,
                                seed=data_config.seed, shuffle_buffer=data_config.shuffle_buffer,
                                start_step=start_step, repeat=True)

        train_data = distribute(self.strategy, make_train, batch)
        if not self.has_valid or self.stateful:  # stateful: CarriedStateValidation
            return train_data, None
        valid_sampler = "sequential" if self.corpus.streaming else "random"

        def make_valid():
            dataset = make_dataset(self.valid_tokens, block, batch, sampler=valid_sampler,
                                   seed=data_config.seed, repeat=True, drop_remainder=True,
                                   cache=data_config.cache)
            return dataset.repeat() if valid_sampler == "sequential" else dataset

        return train_data, distribute(self.strategy, make_valid, batch)

    def _synced_twin(self):
        """The model to sample and evaluate with: the local twin, holding the current weights."""
        if self.twin is not self.model:
            _sync_twin(self.twin, self.model)
        return self.twin

    def sample(self, seed=0):
        """A few tokens of text from the current weights (the TensorBoard sample)."""
        return sample_text(self._synced_twin(), self.tokenizer, "\n",
                           self.config.train.sample_tokens, seed=seed)

    def callbacks(self, extra=()):
        """tf_lm's callbacks (guard, TensorBoard, CSV, best checkpoint, early stopping,
        backup, preemption, recurrent states, profiler), then the caller's `extra`."""
        config, train_config, run, clock = self.config, self.config.train, self.run, self.clock
        batch, block = train_config.batch_size, config.data.block_size
        resumed = (self.restored or {}).get("callbacks", {})
        self.guard = NonFiniteGuard(clock)
        sampling = train_config.sample_tokens and self.chief and self.samples_text
        callbacks, carried = [], {}
        if self.stateful and self.has_valid:  # first: the others read its val_loss
            callbacks.append(CarriedStateValidation(
                self.valid_tokens, config.data.block_size, self._synced_twin,
                self.validation_freq, self.total_steps // self.interval - 1))
        if train_config.lr_schedule == "plateau":
            carried["plateau"] = PlateauDecay(train_config.decay_factor,
                                              state=resumed.get("plateau"))
            callbacks.append(carried["plateau"])
        callbacks += [self.guard, TensorBoardLogger(
            run.logs_dir, batch * block, config, per_character=self.per_character,
            sample_fn=self.sample if sampling else None, clock=clock)]
        callbacks.append(TrainingLog(run.csv_path, append=bool(self.restored)))
        if self.has_valid:
            callbacks.append(BestCheckpoint(run.checkpoints_dir, train_config.monitor, clock))
        if self.has_valid and train_config.early_stopping_patience:
            carried["early_stopping"] = _ValidationEarlyStopping(
                monitor=train_config.monitor, patience=train_config.early_stopping_patience,
                mode="min" if train_config.monitor == "val_loss" else "max",
                state=resumed.get("early_stopping"))
            callbacks.append(carried["early_stopping"])
        backup = Backup(run.backup_dir, clock, carried=carried)  # after the carried ones
        callbacks.append(backup)
        callbacks.append(PreemptionBackup(backup, clock,
                                          strategy=self.strategy if self.multi_worker else None))
        if self.stateful:
            callbacks.append(RecurrentStateReset(self.data_epoch, clock))
        if train_config.profile_steps and self.chief:
            callbacks.append(StepProfiler(run.logs_dir, train_config.profile_start,
                                          train_config.profile_steps))
        return callbacks + list(extra)

    def fit(self, callbacks, verbose):
        """`model.fit` from the restored epoch to the last; a non-finite loss is an error."""
        interval = self.interval
        epochs = self.total_steps // interval
        trainable, total = fine_tuning.parameter_counts(self.model)
        self.echo(
            f"training {trainable:,} of {total:,} parameters for {self.total_steps} steps "
            f"({epochs} epochs of {interval} steps) on {self.strategy.num_replicas_in_sync} "
            f"replica(s)"
            f"{f', each batch in {self.slices} parallel slices' if self.slices > 1 else ''}; "
            f"run directory {self.shared.path}")
        distributed = self.strategy.num_replicas_in_sync > 1 or not isinstance(
            self.strategy, type(tf.distribute.get_strategy()))
        self.twin = _local_twin(self.model) if self.stateful or distributed else self.model
        self.epochs_done = 0
        first, offset = self.clock.first_epoch, self.clock.offset
        if offset:  # resumed mid-interval (a preemption): the rest of it as a shorter epoch
            self._fit(first, first + 1, interval - offset, self.start_step, callbacks, verbose)
            first += 1
            for callback in callbacks:  # the second fit continues the same log
                if isinstance(callback, TrainingLog):
                    callback.append = True
        if first < epochs and not self.model.stop_training and self.guard.failed_step is None:
            self._fit(first, epochs, interval, first * interval, callbacks, verbose)
        if self.guard.failed_step is not None:
            best = read_best(self.run.checkpoints_dir)
            where = (f"the last good checkpoint is {self.run.checkpoints_dir}/best.weights.h5 "
                     f"({describe_best(best)})" if best else
                     "no checkpoint was saved yet")
            raise TrainingError(
                f"The training loss became {self.guard.failed_loss} at step "
                f"{self.guard.failed_step}; {where}. Lower train.learning_rate or set "
                "train.clip_norm.")

    def _fit(self, initial_epoch, epochs, steps, start_step, callbacks, verbose):
        """One `model.fit` over Keras epochs [initial_epoch, epochs) of `steps` steps each."""
        train_data, valid_data = self.datasets(start_step)
        try:
            self.history = self.model.fit(
                train_data, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
                validation_data=valid_data, validation_steps=self.validation_steps,
                validation_freq=self.validation_freq, callbacks=callbacks, verbose=verbose,
                shuffle=False)
        except BaseException:  # close the logs, put the signal handler back, then re-raise
            for callback in callbacks:
                with contextlib.suppress(Exception):  # the error that ended training wins
                    callback.on_train_end()
            raise
        self.epochs_done += len(self.history.epoch)

    def finish(self):
        """Evaluate on the whole validation split, sample, save `model.keras` and
        `finished.json` (the chief)."""
        train_config, model, run = self.config.train, self.model, self.run
        steps_done = (self.initial_epoch + self.epochs_done) * self.interval
        stopped_early = self.epochs_done > 0 and steps_done < self.total_steps
        result = TrainResult(self.shared.path, "stopped_early" if stopped_early else "finished",
                             steps_done, resumed_from_step=self.start_step, model=model)
        best = read_best(self.shared.checkpoints_dir)
        if train_config.restore_best and best is not None:
            load_weights_or_refuse(model, os.path.join(self.shared.checkpoints_dir,
                                                       "best.weights.h5"))
            self.echo(f"restored the best validation weights ({describe_best(best)})")
        if self.has_valid:
            self.final_validation(result)
        if not self.chief:
            return result
        if train_config.sample_tokens and self.samples_text:
            try:
                result.sample = self.sample(seed=train_config.seed)
            except ValueError as e:  # a model that cannot be sampled still finishes its run
                self.echo(f"warning: no sample: {e}")
        tmp = run.model_path[: -len(".keras")] + ".tmp.keras"
        saved = model
        if self.stateful:  # without the training states
            _sync_twin(self.twin, model)
            self.twin.optimizer.build(self.twin.trainable_variables)  # a complete state
            saved = self.twin
        saved.save(tmp)  # LoRA adapters merged into the kernels: an ordinary model
        os.replace(tmp, run.model_path)
        if lora_adapters.adapted_layers(model):
            adapters = os.path.join(run.path, lora_adapters.ADAPTERS_FILE)
            size = lora_adapters.save_adapters(model, adapters)
            self.echo(f"LoRA adapters alone: {adapters} "
                      f"({size / 1e6:.2f} MB)")
        atomic.write_json(run.finished_path, {"steps": steps_done, "status": result.status,
                                              **self.finished_figures(result)})
        return result

    def final_validation(self, result):
        """Fills `result` from one pass over the whole validation split."""
        result.val_loss = self._validation_loss()
        result.val_perplexity = float(math.exp(min(result.val_loss, 700.0)))
        if self.per_character:
            result.val_bits_per_character = result.val_loss / math.log(2)

    def finished_figures(self, result):
        """The validation figures `finished.json` records."""
        return {"val_loss": result.val_loss, "val_perplexity": result.val_perplexity,
                "val_bits_per_character": result.val_bits_per_character}

    def _validation_loss(self):
        """Every validation token once: non-overlapping windows (GPT), carried state (RNNs);
        a streamed corpus, too large to hold, through Keras over non-overlapping windows."""
        data_config, batch = self.config.data, self.config.train.batch_size
        block = data_config.block_size
        twin = self._synced_twin()
        if self.corpus.streaming:
            full = make_dataset(self.valid_tokens, block, batch, sampler="sequential",
                                cache=data_config.cache)
            return float(twin.evaluate(full, verbose=0, return_dict=True)["loss"])
        return evaluate_tokens(twin, self.valid_tokens, block, stride=block,
                               batch_size=batch)["loss"]
