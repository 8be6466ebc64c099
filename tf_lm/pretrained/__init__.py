"""Pretrained weights from files on disk: a Hugging Face GPT-2 checkpoint becomes a run."""

from tf_lm.pretrained.gpt2_checkpoint import GPT2Checkpoint
from tf_lm.pretrained.import_run import import_gpt2
from tf_lm.pretrained.init_from import init_from_config

__all__ = ["GPT2Checkpoint", "import_gpt2", "init_from_config"]
