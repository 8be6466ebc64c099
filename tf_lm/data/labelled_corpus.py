"""Labelled texts for classification, and their train / valid / test splits."""

import csv
import io
import os

import numpy as np

from tf_lm.data.corpus import read_text
from tf_lm.data.corpus_files import BUNDLED, split_of
from tf_lm.errors import InputError

TABLE_DELIMITERS = {".tsv": "\t", ".csv": ","}
_TEXT_COLUMNS = ("text", "sentence", "review", "document")
_LABEL_COLUMNS = ("label", "class", "category", "sentiment")


class LabelledCorpus:
    """Texts with labels, split into train / valid / test.

    `data.corpus` names one of three layouts (Keras' and the literature's):
    - a table: a `.tsv` or `.csv` file of `label, text` rows, with or without a header (a
      header names the columns `label`/`class` and `text`/`sentence`, in either order);
    - a folder per class: `DIR/CLASS/*` with one text a file (Keras'
      `text_dataset_from_directory`);
    - a file per class, one text a line: `rt-polarity.pos` and `rt-polarity.neg` (files that
      share a name are labelled by their extension, others by their name), given as a folder
      or a comma-separated list.
    Files or folders named for a split (`train.tsv`, `test/`...) give that split; what no
    file provides is taken from the training data as a seeded, stratified fraction (each
    class in the same proportion in every split). With `folds`, k-fold cross-validation: the
    data is dealt into `folds` stratified folds and fold `fold` is the test split. Label names
    are sorted; label `i` is the i-th name.

    Args:
        name: the source, for messages.
        splits: {split: (texts, label ids)}.
        label_names: the class names.
    """

    def __init__(self, name, splits, label_names):
        self.name = name
        self.label_names = list(label_names)
        self._splits = splits
        self.split_names = [s for s in ("train", "valid", "test") if s in splits]

    @classmethod
    def from_config(cls, data_config, label_names=None):
        return cls.load(data_config.corpus, data_config.valid_fraction,
                        data_config.test_fraction, data_config.seed,
                        data_config.encoding_errors, label_names, data_config.folds,
                        data_config.fold, data_config.quoting)

    @classmethod
    def load(cls, source, valid_fraction=0.1, test_fraction=0.1, seed=1337, errors="strict",
             label_names=None, folds=0, fold=0, quoting="csv"):
        """Reads and splits `source` (see the class docstring).

        Args:
            label_names: a trained classifier's labels: every label must be one of them (in
                any split), and label ids follow their order. None: the training split's
                labels, sorted (at least two).
            folds, fold: cross-validation: fold `fold` of `folds` (dealt from a shuffle of
                each class by `seed`) is the test split; `test_fraction` must be 0.
            quoting: tables' quoting, `csv` or `none` (every character literal).
        """
        items = [s.strip() for s in str(source).split(",") if s.strip()]
        if not items:
            raise InputError(f"data.corpus must name labelled data. Received: {source!r}")
        for item in items:
            if not os.path.exists(item):
                if item in BUNDLED:
                    raise InputError(f"data.corpus='{item}' is a bundled unlabelled corpus; a "
                                     "classifier needs labelled data: pass --data.corpus with "
                                     "a table, a folder per class or a file per class")
                raise InputError(f"Labelled corpus path not found: '{item}'")
        named = _named_splits(items)
        rows = {split: _read(paths, errors, quoting) for split, paths in named.items()}
        if "train" not in rows:
            raise InputError(f"Labelled corpus '{source}' names splits {sorted(rows)} but no "
                             "training split")
        known = label_names is not None
        if not known:
            label_names = sorted({label for label, _, _ in rows["train"]})
            if len(label_names) < 2:
                raise InputError(f"Labelled corpus '{source}' has one class only in its "
                                 f"training data ({label_names[0]!r}); a classifier needs at "
                                 "least two")
        index = {name: i for i, name in enumerate(label_names)}
        splits = {}
        for split, split_rows in rows.items():
            for label, _, where in split_rows:
                if label not in index:
                    which = "the model's" if known else "the training"
                    raise InputError(f"{where}: label {label!r} is not among {which} labels "
                                     f"{label_names}")
            splits[split] = ([text for _, text, _ in split_rows],
                             np.array([index[label] for label, _, _ in split_rows], np.int32))
        if folds:
            if "test" in splits:
                raise InputError(f"data.folds={folds} takes the test split from the folds, but "
                                 f"'{source}' has a test file; give the data without it")
            splits.update(_fold(splits["train"], folds, fold, seed, label_names))
        fractions = {"valid": valid_fraction, "test": test_fraction}
        wanted = [s for s in ("valid", "test") if s not in splits and fractions[s] > 0]
        if wanted:
            splits.update(_stratified(splits, wanted, fractions, seed))
        return cls(str(source), splits, label_names)

    def texts(self, split):
        self._check(split)
        return list(self._splits[split][0])

    def labels(self, split):
        self._check(split)
        return self._splits[split][1].copy()

    def lines(self, split):
        """The texts of a split (what a tokenizer learns its vocabulary from)."""
        return self.texts(split)

    def class_counts(self, split):
        return np.bincount(self.labels(split), minlength=len(self.label_names))

    def preprocessed(self, preprocess):
        """This corpus as lines of `preprocess(texts)` per split: what a tokenizer learns."""
        return _PreprocessedLines(self, preprocess)

    def describe(self):
        return {"corpus": self.name, "labels": self.label_names,
                "splits": {s: {"texts": len(self._splits[s][0]),
                               "per_class": self.class_counts(s).tolist()}
                           for s in self.split_names}}

    def _check(self, split):
        if split not in self._splits:
            raise InputError(f"Labelled corpus '{self.name}' has no {split!r} split; it has "
                             f"{', '.join(self.split_names)}")


