"""`import_gpt2`: a Hugging Face GPT-2 checkpoint on disk becomes an ordinary run directory."""

import os
import shutil
import time

from tf_lm.config import Config
from tf_lm.errors import InputError
from tf_lm.models import build_causal_lm
from tf_lm.pretrained.gpt2_checkpoint import GPT2Checkpoint
from tf_lm.run_dir import RunDirectory
from tf_lm.tokenizers import BytePairTokenizer
from tf_lm.utils import atomic
from tf_lm.utils.hashing import file_sha256

SOURCE_FILE = "source.json"


def import_gpt2(source, run_dir, overwrite=False, echo=print):
    """Reads the GPT-2 checkpoint in `source` and writes it to `run_dir` as a finished run.

    The run holds `config.json` (the `gpt2-small` preset with the checkpoint's architecture,
    `data.tokenizer=bpe` and `data.block_size` = its `n_positions`), `tokenizer/` (its
    vocab.json and merges.txt), `model.keras`, `finished.json` (0 steps) and `source.json`
    (where it came from, with each file's sha256), so `tf-lm generate`, `evaluate`, `export`
    and `train --init-from` read it like any run. Everything is checked before anything is
    written, and the run appears in one rename: a refused import leaves no directory.

    Args:
        source: the checkpoint folder (config.json, model.safetensors or its sharded index,
            vocab.json, merges.txt).
        run_dir: the new run directory; an existing non-empty one is refused unless
            `overwrite`, which moves it aside to `RUN.old-TIME` (never deleted).
        echo: where the progress lines go.

    Returns:
        The run directory's absolute path.
    """
    checkpoint = GPT2Checkpoint(source)
    run = RunDirectory(run_dir)
    if os.path.isdir(run.path) and os.listdir(run.path) and not overwrite:
        raise InputError(f"Run directory {run.path} exists and is not empty; choose another "
                         "--run-dir, or pass --overwrite to move it aside.")
    tokenizer = BytePairTokenizer(os.path.join(checkpoint.directory, "vocab.json"),
                                  os.path.join(checkpoint.directory, "merges.txt"))
    if tokenizer.vocabulary_size() != checkpoint.vocabulary_size:
        raise InputError(
            f"{checkpoint.directory}/vocab.json has {tokenizer.vocabulary_size()} tokens but the "
            f"embedding (config.json vocab_size) has {checkpoint.vocabulary_size} rows")
    config = Config.from_dict(
        {"model": checkpoint.model_options(),
         "data": {"tokenizer": "bpe", "block_size": checkpoint.sequence_length,
                  "vocab_size": checkpoint.vocabulary_size}},
        base=Config.from_preset("gpt2-small"))
    model = build_causal_lm(config.model, checkpoint.vocabulary_size, config.data.block_size)
    count = checkpoint.load_into(model)
    parent = os.path.dirname(run.path)
    os.makedirs(parent, exist_ok=True)
    staging = RunDirectory(os.path.join(parent, f".{os.path.basename(run.path)}.importing"))
    shutil.rmtree(staging.path, ignore_errors=True)
    try:
        os.makedirs(staging.path)
        config.save(staging.config_path)
        tokenizer.save(staging.tokenizer_dir)
        model.save(staging.model_path)
        atomic.write_json(os.path.join(staging.path, SOURCE_FILE), {
            "imported_from": checkpoint.directory, "format": "huggingface-gpt2",
            "files": {name: file_sha256(os.path.join(checkpoint.directory, name))
                      for name in _files(checkpoint)}})
        atomic.write_json(staging.finished_path, {
            "steps": 0, "status": "imported", "val_loss": float("nan"),
            "val_perplexity": float("nan"), "val_bits_per_character": None})
        if os.path.isdir(run.path) and os.listdir(run.path):
            aside = f"{run.path}.old-{time.strftime('%Y%m%d-%H%M%S')}"
            os.rename(run.path, aside)
            echo(f"moved the previous run aside to {aside}")
        elif os.path.isdir(run.path):
            os.rmdir(run.path)
        os.rename(staging.path, run.path)
    finally:
        shutil.rmtree(staging.path, ignore_errors=True)
    echo(f"imported {count:,} parameters ({config.model.num_layers} layers, "
         f"{config.model.num_heads} heads, {config.model.hidden_dim} wide, "
         f"{checkpoint.vocabulary_size:,} BPE tokens, context {checkpoint.sequence_length}) "
         f"from {checkpoint.directory} into {run.path}")
    return run.path


def _files(checkpoint):
    names = {os.path.basename(path) for path, _ in checkpoint.shards.values()}
    return sorted(names | {"config.json", "vocab.json", "merges.txt"})
