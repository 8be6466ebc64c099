"""`tf-lm interpolate`: the sentences on the line between two sentences' codes."""

import json

from tf_lm.config.decoding import SAMPLERS

DESCRIPTION = """Walk the latent space of a sentence VAE between two sentences (Bowman et
al.'s homotopy): z_t = (1 - t)·μ(first) + t·μ(second) for evenly spaced t from 0 to 1, each
decoded to a sentence."""


def add_parser(subparsers):
    parser = subparsers.add_parser("interpolate", help="sentences between two sentences (VAE)",
                                   description=DESCRIPTION)
    parser.add_argument("--run-dir", required=True, metavar="DIR", help="a sentence VAE run")
    parser.add_argument("--from", dest="first", required=True, metavar="TEXT")
    parser.add_argument("--to", dest="second", required=True, metavar="TEXT")
    parser.add_argument("--steps", type=int, default=5, metavar="N",
                        help="points on the line, both ends included (default 5)")
    parser.add_argument("--sampler", choices=SAMPLERS, default="greedy")
    parser.add_argument("--max-new-tokens", type=int, default=40, metavar="N")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args, extra):
    if extra:
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from tf_lm.cli.encode import generator, vae_run

    sentences = generator(vae_run(args.run_dir))
    points = sentences.interpolate(args.first, args.second, steps=args.steps,
                                   sampler=args.sampler, max_new_tokens=args.max_new_tokens)
    if args.json:
        print(json.dumps({"from": args.first, "to": args.second,
                          "points": [{"t": t, "text": text} for t, text in points]}))
        return 0
    for t, text in points:
        print(f"{t:.2f}  {text}")
    return 0
