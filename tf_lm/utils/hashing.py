"""File digests, read in blocks so a multi-GB checkpoint does not sit in memory."""

import hashlib


def file_sha256(path):
    """The sha256 of the file at `path`, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
