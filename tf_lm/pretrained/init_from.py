"""The config of a run that starts from another run's weights (`tf-lm train --init-from`)."""

import dataclasses
import os

from tf_lm.config import Config
from tf_lm.errors import InputError
from tf_lm.run_dir import RunDirectory
from tf_lm.run_dir.export_directory import ExportDirectory

# What the source run fixes besides the model section: its tokenizer and its context (the
# learned position table's size).
DATA_KEYS = ("tokenizer", "vocab_size", "min_freq", "max_vocab_size", "sentencepiece_model",
             "block_size")
# Model keys a fine-tune may change: they do not change the backbone's weights. A classifier
# (model.task) starts from a language model's backbone; the dropouts are regularizers.
TASK_KEYS = ("task", "num_classes", "pooling", "classifier_dropout")
REGULARIZER_KEYS = ("dropout", "word_dropout")
FREE_MODEL_KEYS = REGULARIZER_KEYS + TASK_KEYS


def init_from_config(config, source, explicit=()):
    """`config` with the model section, tokenizer settings and context of the run in `source`,
    and `train.init_from` set to its absolute path.

    Args:
        config: the resolved config of the new run.
        source: a run directory (trained, or made by `tf-lm import`) or an export (a version
            folder, or a model folder: its newest version).
        explicit: dotted keys the user set (command line or config file); one of the source's
            keys set to another value is refused by name (`model.dropout` and
            `model.word_dropout` may change).

    Raises:
        InputError: `source` is not a run with a model, or a conflicting explicit key.
    """
    run = open_source(source)
    source_config = run.require_config()
    if isinstance(run, RunDirectory) and not (
            os.path.exists(run.model_path)
            or os.path.exists(os.path.join(run.checkpoints_dir, "best.weights.h5"))):
        raise InputError(f"--init-from {run.path}: the run has no model yet (no model.keras or "
                         "checkpoints/best.weights.h5)")
    fixed = _fixed(source_config)
    wanted = config.to_flat_dict()
    for key in sorted(explicit):
        if key in fixed and wanted[key] != fixed[key]:
            raise InputError(
                f"{key}={wanted[key]!r} conflicts with --init-from {run.path}, whose "
                f"{key} is {fixed[key]!r}: a fine-tune keeps the model and tokenizer it starts "
                "from")
    model = dataclasses.asdict(source_config.model)
    model.update({key: getattr(config.model, key) for key in REGULARIZER_KEYS
                  if f"model.{key}" in explicit})
    model.update({key: getattr(config.model, key) for key in TASK_KEYS})
    return Config.from_dict({
        "model": model,
        "data": {k: getattr(source_config.data, k) for k in DATA_KEYS},
        "train": {"init_from": run.path}}, base=config)


def open_source(path):
    """The `ExportDirectory` (newest version) or `RunDirectory` that `path` names."""
    path = str(path)
    if ExportDirectory.holds_export(path):
        return ExportDirectory.newest(path, "--init-from")
    return RunDirectory(path)


def source_config_mismatch(config):
    """The first key where `config` differs from its `train.init_from` run in what that run
    fixes, as "key: ours vs theirs", or None."""
    ours = config.to_flat_dict()
    for key, theirs in _fixed(open_source(config.train.init_from).require_config()).items():
        if ours[key] != theirs:
            return f"{key}: {ours[key]!r} vs {theirs!r}"
    return None


def _fixed(source_config):
    """{dotted key: value} of what a run fixes for the runs that start from it."""
    fixed = {f"model.{k}": v for k, v in dataclasses.asdict(source_config.model).items()
             if k not in FREE_MODEL_KEYS}
    fixed.update({f"data.{k}": getattr(source_config.data, k) for k in DATA_KEYS})
    return fixed
