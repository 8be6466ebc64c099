"""The `tf-lm` command: a thin layer that builds a config and calls the library."""

import argparse
import logging
import os
import sys

import tf_lm
from tf_lm.cli import (bench, data_inspect, encode, evaluate, export, generate,
                       import_checkpoint, interpolate, predict, train)
from tf_lm.cli.native_logs import quiet_tensorflow_start
from tf_lm.errors import RERUN_EXIT_CODE, InputError, RerunError, TrainingError

DESCRIPTION = """tf_lm: language models in Keras and TensorFlow, from corpus to TF Serving.
Run `tf-lm COMMAND --help` for the flags of each command."""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line like every other tf-lm error."""

    def error(self, message):
        self.exit(2, f"tf-lm: error: {message} (see `{self.prog} --help`)\n")


def build_parser():
    parser = _Parser(prog="tf-lm", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"tf_lm {tf_lm.__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's start-up lines (hidden by default)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data = commands.add_parser("data", help="corpus and tokenizer tools",
                               description="Corpus and tokenizer tools.")
    data_commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND",
                                        required=True)
    data_inspect.add_parser(data_commands)
    train.add_parser(commands)
    generate.add_parser(commands)
    evaluate.add_parser(commands)
    predict.add_parser(commands)
    encode.add_parser(commands)
    interpolate.add_parser(commands)
    export.add_parser(commands)
    import_checkpoint.add_parser(commands)
    bench.add_parser(commands)
    return parser


def main(argv=None):
    """Entry point of the `tf-lm` console script; returns the exit code.

    Bad input (`InputError`, unreadable files) prints one line, `tf-lm: error: ...`, and
    exits with 2, as argparse does for bad flags. A run stopped from outside (preempted, a
    worker of its cluster lost) prints one line and exits with 75: rerun the same command.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # TensorFlow's Python logger warns when a process traces many functions; the CLI traces one
    # per length bucket on purpose.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if not args.verbose:
        quiet_tensorflow_start()
    try:
        return args.run(args, extra)
    except (InputError, OSError) as e:
        message = " ".join(str(e).split())
        print(f"tf-lm: error: {message}", file=sys.stderr)
        return 2
    except RerunError as e:
        print(f"tf-lm: {e}", file=sys.stderr)
        return RERUN_EXIT_CODE
    except TrainingError as e:
        print(f"tf-lm: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tf-lm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
