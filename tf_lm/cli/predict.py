"""`tf-lm predict`: the label and class probabilities of texts, from a classifier run."""

import json
import sys

from tf_lm.cli.classifier_runs import ENSEMBLE_HELP, check_ensemble

DESCRIPTION = """Classify texts with the classifier of a run directory: each text's label and
the probability of every class. Texts come from --text (repeatable) and/or --file (one text a
line; '-' reads standard input). With --ensemble, the mean probabilities of several runs."""


def add_parser(subparsers):
    parser = subparsers.add_parser("predict", help="classify texts with a classifier run",
                                   description=DESCRIPTION)
    parser.add_argument("--run-dir", required=True, metavar="DIR", help="a classifier run")
    parser.add_argument("--text", action="append", default=[], metavar="TEXT",
                        help="a text to classify (repeatable)")
    parser.add_argument("--file", metavar="FILE", help="texts, one a line ('-': stdin)")
    parser.add_argument("--adapters", metavar="FILE",
                        help="a LoRA adapters file fine-tuned from this run, merged first")
    parser.add_argument("--ensemble", action="append", default=[], metavar="DIR",
                        help=ENSEMBLE_HELP)
    parser.add_argument("--json", action="store_true", help="one JSON object per text")
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args, extra):
    if extra:
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from tf_lm.errors import InputError

    texts = list(args.text) + _read(args.file)
    if not texts:
        raise InputError("No text to classify: give --text TEXT or --file FILE")
    for number, text in enumerate(texts, 1):
        if not text.strip():
            raise InputError(f"Text {number} is empty; a classifier needs some text")
    import numpy as np

    from tf_lm.cli.classifier_runs import ensemble_members, probabilities_of
    from tf_lm.run_dir.run_directory import RunDirectory

    run_dir = RunDirectory(args.run_dir)
    task = run_dir.require_config().model.task
    if task != "classifier":
        kind = "a sentence VAE" if task == "vae" else "a language model"
        raise InputError(f"{run_dir.path} is {kind}, not a classifier; use "
                         "`tf-lm generate` or `tf-lm evaluate`")
    check_ensemble(args.run_dir, args.ensemble, args.adapters)
    config, tokenizer, model = run_dir.load(args.adapters)
    members = ensemble_members(args.run_dir, config, tokenizer, model, args.ensemble)
    probabilities = np.mean(probabilities_of(members, texts), axis=0)
    for text, row in zip(texts, probabilities):
        label = model.label_names[int(row.argmax())]
        if args.json:
            print(json.dumps({"text": text, "label": label,
                              "probabilities": dict(zip(model.label_names,
                                                        map(float, row)))}))
        else:
            print(f"{label}\t{float(row.max()):.4f}\t{text}")
    return 0


def _read(path):
    if path is None:
        return []
    if path == "-":
        return [line.rstrip("\n") for line in sys.stdin if line.strip()]
    from tf_lm.errors import InputError

    try:
        with open(path, encoding="utf-8") as handle:
            return [line.rstrip("\n") for line in handle if line.strip()]
    except FileNotFoundError:
        raise InputError(f"--file: no such file '{path}'") from None
    except UnicodeDecodeError as e:
        raise InputError(f"--file '{path}' is not UTF-8 text: {e}") from None
