"""Reading pretrained word vectors (GloVe / word2vec text format) for a word vocabulary."""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class WordVectorCoverage:
    """How many vocabulary words a vector file covered."""

    covered: int
    total: int
    missing: tuple  # up to 10 vocabulary words without a vector, in vocabulary order

    @property
    def fraction(self):
        return self.covered / self.total if self.total else 0.0

    def __str__(self):
        return (f"word vectors cover {self.covered:,} of {self.total:,} vocabulary words "
                f"({100 * self.fraction:.1f} %)")


def read_word_vectors(path, vocabulary, dim):
    """Vectors of `vocabulary` words from a text file, one `word v1 ... v_dim` per line.

    GloVe files have no header; word2vec text files start with `count dim`, which is checked.
    The last `dim` fields of a line are the vector and the rest is the word (GloVe 840B has
    words with spaces in them). An exact match wins over a lower-cased one.

    Every line must have at least `dim + 1` fields; the numbers of the vectors that are used
    must parse and be finite. (Lines of words outside the vocabulary are not parsed: a large
    GloVe file would take minutes.) Either failure raises `ValueError` naming file and line.

    Returns `(rows, vectors, coverage)` where `vectors[k]` belongs to token id `rows[k]`.
    """
    index = {}
    for token_id, word in enumerate(vocabulary):
        index.setdefault(word, token_id)
    lower_index = {}
    for token_id, word in enumerate(vocabulary):
        lower_index.setdefault(word.lower(), []).append(token_id)
    exact, lowered = {}, {}
    with open(path, encoding="utf-8", errors="strict") as handle:
        for line_number, line in enumerate(handle, start=1):
            parts = line.rstrip("\r\n").rstrip(" ").split(" ")
            if line_number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                if int(parts[1]) != dim:
                    raise ValueError(
                        f"{path}: line 1: the word2vec header says {parts[1]}-dimensional "
                        f"vectors, the embedding expects dim={dim}.")
                continue
            if parts == [""]:
                continue
            if len(parts) < dim + 1:
                raise ValueError(
                    f"{path}: line {line_number}: expected a word and {dim} numbers, received "
                    f"{len(parts)} fields.")
            word, values = " ".join(parts[:-dim]), parts[-dim:]
            if word not in index and word.lower() not in lower_index:
                continue
            try:
                vector = np.asarray(values, dtype="float32")
            except ValueError:
                vector = None
            if vector is None or not np.all(np.isfinite(vector)):
                raise ValueError(f"{path}: line {line_number}: the {dim} values after {word!r} "
                                 f"are not all finite numbers.")
            if word in index:
                exact.setdefault(index[word], vector)
            for token_id in lower_index.get(word.lower(), ()):
                lowered.setdefault(token_id, vector)
    found = {**lowered, **exact}
    rows = sorted(found)
    vectors = np.stack([found[r] for r in rows]) if rows else np.zeros((0, dim), "float32")
    missing = tuple(w for i, w in enumerate(vocabulary) if i not in found)[:10]
    return rows, vectors, WordVectorCoverage(len(rows), len(vocabulary), missing)
