"""Config flags shared by the subcommands: --preset, --config and dotted overrides."""

import argparse

from tf_lm.config import PRESETS, Config


def add_config_arguments(parser, sections=("model", "data", "train", "export")):
    """Adds --preset and --config, and lists the dotted keys of `sections` in the help."""
    parser.add_argument("--preset", choices=sorted(PRESETS), metavar="NAME",
                        help=f"named configuration: {', '.join(sorted(PRESETS))}")
    parser.add_argument("--config", metavar="FILE",
                        help="JSON or YAML config file, applied over the preset")
    rows = [r for r in Config.keys() if r[0].split(".")[0] in sections]
    lines = [f"  --{key}=VALUE  ({getattr(tp, '__name__', str(tp).replace('typing.', ''))}, "
             f"default {default!r}): {doc}" for key, tp, default, doc in rows]
    parser.epilog = ("dotted overrides, applied last (for example --data.block_size=128):\n"
                     + "\n".join(lines))
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def split_overrides(parser, extra):
    """Dotted `--section.key=value` (or `--section.key value`) arguments from the leftovers."""
    overrides = []
    i = 0
    while i < len(extra):
        item = extra[i]
        if not item.startswith("--") or "." not in item.split("=", 1)[0]:
            parser.error(f"unrecognized argument: {item}")
        if "=" not in item:
            if i + 1 >= len(extra):
                parser.error(f"argument {item} expects a value")
            item = f"{item}={extra[i + 1]}"
            i += 1
        overrides.append(item[2:])
        i += 1
    return overrides


def resolve_config(args, overrides):
    return Config.resolve(preset=args.preset, file=args.config, overrides=overrides)


def explicit_keys(args, overrides):
    """The dotted keys the user set: in --config's file and on the command line."""
    keys = {item.split("=", 1)[0].strip().lstrip("-") for item in overrides}
    if args.config:
        data = Config.file_data(args.config)
        keys |= {f"{section}.{key}" for section, values in data.items()
                 if isinstance(values, dict) for key in values}
    return keys
