"""`tf-lm export`: write a run's model for TF Serving, or the server's model config."""

import os
import sys

DESCRIPTION = """Export the model of a run directory as BASE/NAME/VERSION, a SavedModel that
stock TF Serving loads (signatures serving_default, score and next_token_logits; see
export/README.md). VERSION defaults to the next integer; an existing version is never
replaced. With --models-config: write the TF Serving --model_config_file for every model
under BASE instead. A classifier run: signatures serving_default and classify; with
--ensemble, they serve the mean probabilities of several classifier runs."""


def add_parser(subparsers):
    parser = subparsers.add_parser("export", help="export a model for TF Serving",
                                   description=DESCRIPTION)
    parser.add_argument("--run-dir", metavar="DIR", help="the run directory to export")
    parser.add_argument("--base", metavar="DIR",
                        help="base directory of exported models (default: the run's "
                             "export.base, 'export')")
    parser.add_argument("--name", metavar="NAME",
                        help="model name (default: the run's export.name, 'tf_lm')")
    parser.add_argument("--version", type=int, metavar="N", help="version (default: next)")
    parser.add_argument("--adapters", metavar="FILE",
                        help="a LoRA adapters file (adapters.safetensors) fine-tuned from this "
                             "run: merged into the kernels, so the served graph has no "
                             "adapter ops")
    parser.add_argument("--ensemble", action="append", default=[], metavar="DIR",
                        help="a classifier run: another classifier run whose class "
                             "probabilities the export averages with --run-dir's (repeatable)")
    parser.add_argument("--models-config", action="store_true",
                        help="write the model server config for the models under --base")
    parser.add_argument("--serving-base", default="/models", metavar="DIR",
                        help="where the server sees --base (default /models, as in the "
                             "official docker image)")
    parser.add_argument("--output", default="-", metavar="FILE",
                        help="--models-config: the file to write (default '-': stdout)")
    parser.add_argument("--overwrite", action="store_true",
                        help="--models-config: replace an existing --output file")
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args, extra):
    if extra:
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.models_config:
        given = [flag for flag, value in (("--run-dir", args.run_dir),
                                          ("--adapters", args.adapters),
                                          ("--ensemble", args.ensemble)) if value]
        if given:
            from tf_lm.errors import InputError

            verb = "does" if len(given) == 1 else "do"
            raise InputError(f"{' and '.join(given)} {verb} not apply to --models-config, which "
                             "writes the TF Serving config for the models under --base.")
        return _models_config(args)
    if not args.run_dir:
        args.parser.error("--run-dir is required (or --models-config)")
    from tf_lm.cli.classifier_runs import check_ensemble
    from tf_lm.serving.exporter import export_run

    check_ensemble(args.run_dir, args.ensemble, args.adapters)
    path = export_run(args.run_dir, args.base, args.name, args.version, args.adapters,
                      args.ensemble)
    print(f"exported {path} (serve it: see export/README.md)")
    return 0


def _models_config(args):
    from tf_lm.errors import InputError
    from tf_lm.serving.models_config import models_config_text

    text = models_config_text(args.base or "export", args.serving_base)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    if os.path.exists(args.output) and not args.overwrite:
        raise InputError(f"'{args.output}' exists; pass --overwrite to replace it.")
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(f"wrote {args.output}")
    return 0
