"""`tf-lm data inspect`: what a corpus looks like to a tokenizer and to the pipeline."""

import json
import os
import time

from tf_lm.cli.config_args import add_config_arguments, resolve_config, split_overrides
from tf_lm.config.data_config import FORMATS, TOKENIZERS
from tf_lm.config.model_config import TASKS
from tf_lm.errors import InputError

DESCRIPTION = """Reads a corpus, learns the tokenizer on its training split and prints: the files
and bytes, characters, lines and tokens per split, the vocabulary size, the out-of-vocabulary
rate of the held-out splits, and the tokens per second of the training input pipeline.
With --task classifier: the labelled corpus a classifier would read (data.lowercase and
data.stopwords applied): texts per class and split, tokens per text, the texts cut at
data.block_size or left empty, and the out-of-vocabulary rate. Writes nothing."""


def _seconds(text):
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise ValueError(text)
    return value


def add_parser(subparsers):
    parser = subparsers.add_parser("inspect", help="describe a corpus, its splits and tokens",
                                   description=DESCRIPTION)
    parser.add_argument("--corpus", metavar="PATH|NAME",
                        help="bundled corpus name (tinyshakespeare), file, directory or glob; "
                             "comma-separated for several (default: data.corpus)")
    parser.add_argument("--tokenizer", choices=TOKENIZERS, help="default: data.tokenizer")
    parser.add_argument("--format", choices=FORMATS,
                        help="text, or wikitext for tokenized WikiText/PTB with <eos> per line")
    parser.add_argument("--encoding-errors", choices=("strict", "replace"),
                        help="invalid UTF-8: refuse (strict) or replace with U+FFFD")
    parser.add_argument("--batch-size", type=int, default=None, metavar="N",
                        help="batch size for the pipeline measurement (default: train.batch_size)")
    parser.add_argument("--pipeline-seconds", type=_seconds, default=1.0, metavar="S",
                        help="how long to time the input pipeline; 0 skips it (default 1)")
    parser.add_argument("--task", choices=TASKS, default="causal_lm",
                        help="classifier: read a labelled corpus (default: causal_lm)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_config_arguments(parser, sections=("data",))
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args, extra):
    overrides = split_overrides(args.parser, extra)
    flags = {"corpus": args.corpus, "tokenizer": args.tokenizer, "format": args.format,
             "encoding_errors": args.encoding_errors}
    overrides = [f"data.{k}={v}" for k, v in flags.items() if v is not None] + overrides
    if args.batch_size is not None:
        overrides.append(f"train.batch_size={args.batch_size}")
    config = resolve_config(args, [f"model.task={args.task}"] + overrides)
    if args.task == "classifier":
        report = inspect_labelled(config)
        print(json.dumps(report, indent=2) if args.json else format_labelled(report))
        return 0
    report = inspect(config, pipeline_seconds=args.pipeline_seconds)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def inspect_labelled(config):
    """The report of a labelled corpus as a dict (the `--json` output with --task classifier)."""
    import numpy as np
    import tensorflow as tf

    from tf_lm.data.labelled_corpus import LabelledCorpus
    from tf_lm.tokenizers import build_tokenizer
    from tf_lm.tokenizers.text_preprocessor import TextPreprocessor

    corpus = LabelledCorpus.from_config(config.data)
    preprocessor = TextPreprocessor.from_config(config.data)
    lines = corpus.preprocessed(preprocessor.apply)
    tokenizer = build_tokenizer(config.data, lines)
    block = config.data.block_size
    report = {"corpus": corpus.name, "labels": corpus.label_names,
              "lowercase": config.data.lowercase, "stopwords": config.data.stopwords,
              "tokenizer": tokenizer.kind, "vocabulary_size": int(tokenizer.vocabulary_size()),
              "block_size": block, "splits": {}}
    for split in corpus.split_names:
        texts = lines.lines(split)
        lengths = np.asarray(tokenizer.tokenize(tf.constant(texts)).row_lengths())
        entry = {"texts": len(texts),
                 "per_class": dict(zip(corpus.label_names, corpus.class_counts(split).tolist())),
                 "tokens": int(lengths.sum()), "mean_tokens": float(lengths.mean()),
                 "max_tokens": int(lengths.max()),
                 "cut_at_block_size": int((lengths > block).sum()),
                 "empty": int((lengths == 0).sum())}
        if split != "train":
            oov, total = tokenizer.count_out_of_vocabulary(texts)
            entry["oov_rate"] = oov / total if total else 0.0
        report["splits"][split] = entry
    return report