class _PreprocessedLines:
    def __init__(self, corpus, preprocess):
        self.corpus, self.preprocess = corpus, preprocess
        self.split_names = corpus.split_names

    def lines(self, split):
        return self.preprocess(self.corpus.texts(split))


def _named_splits(items):
    """{split: [paths]}: items named for splits, or everything as `train`."""
    if len(items) == 1 and os.path.isdir(items[0]):
        children = sorted(os.path.join(items[0], n) for n in os.listdir(items[0])
                          if not n.startswith("."))
        named = {}
        for child in children:
            split = split_of(child)
            if split:
                named.setdefault(split, []).append(child)
        if named and len(sum(named.values(), [])) == len(children):
            return named
        return {"train": items}
    named = {}
    for item in items:
        named.setdefault(split_of(item) or "train", []).append(item)
    return named if "train" in named else {"train": items}


def _read(paths, errors, quoting="csv"):
    """[(label, text, where)] from tables, folders per class or files per class."""
    if len(paths) == 1 and os.path.isdir(paths[0]):
        directory = paths[0]
        entries = sorted(n for n in os.listdir(directory) if not n.startswith("."))
        folders = [n for n in entries if os.path.isdir(os.path.join(directory, n))]
        if folders:
            return [row for name in folders for row in _read_class_folder(
                os.path.join(directory, name), name, errors)]
        paths = [os.path.join(directory, n) for n in entries]
    tables = [p for p in paths if os.path.splitext(p)[1].lower() in TABLE_DELIMITERS]
    if tables:
        if len(tables) != len(paths):
            raise InputError(f"Labelled corpus mixes tables ({tables[0]}) with other files; "
                             "give one layout")
        return [row for path in tables for row in _read_table(path, errors, quoting)]
    if os.path.isdir(paths[0]):
        return [row for path in paths for row in _read_class_folder(
            path, os.path.basename(os.path.normpath(path)), errors)]
    if len(paths) < 2:
        raise InputError(
            f"'{paths[0]}' is one plain text file; a labelled corpus is a .tsv/.csv table of "
            "label,text rows, a folder per class, or one file per class")
    stems = {os.path.splitext(os.path.basename(p))[0] for p in paths}
    rows = []
    for path in paths:
        stem, extension = os.path.splitext(os.path.basename(path))
        label = extension[1:] if len(stems) == 1 and extension else stem
        lines = read_text(path, errors).split("\n")
        if lines and not lines[-1]:
            lines.pop()  # the file's last newline
        for number, line in enumerate(lines, 1):
            if not line.strip():
                raise InputError(f"{path}:{number}: empty text")
            rows.append((label, line.strip(), f"{path}:{number}"))
    return rows


