"""Keeps TensorFlow's C++ start-up lines (oneDNN notice, CUDA probing) off the terminal.

Native code writes them to file descriptor 2 before Python's logging is involved, and
`TF_CPP_MIN_LOG_LEVEL` does not cover the ones absl writes before it is initialised, so the
CLI points descriptor 2 at a scratch file while TensorFlow is first imported and probes its
devices. The commands import TensorFlow only when their flags are valid, so a bad flag still
answers at once; `tf-lm --verbose` shows the lines.
"""

import contextlib
import importlib.abc
import importlib.util
import os
import sys
import tempfile


@contextlib.contextmanager
def native_stderr_to(sink):
    """Send file descriptor 2 (native code's stderr) to the file object `sink` meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(sink.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def quiet_tensorflow_start():
    """Hold back TensorFlow's start-up lines when it is first imported (now, if it already
    is, nothing can be held back)."""
    if "tensorflow" not in sys.modules and \
            not any(isinstance(f, _QuietStart) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietStart())


class _QuietStart(importlib.abc.MetaPathFinder):
    """Wraps the first import of `tensorflow` (and its device probe) in `native_stderr_to`."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        original = spec.loader.exec_module

        def exec_module(module):
            with tempfile.TemporaryFile() as sink, native_stderr_to(sink):
                original(module)
                module.config.list_physical_devices()  # CUDA's probe writes its lines now

        spec.loader.exec_module = exec_module
        return spec
