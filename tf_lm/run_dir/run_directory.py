"""The directory of one training run and the rules for reusing it."""

import json
import os
import shutil
import time

from tf_lm.config import Config
from tf_lm.errors import InputError
from tf_lm.models import (build_causal_lm, build_sentence_vae, build_text_classifier,
                          load_model)
from tf_lm.models.lora_adapters import with_adapters_merged
from tf_lm.optimizers import build_optimizer
from tf_lm.run_dir.checkpoint_files import latest_backups, load_weights_or_refuse
from tf_lm.tokenizers import load_tokenizer
from tf_lm.tokenizers.text_preprocessor import TextPreprocessor


class RunDirectory:
    """Where a run keeps its files, and whether an existing directory may be reused.

    Layout:
        config.json         the resolved config
        tokenizer/          the tokenizer (built once, reused on resume)
        checkpoints/        best.weights.h5 + best.json (lowest validation loss)
        backup/step-N/      the newest resumable backup (kept at the end: --resume with more
                            steps extends a finished run)
        logs/train, logs/validation   TensorBoard event files
        training_log.csv    Keras CSVLogger, one row per checkpoint interval
        model.keras         the final model (Keras format, reloads with safe_mode=True)
        labels.json         a classifier's label names, in label order
        finished.json       written last: steps done and final validation figures

    Args:
        path: the directory.
    """

    def __init__(self, path):
        self.path = os.path.abspath(str(path))
        self.config_path = os.path.join(self.path, "config.json")
        self.tokenizer_dir = os.path.join(self.path, "tokenizer")
        self.checkpoints_dir = os.path.join(self.path, "checkpoints")
        self.backup_dir = os.path.join(self.path, "backup")
        self.logs_dir = os.path.join(self.path, "logs")
        self.csv_path = os.path.join(self.path, "training_log.csv")
        self.model_path = os.path.join(self.path, "model.keras")
        self.finished_path = os.path.join(self.path, "finished.json")
        self.labels_path = os.path.join(self.path, "labels.json")
        self._undo = []  # what `prepare` changed, newest first

    def stored_config(self):
        """The config this directory was created with, or None."""
        if not os.path.exists(self.config_path):
            return None
        return Config.from_file(self.config_path)

    def finished(self):
        """The `finished.json` record, or None while the run is not complete."""
        if not os.path.exists(self.finished_path):
            return None
        with open(self.finished_path, encoding="utf-8") as handle:
            return json.load(handle)

    def load(self, adapters=None):
        """(config, tokenizer, model) of this run, for generation, evaluation and export.

        The model is the final `model.keras` when the run finished, else the best checkpoint,
        else the newest backup (an interrupted run). A directory with none of them is refused.

        Args:
            adapters: a LoRA adapters file fine-tuned from this run (`adapters.safetensors`),
                merged into the returned model's kernels.
        """
        config = self.require_config()
        tokenizer = load_tokenizer(self.tokenizer_dir)
        model = self._model(config, tokenizer)
        if adapters:
            if not os.path.isfile(adapters):
                raise InputError(f"LoRA adapters file not found: '{adapters}'")
            model = with_adapters_merged(model, adapters)
        return config, tokenizer, model

    def preprocessor(self):
        """The `TextPreprocessor` a classifier run applies before its tokenizer (one that
        does nothing for a language model)."""
        return TextPreprocessor.load(self.tokenizer_dir)

    def label_names(self):
        """A classifier run's label names."""
        try:
            with open(self.labels_path, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError) as e:
            raise InputError(f"Classifier run {self.path}: cannot read labels.json: {e}") \
                from None

    def _model(self, config, tokenizer):
        if os.path.exists(self.model_path):
            return load_model(self.model_path, compile=False)
        weights = os.path.join(self.checkpoints_dir, "best.weights.h5")
        if not os.path.exists(weights):
            backups = latest_backups(self.backup_dir)
            if not backups:
                raise InputError(f"Run directory {self.path} has no model yet: no model.keras, "
                                 "no checkpoints/best.weights.h5 and no backup/.")
            weights = os.path.join(backups[0][1], "model.weights.h5")
        if config.model.task == "classifier":
            model = build_text_classifier(config.model, tokenizer.vocabulary_size(),
                                          config.data.block_size, self.label_names(),
                                          unknown_id=tokenizer.unknown_token_id)
        elif config.model.task == "vae":
            model = build_sentence_vae(config.model, config.train, tokenizer.vocabulary_size(),
                                       tokenizer.unknown_token_id)
        else:
            model = build_causal_lm(config.model, tokenizer.vocabulary_size(),
                                    config.data.block_size)
        _load_training_weights(model, config, weights)
        return model

    def require_config(self):
        """The stored config; a missing directory or one that is not a run is refused."""
        if not os.path.isdir(self.path):
            raise InputError(f"Run directory not found: {self.path}")
        config = self.stored_config()
        if config is None or not os.path.isdir(self.tokenizer_dir):
            raise InputError(f"{self.path} is not a tf-lm run directory (no config.json or "
                             "tokenizer/); train one with `tf-lm train --run-dir DIR`.")
        return config

    def prepare(self, config, resume=False, overwrite=False):
        """Make the directory ready for `config`; returns "new", "resume" or "finished".

        - missing or empty: created ("new");
        - `overwrite`: an existing directory is renamed to `PATH.old-TIMESTAMP` (never deleted)
          and a new one created;
        - same config: "finished" if the run completed, else "resume";
        - different config: refused, unless `resume` and only training options changed (the
          new config is used, the old one kept as `config.previous.json`, and training goes on
          from the newest backup — also after a finished run, to extend it);
        - a non-empty directory that is not a run directory: refused.

        `undo_prepare()` puts back what this call changed, for a start refused later.
        """
        self._undo = []
        if os.path.isdir(self.path) and os.listdir(self.path):
            if overwrite:
                aside = f"{self.path}.old-{time.strftime('%Y%m%d-%H%M%S')}"
                os.rename(self.path, aside)
                self._undo.insert(0, lambda: os.rename(aside, self.path))
                print(f"moved the previous run aside to {aside}")
            else:
                stored = self._stored_or_refuse()
                if stored.to_dict() == config.to_dict():
                    return "finished" if self.finished() else "resume"
                if resume:
                    self._check_resumable(stored, config)
                if not resume:
                    raise InputError(
                        f"Run directory {self.path} holds a run with a different config "
                        f"({_differences(stored, config)}); pass --resume to continue it with the "
                        f"new config, --overwrite to start over (the old run is moved aside), or "
                        f"another --run-dir.")
                self._set_aside(self.config_path, "config.previous.json")
                config.save(self.config_path)
                if os.path.exists(self.finished_path):  # the run goes on: no longer finished
                    self._set_aside(self.finished_path, "finished.previous.json")
                return "resume"
        existed = os.path.isdir(self.path)  # and empty
        self._make_writable()
        self._undo.insert(0, self._emptied if existed else self._removed)
        config.save(self.config_path)
        return "new"

    def _set_aside(self, path, name):
        """Rename `path` to `name` in the run directory, undoably (`name`'s old bytes kept)."""
        target = os.path.join(self.path, name)
        previous = None
        if os.path.exists(target):
            with open(target, "rb") as handle:
                previous = handle.read()
        os.replace(path, target)

        def undo():
            os.replace(target, path)  # over whatever `path` holds by then
            if previous is not None:
                with open(target, "wb") as handle:
                    handle.write(previous)
        self._undo.insert(0, undo)

    def _emptied(self):
        for name in os.listdir(self.path):
            entry = os.path.join(self.path, name)
            if os.path.isdir(entry) and not os.path.islink(entry):
                shutil.rmtree(entry)
            else:
                os.remove(entry)

    def _removed(self):
        shutil.rmtree(self.path, ignore_errors=True)

    def undo_prepare(self):
        """Put the directory back as it was before `prepare` (a refused start leaves no
        trace: no new directory, no new files, the old config and run where they were)."""
        undo, self._undo = self._undo, []
        for action in undo:
            action()

    # Keys whose change makes the saved weights or token ids meaningless for the new config.
    SHAPE_KEYS = ("model.", "data.tokenizer", "data.vocab_size", "data.min_freq",
                  "data.max_vocab_size", "data.sentencepiece_model", "data.block_size",
                  "data.corpus", "data.format")

    def _check_resumable(self, stored, config):
        old, new = stored.to_flat_dict(), config.to_flat_dict()
        changed = [k for k in sorted(new) if old.get(k) != new.get(k)
                   and k.startswith(self.SHAPE_KEYS)]
        if changed:
            raise InputError(
                f"--resume cannot change {', '.join(changed)} (the model, tokenizer or data the "
                f"run in {self.path} was trained with); only training options may change. Pass "
                "--overwrite to start over, or choose another --run-dir.")

    def _stored_or_refuse(self):
        try:
            stored = self.stored_config()
        except InputError as e:
            raise InputError(f"Run directory {self.path} has an unreadable config.json ({e}); "
                             "pass --overwrite to move it aside.") from None
        if stored is None:
            raise InputError(f"{self.path} exists, is not empty and is not a tf-lm run directory "
                             "(no config.json); choose another --run-dir, or pass --overwrite to "
                             "move it aside.")
        self._make_writable()
        return stored

    def _make_writable(self):
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise InputError(f"Run directory {self.path} is a file, not a directory; choose "
                             "another --run-dir.")
        try:
            os.makedirs(self.path, exist_ok=True)
            probe = os.path.join(self.path, ".write-test")
            with open(probe, "w", encoding="utf-8") as handle:
                handle.write("ok")
            os.remove(probe)
        except OSError as e:
            raise InputError(f"Run directory {self.path} is not writable ({e.strerror}).") \
                from None


def _differences(old, new):
    old_flat, new_flat = old.to_flat_dict(), new.to_flat_dict()
    changed = [f"{k}: {old_flat.get(k)!r} -> {new_flat.get(k)!r}"
               for k in sorted(set(old_flat) | set(new_flat)) if old_flat.get(k) != new_flat.get(k)]
    return "; ".join(changed[:5]) + ("; ..." if len(changed) > 5 else "")


def _load_training_weights(model, config, path):
    """Checkpoints and backups hold the optimizer state too: compile with the run's optimizer
    so the file's variables all have a place."""
    model.compile(optimizer=build_optimizer(config.train, config.train.steps, 1))
    model.optimizer.build(model.trainable_variables)
    load_weights_or_refuse(model, path)
