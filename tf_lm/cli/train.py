"""`tf-lm train`: the main job."""

import math

from tf_lm.cli.config_args import (add_config_arguments, explicit_keys, resolve_config,
                                   split_overrides)

DESCRIPTION = """Train a language model with model.fit under a tf.distribute strategy.

With no arguments: the nanogpt-cpu preset (a 4-layer GPT, 0.8 M parameters) on the bundled Tiny
Shakespeare, character tokenizer, 2000 steps (a few minutes on 2 CPU cores), then the validation
loss and perplexity and a short sample. The run directory keeps config.json, the tokenizer,
checkpoints/ (best validation loss), backup/ (resume), logs/ (tensorboard --logdir runs),
training_log.csv and model.keras. At the end the model is exported for TF Serving as
export/tf_lm/VERSION (see `tf-lm export`; --no-export skips it). Rerunning the same command
resumes an interrupted run."""


def add_parser(subparsers):
    parser = subparsers.add_parser("train", help="train a model (the main job)",
                                   description=DESCRIPTION)
    parser.add_argument("--run-dir", metavar="DIR",
                        help="run directory (default: runs/PRESET)")
    parser.add_argument("--resume", action="store_true",
                        help="continue a run in --run-dir even though its config differs")
    parser.add_argument("--overwrite", action="store_true",
                        help="start over in --run-dir; the old run is moved to DIR.old-TIME")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--init-from", metavar="RUN_OR_EXPORT",
                        help="fine-tune: start from this run's weights, tokenizer and model "
                             "section (a trained run, one made by `tf-lm import`, or an export: "
                             "a version folder, or a model folder's newest version)")
    parser.add_argument("--no-export", action="store_true",
                        help="do not export the model for TF Serving at the end")
    add_config_arguments(parser)
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args, extra):
    overrides = split_overrides(args.parser, extra)
    config = resolve_config(args, overrides)
    source = args.init_from or config.train.init_from  # the flag, or train.init_from
    if source:
        from tf_lm.pretrained import init_from_config

        config = init_from_config(config, source, explicit_keys(args, overrides))
    from tf_lm.training import train  # TensorFlow is imported only once the flags are valid

    run_dir = args.run_dir or f"runs/{config.preset}"
    result = train(config, run_dir, resume=args.resume, overwrite=args.overwrite,
                   verbose=0 if args.quiet else 1)
    if result.status == "already_finished":
        return 0
    if result.val_accuracy is not None:
        print(f"validation: accuracy {result.val_accuracy:.4f}, macro F1 "
              f"{result.val_macro_f1:.4f}, loss {result.val_loss:.4f} (every validation text "
              "once)")
    elif config.model.task != "vae" and not math.isnan(result.val_loss):
        line = (f"validation: loss {result.val_loss:.4f}, perplexity "
                f"{result.val_perplexity:.2f}")
        if result.val_bits_per_character is not None:
            line += f", {result.val_bits_per_character:.3f} bits per character"
        how = ("carried state" if config.model.architecture != "gpt"
               else f"windows of {config.data.block_size}")
        print(f"{line} (every validation token once, {how})")
    if result.sample:
        print("sample:\n" + result.sample)
    print(f"run directory: {result.run_dir} (tensorboard --logdir {result.run_dir}/logs)")
    if not args.no_export:
        from tf_lm.serving.exporter import export_run

        path = export_run(result.run_dir)
        print(f"exported for TF Serving: {path} (see export/README.md)")
    return 0
