"""Serving: the exported SavedModel that stock TF Serving loads (text in, text out)."""

from tf_lm.serving.exporter import export_model, export_run
from tf_lm.serving.models_config import models_config_text
from tf_lm.serving.serving_module import ServingModule

__all__ = ["ServingModule", "export_model", "export_run", "models_config_text"]
