"""The `--model_config_file` of TF Serving for the models under an export base directory."""

import os

from tf_lm.errors import InputError


def model_versions(directory):
    """The version numbers under a model directory (TF Serving reads numeric folders only)."""
    if not os.path.isdir(directory):
        return []
    return sorted(int(entry) for entry in os.listdir(directory)
                  if entry.isdigit() and os.path.isdir(os.path.join(directory, entry)))


def models_config_text(base, serving_base="/models"):
    """A `model_config_list` naming every model under `base` with its newest version.

    Each model serves its newest version, labelled `stable`; `base_path` is where the
    server sees the folder (`SERVING_BASE/NAME`, the official image mounts models under
    `/models`). The text parses as `tensorflow_serving.config.ModelServerConfig`.
    """
    if not os.path.isdir(base):
        raise InputError(f"Export base directory not found: '{base}' (export a model first "
                         "with `tf-lm export --run-dir DIR`).")
    models = {name: model_versions(os.path.join(base, name)) for name in sorted(os.listdir(base))}
    models = {name: versions for name, versions in models.items() if versions}
    if not models:
        raise InputError(f"No exported model under '{base}': expected NAME/VERSION folders.")
    lines = ["# TF Serving model config, written by `tf-lm export --models-config`.",
             "# Serve with: tensorflow_model_server --model_config_file=/models/models.config",
             "model_config_list {"]
    for name, versions in models.items():
        newest = versions[-1]
        lines += ["  config {",
                  f'    name: "{name}"',
                  f'    base_path: "{serving_base.rstrip("/")}/{name}"',
                  '    model_platform: "tensorflow"',
                  f"    model_version_policy {{ specific {{ versions: {newest} }} }}",
                  f'    version_labels {{ key: "stable" value: {newest} }}',
                  "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n"
