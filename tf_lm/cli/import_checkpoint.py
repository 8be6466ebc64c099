"""`tf-lm import`: a pretrained checkpoint on disk becomes a run directory."""

DESCRIPTION = """Import a Hugging Face GPT-2 checkpoint from a local folder (config.json,
model.safetensors or model.safetensors.index.json, vocab.json, merges.txt; nothing is
downloaded) into a run directory. The run then works with generate, evaluate, export, and
`tf-lm train --init-from RUN` to fine-tune it. Pickled files (pytorch_model.bin) are refused:
convert them to safetensors first."""


def add_parser(subparsers):
    parser = subparsers.add_parser("import", help="import pretrained GPT-2 weights from files",
                                   description=DESCRIPTION)
    parser.add_argument("--from", dest="source", required=True, metavar="DIR",
                        help="the checkpoint folder")
    parser.add_argument("--run-dir", required=True, metavar="DIR", help="the new run directory")
    parser.add_argument("--overwrite", action="store_true",
                        help="move an existing --run-dir aside to DIR.old-TIME first")
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args, extra):
    if extra:
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from tf_lm.pretrained import import_gpt2

    import_gpt2(args.source, args.run_dir, overwrite=args.overwrite)
    return 0
