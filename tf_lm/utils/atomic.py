"""Writing files so that a crash or a full disk never leaves a half-written one in place."""

import json
import os
import shutil


def write_json(path, data):
    """Write JSON to `path` through a temporary file in the same directory and a rename."""
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_weights(model, path):
    """`model.save_weights(path)` via a temporary file and a rename (`path` ends .weights.h5)."""
    tmp = path[: -len(".weights.h5")] + ".tmp.weights.h5"
    try:
        model.save_weights(tmp, overwrite=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def remove_quietly(path):
    shutil.rmtree(path, ignore_errors=True)
