"""A run directory: where training writes, and what generation, evaluation and serving read."""

from tf_lm.run_dir.run_directory import RunDirectory

__all__ = ["RunDirectory"]
