"""`tf-lm encode`: sentences to the latent code of a sentence VAE, and back."""

import json

DESCRIPTION = """Encode sentences with the sentence VAE of a run directory: each sentence's
posterior mean μ and log-variance log σ² (q(z|x) = N(μ, σ²)). --reconstruct also decodes μ
back to a sentence (greedy)."""


def add_parser(subparsers):
    parser = subparsers.add_parser("encode", help="sentences to z with a sentence VAE run",
                                   description=DESCRIPTION)
    parser.add_argument("--run-dir", required=True, metavar="DIR", help="a sentence VAE run")
    parser.add_argument("--text", action="append", default=[], metavar="TEXT",
                        help="a sentence to encode (repeatable)")
    parser.add_argument("--reconstruct", action="store_true",
                        help="also decode each μ back to a sentence")
    parser.add_argument("--max-new-tokens", type=int, default=40, metavar="N",
                        help="the longest reconstruction, in tokens (default 40)")
    parser.add_argument("--json", action="store_true", help="one JSON object per sentence")
    parser.set_defaults(run=run, parser=parser)
    return parser


def vae_run(path):
    """The run directory `path`, refused in one line unless it holds a sentence VAE."""
    from tf_lm.errors import InputError
    from tf_lm.run_dir.run_directory import RunDirectory

    run_dir = RunDirectory(path)
    task = run_dir.require_config().model.task
    if task != "vae":
        raise InputError(f"{run_dir.path} is a {task} run, not a sentence VAE "
                         "(model.task=vae)")
    return run_dir


def generator(run_dir):
    from tf_lm.generation.sentence_generator import SentenceGenerator

    config, tokenizer, model = run_dir.load()
    return SentenceGenerator(model, tokenizer, config.data.block_size)


def run(args, extra):
    if extra:
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from tf_lm.errors import InputError

    if not args.text:
        raise InputError("No sentence to encode: give --text TEXT")
    sentences = generator(vae_run(args.run_dir))
    mean, log_variance = sentences.encode(args.text)
    decoded = (sentences.decode(mean, max_new_tokens=args.max_new_tokens)
               if args.reconstruct else [None] * len(args.text))
    for text, mu, log_var, back in zip(args.text, mean, log_variance, decoded):
        record = {"text": text, "mean": mu.tolist(), "log_variance": log_var.tolist()}
        if back is not None:
            record["reconstruction"] = back
        if args.json:
            print(json.dumps(record))
            continue
        print(text)
        print("  mean         " + " ".join(f"{v:+.3f}" for v in mu))
        print("  log_variance " + " ".join(f"{v:+.3f}" for v in log_var))
        if back is not None:
            print(f"  reconstruction: {back}")
    return 0
