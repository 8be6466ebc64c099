"""A text corpus and its train / valid / test splits, in memory or streamed from disk."""

import codecs
import os

import tensorflow as tf

from tf_lm.data import corpus_files
from tf_lm.errors import InputError

SPLITS = ("train", "valid", "test")
_BLOCK = 1 << 20


def read_text(path, errors):
    """A UTF-8 file's text with '\\n' line ends; invalid UTF-8 refused with its byte offset
    (or replaced: `errors='replace'`)."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8", errors=errors).replace("\r\n", "\n")
    except UnicodeDecodeError as e:
        raise InputError(
            f"Corpus file '{path}' is not valid UTF-8 at byte offset {e.start} "
            f"({e.reason}); fix the file or pass data.encoding_errors=replace"
        ) from None


def _count_lines(path, errors):
    """Lines in `path` (a last line without a newline counts), checking UTF-8 as it reads."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors=errors)
    lines = offset = 0
    last = b"\n"
    with open(path, "rb") as f:
        while True:
            block = f.read(_BLOCK)
            if not block:
                break
            try:
                decoder.decode(block)
            except UnicodeDecodeError as e:
                raise InputError(
                    f"Corpus file '{path}' is not valid UTF-8 at byte offset "
                    f"{offset + e.start} ({e.reason}); fix the file or pass "
                    "data.encoding_errors=replace"
                ) from None
            lines += block.count(b"\n")
            offset += len(block)
            last = block[-1:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as e:
        raise InputError(
            f"Corpus file '{path}' is not valid UTF-8 at byte offset {offset + e.start} "
            f"(truncated character); fix the file or pass data.encoding_errors=replace"
        ) from None
    return lines + (0 if last == b"\n" else 1)


def _split_lines(text):
    """Lines of `text`, each keeping its newline (the last one may have none)."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


class Corpus:
    """A corpus: its files and its train / valid / test splits.

    Build one with `Corpus.load(source, ...)` or `Corpus.from_config(data_config)`. The
    source is a bundled corpus name (`tinyshakespeare`), a file, a directory, a glob, or
    several separated by commas. A directory whose files are named for their splits
    (`train.txt`, `valid.txt`, `test.txt`, or WikiText's `wiki.train.tokens`...) gives those
    splits; any other source is split by fraction: the first `1 - valid - test` of it
    trains, then validation, then test (nanoGPT's split of Tiny Shakespeare: 1,003,854 /
    111,540 characters).

    Corpora up to `in_memory_max_mb` are read into memory and split at exact character
    offsets. Larger ones are streamed from disk (`tf.data.TextLineDataset`) and split at
    line boundaries; a line count pass also checks the UTF-8 without holding the text.
    Windows line endings (CRLF) are read as LF either way.

    Example:
    ```python
    corpus = Corpus.load("tinyshakespeare")
    corpus.num_chars("train")  # 1003854
    corpus.line_dataset("valid")  # tf.data.Dataset of lines
    ```
    """

    def __init__(self, name, files, split_files, format="text", valid_fraction=0.1,
                 test_fraction=0.0, encoding_errors="strict", streaming=False):
        self.name = name
        self.files = list(files)
        self.format = format
        self.encoding_errors = encoding_errors
        self.streaming = streaming
        self.num_bytes = sum(os.path.getsize(p) for p in self.files)
        self._split_files = split_files
        if split_files is None:
            fractions = {"train": 1.0 - valid_fraction - test_fraction,
                         "valid": valid_fraction, "test": test_fraction}
            self.split_names = [s for s in SPLITS if fractions[s] > 0]
        else:
            self.split_names = [s for s in SPLITS if s in split_files]
        self._fractions = (valid_fraction, test_fraction)
        self._texts = self._read_in_memory() if not streaming else None
        self._line_ranges = self._count_streamed() if streaming else None

    @classmethod
    def load(cls, source="tinyshakespeare", format="text", valid_fraction=0.1,
             test_fraction=0.0, encoding_errors="strict", in_memory_max_mb=512.0):
        """Finds and reads (or prepares to stream) a corpus; see the class docstring."""
        if format not in ("text", "wikitext"):
            raise InputError(f"Corpus format must be 'text' or 'wikitext'. Received: {format!r}")
        split_files, files, name = corpus_files.resolve(source)
        total = sum(os.path.getsize(p) for p in files)
        streaming = total > in_memory_max_mb * 1e6
        return cls(name, files, split_files, format=format, valid_fraction=valid_fraction,
                   test_fraction=test_fraction, encoding_errors=encoding_errors,
                   streaming=streaming)

    @classmethod
    def from_config(cls, data_config):
        c = data_config
        return cls.load(c.corpus, format=c.format, valid_fraction=c.valid_fraction,
                        test_fraction=c.test_fraction, encoding_errors=c.encoding_errors,
                        in_memory_max_mb=c.in_memory_max_mb)

    # ---- reading ---------------------------------------------------------------------
    def _files_of(self, split):
        return self._split_files[split] if self._split_files else self.files

    def _read_in_memory(self):
        def join(paths):
            parts = [read_text(p, self.encoding_errors) for p in paths]
            return "".join(p if p.endswith("\n") or i == len(parts) - 1 else p + "\n"
                           for i, p in enumerate(parts))

        if self._split_files is not None:
            return {s: join(self._split_files[s]) for s in self.split_names}
        text = join(self.files)
        valid, test = self._fractions
        n = len(text)
        train_end = int(n * (1.0 - valid - test))
        valid_end = int(n * (1.0 - test))
        texts = {"train": text[:train_end], "valid": text[train_end:valid_end],
                 "test": text[valid_end:]}
        return {s: texts[s] for s in self.split_names}

    def _count_streamed(self):
        """{split: (files, first line, number of lines)} for the streamed splits."""
        if self._split_files is not None:
            return {s: (self._split_files[s], 0,
                        sum(_count_lines(p, self.encoding_errors) for p in self._split_files[s]))
                    for s in self.split_names}
        total = sum(_count_lines(p, self.encoding_errors) for p in self.files)
        valid, test = self._fractions
        train_end = int(total * (1.0 - valid - test))
        valid_end = int(total * (1.0 - test))
        ranges = {"train": (self.files, 0, train_end),
                  "valid": (self.files, train_end, valid_end - train_end),
                  "test": (self.files, valid_end, total - valid_end)}
        return {s: ranges[s] for s in self.split_names}

    def _check_split(self, split):
        if split not in self.split_names:
            raise InputError(
                f"Corpus '{self.name}' has no '{split}' split. "
                f"Splits: {', '.join(self.split_names)}"
            )

    def text(self, split):
        """The whole text of an in-memory split."""
        self._check_split(split)
        if self.streaming:
            raise InputError(
                f"Corpus '{self.name}' is streamed from disk ({self.num_bytes} bytes); "
                "use lines() or line_dataset() instead of text()"
            )
        return self._texts[split]

    def num_chars(self, split):
        """Characters in an in-memory split, None when streamed."""
        return None if self.streaming else len(self.text(split))

    def num_lines(self, split):
        self._check_split(split)
        if self.streaming:
            return self._line_ranges[split][2]
        return len(_split_lines(self._texts[split]))

    def lines(self, split):
        """The split's lines, each ending in a newline: a list, or a re-readable stream."""
        self._check_split(split)
        if not self.streaming:
            return _split_lines(self._texts[split])
        return _LineStream(*self._line_ranges[split], self.encoding_errors)

    def line_dataset(self, split):
        """The split's lines as a `tf.data.Dataset` of strings, each ending in a newline."""
        self._check_split(split)
        if not self.streaming:
            return tf.data.Dataset.from_tensor_slices(tf.constant(self.lines(split), tf.string))
        files, start, count = self._line_ranges[split]
        lines = tf.data.TextLineDataset(files).skip(start).take(count)
        return lines.map(lambda line: line + "\n")

    def source_of(self, split):
        """The file or files `split` is read from, for messages."""
        files = self._files_of(split)
        return files[0] if len(files) == 1 else f"{len(files)} files ({files[0]}, ...)"

    def describe(self):
        """A JSON-ready summary: files, bytes, and per split characters and lines."""
        splits = {}
        for s in self.split_names:
            splits[s] = {"files": self._files_of(s), "chars": self.num_chars(s),
                         "lines": self.num_lines(s)}
        return {"corpus": self.name, "format": self.format, "streaming": self.streaming,
                "files": self.files, "bytes": self.num_bytes, "splits": splits}


class _LineStream:
    """Re-readable iteration over lines [start, start + count) of some files."""

    def __init__(self, files, start, count, errors):
        self.files, self.start, self.count, self.errors = files, start, count, errors

    def __iter__(self):
        index = 0
        end = self.start + self.count
        for path in self.files:
            with open(path, encoding="utf-8", errors=self.errors, newline="\n") as f:
                for line in f:
                    if index >= end:
                        return
                    if index >= self.start:
                        if line.endswith("\r\n"):  # as TextLineDataset reads it
                            line = line[:-2]
                        yield line if line.endswith("\n") else line + "\n"
                    index += 1

    def __len__(self):
        return self.count