def format_labelled(report):
    """The human-readable table of a labelled corpus."""
    steps = [name for name, on in (("lowercased", report["lowercase"]),
                                   (f"stop words {report['stopwords']}", report["stopwords"]))
             if on]
    lines = [f"corpus      {report['corpus']} (labelled: {len(report['labels'])} classes"
             f"{', ' + ', '.join(steps) if steps else ''})",
             f"tokenizer   {report['tokenizer']}, vocabulary {report['vocabulary_size']:,}",
             f"{'split':<8}{'texts':>8}  {'per class':<24}{'tokens/text':>12}{'max':>6}"
             f"{'> block ' + str(report['block_size']):>12}{'empty':>7}{'OOV rate':>10}"]
    for split, s in report["splits"].items():
        classes = ", ".join(f"{name} {count:,}" for name, count in s["per_class"].items())
        oov = f"{100 * s['oov_rate']:.3f}%" if "oov_rate" in s else "-"
        lines.append(f"{split:<8}{s['texts']:>8,}  {classes:<24}{s['mean_tokens']:>12.1f}"
                     f"{s['max_tokens']:>6}{s['cut_at_block_size']:>12,}{s['empty']:>7,}"
                     f"{oov:>10}")
    return "\n".join(lines)


def inspect(config, pipeline_seconds=1.0):
    """The report as a dict (the `--json` output)."""
    from tf_lm.data import pipeline
    from tf_lm.data.corpus import Corpus
    from tf_lm.tokenizers import build_tokenizer

    corpus = Corpus.from_config(config.data)
    tokenizer = build_tokenizer(config.data, corpus)
    described = corpus.describe()
    report = {
        "corpus": corpus.name,
        "format": corpus.format,
        "streaming": corpus.streaming,
        "files": [{"path": p, "bytes": os.path.getsize(p)} for p in corpus.files],
        "bytes": corpus.num_bytes,
        "tokenizer": tokenizer.kind,
        "vocabulary_size": int(tokenizer.vocabulary_size()),
        "splits": {},
    }
    sources = {}
    for split in corpus.split_names:
        entry = dict(described["splits"][split])
        entry.pop("files")
        if corpus.streaming:
            sources[split] = pipeline.token_chunks(corpus, split, tokenizer)
            entry["tokens"] = _count_streamed(sources[split])
            pipeline.check_length(entry["tokens"], config.data.block_size, split)
        else:
            sources[split] = pipeline.tokenize_split(corpus, split, tokenizer)
            entry["tokens"] = int(sources[split].size)
        if split != "train":
            oov, total = tokenizer.count_out_of_vocabulary(corpus.lines(split))
            entry["oov_tokens"] = oov
            entry["oov_rate"] = oov / total if total else 0.0
        report["splits"][split] = entry
    if pipeline_seconds > 0:
        report["pipeline"] = _time_pipeline(config, sources["train"], pipeline_seconds)
    return report


def _count_streamed(chunks):
    import tensorflow as tf

    return int(chunks.reduce(tf.constant(0, tf.int64),
                             lambda n, c: n + tf.size(c, out_type=tf.int64)).numpy())


def _time_pipeline(config, source, seconds):
    """Tokens/s of the training dataset, after a warm-up of a few batches."""
    from tf_lm.data import pipeline

    data, batch = config.data, config.train.batch_size
    dataset = pipeline.make_dataset(source, data.block_size, batch, sampler=data.sampler,
                                    seed=data.seed, shuffle_buffer=data.shuffle_buffer)
    iterator = iter(dataset.repeat())
    try:
        for _ in range(5):
            next(iterator)
        tokens, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            x, _ = next(iterator)
            tokens += int(x.shape[0]) * int(x.shape[1])
    except StopIteration:
        raise InputError(  # a streamed split needs two blocks for its first window
            f"The training split yields no window of data.block_size + 1 = "
            f"{data.block_size + 1} tokens when streamed; use a longer corpus or a smaller "
            "data.block_size"
        ) from None
    elapsed = time.perf_counter() - start
    return {"sampler": data.sampler, "block_size": data.block_size, "batch_size": batch,
            "tokens_per_s": tokens / elapsed}


def format_report(report):
    """The human-readable table."""
    mode = "streamed from disk" if report["streaming"] else "in memory"
    lines = [
        f"corpus      {report['corpus']} ({report['format']}, {mode})",
        f"files       {len(report['files'])} file(s), {report['bytes']:,} bytes",
    ]
    lines += [f"              {f['path']} ({f['bytes']:,} bytes)" for f in report["files"][:10]]
    if len(report["files"]) > 10:
        lines.append(f"              ... and {len(report['files']) - 10} more")
    lines.append(f"tokenizer   {report['tokenizer']}, vocabulary {report['vocabulary_size']:,}")
    lines.append(f"{'split':<8}{'chars':>14}{'lines':>10}{'tokens':>14}{'OOV rate':>10}")
    for split, s in report["splits"].items():
        chars = f"{s['chars']:,}" if s["chars"] is not None else "-"
        oov = f"{100 * s['oov_rate']:.3f}%" if "oov_rate" in s else "-"
        lines.append(f"{split:<8}{chars:>14}{s['lines']:>10,}{s['tokens']:>14,}{oov:>10}")
    if "pipeline" in report:
        p = report["pipeline"]
        lines.append(f"pipeline    {p['tokens_per_s']:,.0f} tokens/s ({p['sampler']} sampler, "
                     f"block {p['block_size']}, batch {p['batch_size']})")
    return "\n".join(lines)
