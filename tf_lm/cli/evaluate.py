"""`tf-lm evaluate`: loss, perplexity, bits per character and accuracy of a trained model."""

import json
import time

from tf_lm.cli.classifier_runs import ENSEMBLE_HELP, check_ensemble

DESCRIPTION = """Evaluate the model of a run directory on every token of a split exactly once.
A classifier run: accuracy, macro and per-class precision, recall and F1, and the confusion
matrix over every text of the split; with --ensemble, of the mean class probabilities of
several classifier runs.
Transformers: sliding windows of the context length with a stride (default half the context;
each token after the first window sees at least context - stride tokens). Recurrent models: the
split as one sequence, state carried across chunks. With --continuations N, also BLEU and
ROUGE-1/2/L of N greedy continuations against the split's own text (keras-hub metrics)."""


def add_parser(subparsers):
    parser = subparsers.add_parser("evaluate", help="perplexity of a trained model on a split",
                                   description=DESCRIPTION)
    parser.add_argument("--run-dir", required=True, metavar="DIR", help="a tf-lm run directory")
    parser.add_argument("--split", choices=("valid", "test", "train"), default="valid")
    parser.add_argument("--corpus", metavar="PATH",
                        help="evaluate on this corpus (file, directory or glob) instead of the "
                             "run's data.corpus, split by the run's data settings")
    parser.add_argument("--stride", type=int, default=None, metavar="S",
                        help="sliding-window stride for Transformers (default: context / 2)")
    parser.add_argument("--continuations", type=int, default=0, metavar="N",
                        help="also score N greedy continuations with BLEU and ROUGE")
    parser.add_argument("--adapters", metavar="FILE",
                        help="a LoRA adapters file (adapters.safetensors) fine-tuned from this "
                             "run, merged into its model first")
    parser.add_argument("--samples", type=int, default=None, metavar="K",
                        help="a sentence VAE run: importance samples per sentence for the "
                             "estimate of log p(x) (default 100; 0: the ELBO alone)")
    parser.add_argument("--ensemble", action="append", default=[], metavar="DIR",
                        help=f"a classifier run: {ENSEMBLE_HELP}; evaluated on --run-dir's "
                             "split, which its data settings must give too")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run, parser=parser)
    return parser


