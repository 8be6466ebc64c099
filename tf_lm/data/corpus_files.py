"""Finding a corpus's files: bundled names, files, directories, globs, split files."""

import glob
import os
import re

from tf_lm.errors import InputError

BUNDLED_DIR = os.path.join(os.path.dirname(__file__), "corpora")
BUNDLED = {"tinyshakespeare": os.path.join(BUNDLED_DIR, "tinyshakespeare", "input.txt")}
TEXT_EXTENSIONS = (".txt", ".text", ".tokens", ".raw")
_SPLIT_PATTERNS = {
    "train": re.compile(r"(^|[._-])train([._-]|$)"),
    "valid": re.compile(r"(^|[._-])(valid|validation|val|dev)([._-]|$)"),
    "test": re.compile(r"(^|[._-])test([._-]|$)"),
}


def _text_files_in(directory):
    names = sorted(
        n for n in os.listdir(directory)
        if not n.startswith(".") and n.lower().endswith(TEXT_EXTENSIONS)
        and os.path.isfile(os.path.join(directory, n))
    )
    if not names:
        raise InputError(
            f"Corpus directory '{directory}' has no text files "
            f"(expected files ending in {', '.join(TEXT_EXTENSIONS)})"
        )
    return [os.path.join(directory, n) for n in names]


def split_of(path):
    """The split a file or folder name says (`train`, `valid`, `test`), or None."""
    name = os.path.basename(os.path.normpath(path)).lower()
    matched = [s for s, pattern in _SPLIT_PATTERNS.items() if pattern.search(name)]
    return matched[0] if len(matched) == 1 else None


def _split_files(files):
    """{split: [files]} when the file names say train/valid/test, else None."""
    splits, unlabeled = {}, []
    for path in files:
        split = split_of(path)
        if split:
            splits.setdefault(split, []).append(path)
        else:
            unlabeled.append(path)
    if not splits:
        return None
    if unlabeled:
        raise InputError(
            f"Corpus directory has split files ({', '.join(sorted(splits))}) and files that name "
            f"no single split: '{unlabeled[0]}'; move them out or list the files explicitly"
        )
    if "train" not in splits:
        raise InputError(
            f"Corpus files name the splits {sorted(splits)} but none is a training file "
            "(a name with 'train' in it, like train.txt)"
        )
    return splits


def resolve(source):
    """Turns a corpus source into ({split: [files]} or None, [all files], display name).

    `source` is a bundled name, a file, a directory, a glob, or several of these separated
    by commas. A single directory whose files are named train/valid/test gives separate
    splits; everything else is one stream to split by fraction.
    """
    if not isinstance(source, str) or not source.strip():
        raise InputError(f"data.corpus must name a corpus or a path. Received: {source!r}")
    items = [s.strip() for s in source.split(",") if s.strip()]
    files = []
    single_directory = len(items) == 1 and os.path.isdir(items[0])
    for item in items:
        if item in BUNDLED:
            files.append(BUNDLED[item])
        elif os.path.isdir(item):
            files.extend(_text_files_in(item))
        elif os.path.isfile(item):
            files.append(item)
        elif glob.has_magic(item):
            matches = sorted(p for p in glob.glob(item) if os.path.isfile(p))
            if not matches:
                raise InputError(f"Corpus glob '{item}' matched no files")
            files.extend(matches)
        else:
            raise InputError(
                f"Corpus path not found: '{item}' (not a file, directory, glob or bundled "
                f"corpus; bundled: {', '.join(BUNDLED)})"
            )
    for path in files:
        if os.path.getsize(path) == 0:
            raise InputError(f"Corpus file '{path}' is empty")
    splits = _split_files(files) if single_directory else None
    return splits, files, source
