"""`tf-lm generate`: continue a prompt with a trained model, streaming the text."""

import json
import sys

from tf_lm.config.decoding import SAMPLERS

DESCRIPTION = """Continue a prompt with the model of a run directory, printing the text as it is
generated. An empty prompt starts from the tokenizer's end-of-text token (or a newline). A
prompt longer than the context keeps its last tokens (with a warning). Sampling is
reproducible: the same --seed gives the same text."""


def add_parser(subparsers):
    parser = subparsers.add_parser("generate", help="generate text from a trained model",
                                   description=DESCRIPTION)
    parser.add_argument("--run-dir", required=True, metavar="DIR", help="a tf-lm run directory")
    parser.add_argument("--prompt", default="", metavar="TEXT", help="the text to continue")
    parser.add_argument("--max-new-tokens", type=int, default=None, metavar="N",
                        help="tokens to generate (default: export.default_max_new_tokens)")
    parser.add_argument("--sampler", choices=SAMPLERS, default="greedy")
    parser.add_argument("--temperature", type=float, default=1.0, metavar="T")
    parser.add_argument("--top-k", type=int, default=0, metavar="K")
    parser.add_argument("--top-p", type=float, default=1.0, metavar="P")
    parser.add_argument("--beams", type=int, default=4, metavar="B",
                        help="beam width of --sampler beam (default 4)")
    parser.add_argument("--length-penalty", type=float, default=1.0, metavar="A",
                        help="beam scores are divided by length**A (default 1)")
    parser.add_argument("--repetition-penalty", type=float, default=1.0, metavar="R")
    parser.add_argument("--seed", type=int, default=0, metavar="S")
    parser.add_argument("--stop", action="append", default=[], metavar="STRING",
                        help="stop before this string (repeatable)")
    parser.add_argument("--adapters", metavar="FILE",
                        help="a LoRA adapters file (adapters.safetensors) fine-tuned from this "
                             "run, merged into its model first")
    parser.add_argument("--num-samples", type=int, default=1, metavar="N",
                        help="a sentence VAE run: how many sentences to draw from the prior")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args, extra):
    if extra:
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from tf_lm.generation.text_generator import TextGenerator
    from tf_lm.run_dir.run_directory import RunDirectory

    from tf_lm.errors import InputError

    run_dir = RunDirectory(args.run_dir)
    task = run_dir.require_config().model.task
    if task == "classifier":
        raise InputError(f"{run_dir.path} is a classifier, which does not generate text; use "
                         "`tf-lm predict --run-dir` to classify texts")
    if task == "vae":
        return _sample_prior(args, run_dir)
    if args.num_samples != 1:
        raise InputError("--num-samples applies to sentence VAE runs; a language model "
                         "continues one --prompt")
    config, tokenizer, model = run_dir.load(args.adapters)
    generator = TextGenerator(model, tokenizer, config.export.max_new_tokens_limit,
                              warn=lambda message: print(message, file=sys.stderr))
    new_tokens = args.max_new_tokens
    if new_tokens is None:
        new_tokens = config.export.default_max_new_tokens
    options = dict(max_new_tokens=new_tokens,
                   sampler=args.sampler, temperature=args.temperature, top_k=args.top_k,
                   top_p=args.top_p, repetition_penalty=args.repetition_penalty, seed=args.seed,
                   stop_strings=args.stop)
    if args.json:
        text = generator.generate(args.prompt, num_beams=args.beams,
                                  length_penalty=args.length_penalty, **options)
        print(json.dumps({"prompt": args.prompt, "text": text, "sampler": args.sampler,
                          "seed": args.seed}))
        return 0
    generator.check(options["max_new_tokens"], args.sampler, args.temperature, args.top_k,
                    args.top_p, args.beams, args.repetition_penalty, args.length_penalty)
    generator.encode_prompt(args.prompt)  # refuse a bad prompt before printing anything
    pieces = generator.stream(args.prompt, num_beams=args.beams,
                              length_penalty=args.length_penalty, **options)
    sys.stdout.write(args.prompt)
    sys.stdout.flush()
    for piece in pieces:
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


def _sample_prior(args, run_dir):
    """A sentence VAE generates from z ~ N(0, I), one sentence per draw."""
    from tf_lm.cli.encode import generator
    from tf_lm.errors import InputError

    if args.prompt:
        raise InputError("A sentence VAE generates from z, not from a prompt; use `tf-lm encode "
                         "--reconstruct --text TEXT` to decode a sentence's own code")
    if args.num_samples < 1:
        raise InputError(f"--num-samples must be at least 1. Received: {args.num_samples}")
    if args.adapters or args.stop or args.repetition_penalty != 1.0:
        raise InputError("--adapters, --stop and --repetition-penalty apply to language models")
    sentences = generator(run_dir)
    texts = sentences.sample(args.num_samples, seed=args.seed,
                             max_new_tokens=40 if args.max_new_tokens is None else
                             args.max_new_tokens, sampler=args.sampler,
                             temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                             num_beams=args.beams)
    if args.json:
        print(json.dumps({"samples": texts, "sampler": args.sampler, "seed": args.seed}))
        return 0
    print("\n".join(texts))
    return 0
