"""The run's CSV log, one row per Keras epoch, with the same columns across fits."""

import csv
import os

import keras


class TrainingLog(keras.callbacks.CSVLogger):
    """Keras' `CSVLogger` that, appending to a log with a header, keeps the header's columns.

    Keras picks the columns again at every `fit` (adding `val_` copies of every key when the
    first epoch of that fit does not validate) but writes the header only to a new file, so
    a resumed run — or the two fits of a run resumed mid-interval — would write rows that do
    not line up with the header. A key missing from an epoch's logs is written as `NA`.

    Args:
        filename: the CSV file.
        append: append to the file if it exists (a resumed run).
    """

    def __init__(self, filename, append=False):
        super().__init__(filename, append=append)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        header = self._header()
        if header:
            self.keys = header[1:]

    def _header(self):
        """The existing file's header row when appending to it, else None."""
        if not self.append or not os.path.exists(self.filename):
            return None
        with open(self.filename, newline="", encoding="utf-8") as handle:
            row = next(csv.reader(handle, delimiter=self.sep), None)
        return row if row and row[0] == "epoch" else None
