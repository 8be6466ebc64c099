"""`tf-lm bench`: measure tf_lm against its peers, side by side in one process."""

import json

from tf_lm.cli.config_args import add_config_arguments, resolve_config, split_overrides

DESCRIPTION = """Benchmarks, each after a warm-up (compile time reported apart), the median of
--repeats repetitions, every comparison in this one process:
  train     tokens/s of fit, tf_lm against keras-hub's GPT2Backbone of the same
            configuration; MFU against this machine's float32 matmul peak; peak memory.
            A recurrent config: against the Keras example's Sequential LSTM and, when
            PyTorch is installed, PyTorch's nn.LSTM on the same batches
  generate  greedy new tokens/s at each batch size, against keras-hub's
            GPT2CausalLM.generate and against tf_lm's own uncached decoding
  export    latency of the exported serving_default loaded as TF Serving loads it (TF1
            Session, no XLA) against the in-Python compiled path; --trace adds where
            the exported call's time goes, per op type (executed ops per new token);
            --against PATH alternates its calls with another export's (an A/B)
  data      tokens/s of the input pipeline alone, against the training rate
  serve     an export loaded once as TF Serving loads it, called by 1, 4 and 8 client
            threads with a few hundred mixed requests (batch sizes, samplers, seeds,
            lengths, a tenth of them invalid): requests/s, p50/p99 latency, answers that
            differ from the same request made alone (must be 0), memory added
The model and data come from --preset/--config/overrides (default: nanogpt-cpu on Tiny
Shakespeare). --json prints one JSON object per line."""


def add_parser(subparsers):
    parser = subparsers.add_parser("bench", help="benchmarks against keras-hub and the machine",
                                   description=DESCRIPTION)
    parser.add_argument("what", choices=("train", "generate", "export", "data", "serve"))
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--repeats", type=int, default=3, metavar="R",
                        help="timed repetitions after the warm-up (default 3)")
    parser.add_argument("--steps", type=int, default=50, metavar="N",
                        help="train/data: steps per timed epoch (default 50)")
    parser.add_argument("--new-tokens", type=int, default=255, metavar="N",
                        help="generate/export: new tokens per prompt (default 255)")
    parser.add_argument("--batches", default="1,8", metavar="B,B",
                        help="generate/export: batch sizes (default 1,8)")
    parser.add_argument("--trace", action="store_true",
                        help="export: one more call with a full trace, its ops per new token "
                             "and time per op type")
    parser.add_argument("--against", metavar="PATH",
                        help="export: another exported model (a version folder, or a model "
                             "folder: its latest version), called in turn with this one")
    parser.add_argument("--clients", default="1,4,8", metavar="N,N",
                        help="serve: concurrent client threads (default 1,4,8)")
    parser.add_argument("--requests", type=int, default=300, metavar="N",
                        help="serve: requests per client count (default 300)")
    parser.add_argument("--export-dir", metavar="PATH",
                        help="serve: an exported model (version or model folder); default: "
                             "the config's model exported to a temporary folder")
    add_config_arguments(parser)
    parser.set_defaults(run=run, parser=parser)
    return parser


def _positive(parser, name, value):
    if value < 1:
        parser.error(f"{name} must be >= 1. Received: {value}")
    return value


def _integers(parser, flag, text):
    try:
        return tuple(_positive(parser, flag, int(b)) for b in text.split(","))
    except ValueError:
        parser.error(f"{flag} must be integers separated by commas. Received: {text!r}")


def run(args, extra):
    config = resolve_config(args, split_overrides(args.parser, extra))
    _positive(args.parser, "--repeats", args.repeats)
    _positive(args.parser, "--steps", args.steps)
    _positive(args.parser, "--new-tokens", args.new_tokens)
    for flag, value in (("--trace", args.trace), ("--against", args.against)):
        if value and args.what != "export":
            args.parser.error(f"{flag} applies to `bench export` only. "
                              f"Received: bench {args.what}")
    _positive(args.parser, "--requests", args.requests)
    if args.export_dir and args.what != "serve":
        args.parser.error(f"--export-dir applies to `bench serve` only. "
                          f"Received: bench {args.what}")
    batches = _integers(args.parser, "--batches", args.batches)
    clients = _integers(args.parser, "--clients", args.clients)
    from tf_lm.benchmarks.workload import Workload

    workload = Workload.from_config(config)
    if args.what == "train" and config.model.architecture != "gpt":
        from tf_lm.benchmarks.recurrent_benchmark import bench_train_recurrent

        results = [bench_train_recurrent(workload, args.steps, args.repeats)]
    elif args.what == "train":
        from tf_lm.benchmarks.train_benchmark import bench_train

        results = [bench_train(workload, args.steps, args.repeats)]
    elif args.what == "generate":
        from tf_lm.benchmarks.generate_benchmark import bench_generate

        results = bench_generate(workload, args.new_tokens, batches, repeats=args.repeats)
    elif args.what == "export":
        from tf_lm.benchmarks.export_benchmark import bench_export

        results = bench_export(workload, args.new_tokens, batches, args.repeats, args.trace,
                               args.against)
    elif args.what == "serve":
        from tf_lm.benchmarks.serving_benchmark import bench_serve

        results = bench_serve(workload, clients, args.requests, args.export_dir)
    else:
        from tf_lm.benchmarks.data_benchmark import bench_data

        results = [bench_data(workload, train_steps=args.steps, repeats=args.repeats)]
    for result in results:
        result = {"benchmark": args.what, "preset": config.preset, **result}
        print(json.dumps(result) if args.json else _line(result))
        if "op_table" in result and not args.json:
            print(_op_table(result["op_table"]))
    return 0


def _op_table(rows):
    lines = [f"  {'op':<24} {'calls/token':>11} {'µs each':>8} {'µs/token':>9}"]
    lines += [f"  {row['op']:<24} {row['per_token']:>11.1f} {row['us_each']:>8.1f} "
              f"{row['us_per_token']:>9.1f}" for row in rows]
    return "\n".join(lines)


def _line(result):
    parts = []
    for key, value in result.items():
        if isinstance(value, list):
            continue
        if isinstance(value, float):
            value = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        parts.append(f"{key}={value}")
    return " ".join(parts)
