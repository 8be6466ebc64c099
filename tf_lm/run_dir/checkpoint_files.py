"""Reading a run's weight files: the newest complete backups, and loading with a clear error."""

import os
import re

from tf_lm.errors import InputError

_DIRECTORY = re.compile(r"^step-(\d+)$")


def load_weights_or_refuse(model, path):
    """`model.load_weights(path)`, with a mismatch or a damaged file as one clear error."""
    try:
        model.load_weights(path)
    except (ValueError, OSError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"Cannot load {path} into this model ({first}); the file is damaged "
                         "or was written for another model configuration.") from None


def latest_backups(directory):
    """[(step, path)] of complete backups in `directory`, newest first."""
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = _DIRECTORY.match(name)
        path = os.path.join(directory, name)
        if match and os.path.exists(os.path.join(path, "state.json")):
            found.append((int(match.group(1)), path))
    return sorted(found, reverse=True)