def run(args, extra):
    if extra:
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from tf_lm.data.corpus import Corpus
    from tf_lm.data.pipeline import tokenize_split
    from tf_lm.errors import InputError
    from tf_lm.evaluation import continuation_metrics, evaluate_tokens
    from tf_lm.generation.text_generator import TextGenerator
    from tf_lm.run_dir.run_directory import RunDirectory

    check_ensemble(args.run_dir, args.ensemble, args.adapters)
    config, tokenizer, model = RunDirectory(args.run_dir).load(args.adapters)
    if args.corpus:
        config = _on_corpus(config, args.corpus)
    if config.model.task == "classifier":
        return _evaluate_classifier(args, config, tokenizer, model)
    if args.ensemble:
        kind = "a sentence VAE" if config.model.task == "vae" else "a language model"
        raise InputError(f"--ensemble averages classifiers' probabilities; {args.run_dir} is "
                         f"{kind}")
    if config.model.task == "vae":
        return _evaluate_vae(args, config, tokenizer, model)
    if args.samples is not None:
        raise InputError("--samples applies to sentence VAE runs")
    corpus = Corpus.from_config(config.data)
    if args.split not in corpus.split_names:
        raise InputError(f"The corpus {config.data.corpus} has no {args.split!r} split; it has "
                         f"{', '.join(corpus.split_names)}.")
    tokens = tokenize_split(corpus, args.split, tokenizer)
    context = config.data.block_size
    if args.continuations < 0:
        raise InputError(f"--continuations must be >= 0. Received: {args.continuations}")
    result = evaluate_tokens(model, tokens, context, stride=args.stride,
                             per_character=config.data.tokenizer == "char")
    result["split"] = args.split
    if args.continuations:
        result.update(continuation_metrics(TextGenerator(model, tokenizer), tokens,
                                           num_samples=args.continuations,
                                           prompt_tokens=context // 2,
                                           continuation_tokens=context // 2))
    if args.json:
        print(json.dumps(result))
        return 0
    line = (f"{args.split}: loss {result['loss']:.4f}, perplexity {result['perplexity']:.2f}, "
            f"token accuracy {result['token_accuracy']:.3f}")
    if "bits_per_character" in result:
        line += f", {result['bits_per_character']:.3f} bits per character"
    print(f"{line}\n{result['tokens']:,} tokens, each once ({result['convention']})")
    if args.continuations:
        print(f"continuations ({result['samples']}): BLEU {result['bleu']:.3f}, ROUGE-1 "
              f"{result['rouge1_f1']:.3f}, ROUGE-2 {result['rouge2_f1']:.3f}, ROUGE-L "
              f"{result['rougeL_f1']:.3f}")
    return 0


def _evaluate_classifier(args, config, tokenizer, model):
    import numpy as np

    from tf_lm.cli.classifier_runs import ensemble_members, probabilities_of
    from tf_lm.data.labelled_corpus import LabelledCorpus
    from tf_lm.errors import InputError
    from tf_lm.evaluation import classification_report
    from tf_lm.run_dir.classifier_ensemble import ensemble_configs

    if args.continuations or args.stride is not None:
        raise InputError("--continuations and --stride apply to language models; "
                         f"{args.run_dir} is a classifier")
    corpus = LabelledCorpus.from_config(config.data, label_names=model.label_names)
    texts, labels = corpus.texts(args.split), corpus.labels(args.split)
    for path, member_config in ensemble_configs(args.ensemble).items():
        _check_same_split(args, path, member_config, model.label_names, texts)
    members = ensemble_members(args.run_dir, config, tokenizer, model, args.ensemble)
    start = time.perf_counter()
    each = probabilities_of(members, texts)
    seconds = time.perf_counter() - start  # the first batch includes tracing
    report = classification_report(np.mean(each, axis=0), labels, model.label_names)
    report.update({"split": args.split, "texts_per_second": len(texts) / seconds})
    if args.ensemble:
        report["ensemble"] = [{"run_dir": str(member[0]), "accuracy": float(np.mean(
            np.argmax(p, axis=1) == labels))} for member, p in zip(members, each)]
    if args.json:
        print(json.dumps(report))
        return 0
    if args.ensemble:
        print(f"ensemble of {len(members)} runs, their mean probabilities (each run alone: "
              "accuracy " + ", ".join(f"{m['accuracy']:.4f}" for m in report["ensemble"]) + ")")
    print(f"{args.split}: accuracy {report['accuracy']:.4f}, macro F1 {report['macro_f1']:.4f} "
          f"(precision {report['macro_precision']:.4f}, recall {report['macro_recall']:.4f}), "
          f"loss {report['loss']:.4f}, {report['texts']:,} texts "
          f"({report['texts_per_second']:,.0f} texts/s)")
    width = max(len(name) for name in report["labels"]) + 2
    print(f"{'':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for name, row in report["per_class"].items():
        print(f"{name:<{width}}{row['precision']:>10.4f}{row['recall']:>10.4f}"
              f"{row['f1']:>10.4f}{row['support']:>10}")
    rows = zip(report["labels"], report["confusion_matrix"])
    print("confusion matrix (rows: true, columns: predicted): "
          + "; ".join(f"{name}: {row}" for name, row in rows))
    return 0


def _evaluate_vae(args, config, tokenizer, model):
    from tf_lm.data.corpus import Corpus
    from tf_lm.data.sentence_pipeline import sentences
    from tf_lm.errors import InputError
    from tf_lm.evaluation.sentence_likelihood import sentence_likelihood

    if args.continuations or args.stride is not None:
        raise InputError("--continuations and --stride apply to language models; "
                         f"{args.run_dir} is a sentence VAE")
    samples = 100 if args.samples is None else args.samples
    if samples < 0:
        raise InputError(f"--samples must be >= 0. Received: {samples}")
    corpus = Corpus.from_config(config.data)
    if args.split not in corpus.split_names:
        raise InputError(f"The corpus {config.data.corpus} has no {args.split!r} split; it has "
                         f"{', '.join(corpus.split_names)}.")
    texts = sentences(corpus.lines(args.split), config.data.sentences,
                      config.data.format == "wikitext")
    result = sentence_likelihood(model, tokenizer, texts, config.data.block_size,
                                 config.train.batch_size, samples=samples, seed=config.train.seed)
    result["split"] = args.split
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.split}: ELBO {result['elbo']:.3f} nats per sentence (reconstruction "
          f"{result['reconstruction']:.3f}, KL {result['kl']:.3f}); active units "
          f"{result['active_units']} of {model.latent_dim}")
    line = (f"per word: NLL bound {result['nll_bound_per_word']:.4f} (perplexity bound "
            f"{result['perplexity_bound']:.2f})")
    if samples:
        line = (f"importance-weighted ({samples} samples): NLL {result['nll']:.3f} per "
                f"sentence, {result['nll_per_word']:.4f} per word (perplexity "
                f"{result['perplexity']:.2f}); " + line)
    print(line)
    print(f"{result['sentences']:,} sentences, {result['tokens']:,} tokens (words and each "
          "sentence's <eos>)")
    return 0


def _on_corpus(config, corpus):
    """`config` reading `corpus` (evaluate --corpus); a cross-validation run's folds belong to
    its own data, so the other corpus is split by its files and fractions."""
    from tf_lm.config import Config

    data = {"corpus": corpus}
    if config.model.task == "classifier":
        data.update(folds=0, fold=0)
    return Config.from_dict({"data": data}, base=config)


def _check_same_split(args, path, member_config, label_names, texts):
    """Refuse an ensemble run whose data settings give another split: its training texts
    could be the texts evaluated."""
    from tf_lm.data.labelled_corpus import LabelledCorpus
    from tf_lm.errors import InputError

    if args.corpus:
        member_config = _on_corpus(member_config, args.corpus)
    try:
        split = LabelledCorpus.from_config(member_config.data, label_names=label_names)
    except InputError as e:
        raise InputError(f"--ensemble {path}: {e}") from None
    if args.split not in split.split_names or split.texts(args.split) != texts:
        raise InputError(f"--ensemble {path}: its data settings give another {args.split} "
                         f"split than {args.run_dir}'s; an ensemble's runs share their data "
                         "settings (data.corpus, data.seed, the fractions, data.folds/"
                         "data.fold, data.quoting)")
