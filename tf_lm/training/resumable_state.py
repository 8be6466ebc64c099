"""Callback state that outlives one `fit` call: kept across fits and in backups."""

import numpy as np


def _plain(value):
    """A JSON-ready copy of a callback attribute (NumPy scalars as Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


class ResumableState:
    """Mixin for a Keras callback whose `resumable` attributes must survive a resume.

    Keras' callbacks reset their counters in `on_train_begin`, so a resumed run (or the two
    `fit` calls of a run resumed mid-interval) would forget the best validation so far and the
    epochs waited. Mixed in before the Keras class, it puts them back after that reset;
    `resume_state()` is what `Backup` saves.

    Args:
        state: a `resume_state()` dict from a backup, or None.
    """

    resumable = ()

    def __init__(self, *args, state=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._carried = dict(state) if state else None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for name, value in (self._carried or {}).items():
            if name in self.resumable:
                setattr(self, name, value)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        self._carried = self.resume_state()

    def resume_state(self):
        """{attribute: value} of the `resumable` attributes, JSON-ready."""
        return {name: _plain(getattr(self, name)) for name in self.resumable}