def _read_class_folder(directory, label, errors):
    names = sorted(n for n in os.listdir(directory)
                   if not n.startswith(".") and os.path.isfile(os.path.join(directory, n)))
    rows = []
    for name in names:
        path = os.path.join(directory, name)
        text = read_text(path, errors).strip()
        if not text:
            raise InputError(f"{path}: empty text")
        rows.append((label, text, path))
    return rows


def _read_table(path, errors, quoting="csv"):
    delimiter = TABLE_DELIMITERS[os.path.splitext(path)[1].lower()]
    records = list(csv.reader(io.StringIO(read_text(path, errors)), delimiter=delimiter,
                              quoting=csv.QUOTE_NONE if quoting == "none" else csv.QUOTE_MINIMAL))
    label_column, text_column, start = 0, 1, 0
    header = [field.strip().lower() for field in records[0]] if records else []
    if len(header) == 2 and set(header) & set(_TEXT_COLUMNS) and set(header) & set(
            _LABEL_COLUMNS):
        text_column = 0 if header[0] in _TEXT_COLUMNS else 1
        label_column, start = 1 - text_column, 1
    rows = []
    for number, record in enumerate(records[start:], start + 1):
        if not record:
            continue
        if len(record) != 2:
            raise InputError(f"{path}:{number}: expected 2 fields (label, text) separated by "
                             f"{delimiter!r}. Received: {len(record)}")
        label, text = record[label_column].strip(), record[text_column].strip()
        if not label:
            raise InputError(f"{path}:{number}: empty label")
        if not text:
            raise InputError(f"{path}:{number}: empty text")
        rows.append((label, text, f"{path}:{number}"))
    if not rows:
        raise InputError(f"Labelled corpus file '{path}' holds no rows")
    return rows


def _stratified(splits, wanted, fractions, seed):
    """Moves a seeded fraction of each class from `train` into each wanted split."""
    texts, labels = splits["train"]
    rng = np.random.default_rng(seed)
    taken = {split: [] for split in wanted}
    keep = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        start = 0
        for split in wanted:
            count = int(round(fractions[split] * len(members)))
            taken[split].extend(members[start:start + count])
            start += count
        keep.extend(members[start:])
    out = {"train": ([texts[i] for i in sorted(keep)], labels[sorted(keep)])}
    for split, members in taken.items():
        members = sorted(members)
        if not members:
            raise InputError(f"data.{split}_fraction={fractions[split]} leaves no text for the "
                             f"{split} split; use a larger fraction or a {split} file")
        out[split] = ([texts[i] for i in members], labels[members])
    return out


def _fold(train, folds, fold, seed, label_names):
    """{train, test}: each class shuffled by `seed` and dealt round the folds; `fold` is the
    test split, the other folds the training split, both in the data's order."""
    texts, labels = train
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < folds:
            raise InputError(f"Class {label_names[label]!r} has {len(members)} texts, fewer than "
                             f"data.folds={folds}: every fold needs one of each class")
        test.extend(rng.permutation(members)[fold::folds])
    test = np.sort(np.asarray(test, np.int64))
    keep = np.setdiff1d(np.arange(len(texts)), test)
    return {"train": ([texts[i] for i in keep], labels[keep]),
            "test": ([texts[i] for i in test], labels[test])}
