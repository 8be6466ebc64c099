"""LoRA adapters of a GPT `CausalLM`: which layers carry them, their small file, merging them.

The adapters themselves are Keras' own (`Dense.enable_lora`); this module names the layers,
writes the low-rank factors alone as safetensors (with a fingerprint of the base weights they
were trained on) and puts them back onto a base model.
"""

import hashlib
import json
import os
import tempfile

import numpy as np

from tf_lm.errors import InputError

ADAPTERS_FILE = "adapters.safetensors"
BASE_ATTRIBUTE = "lora_base_sha256"


def lora_targets(model, feed_forward=False):
    """{name: Dense} of the layers LoRA adapts: each block's attention projections (and the
    feed-forward ones)."""
    blocks = getattr(model.backbone, "transformer_blocks", None)
    if blocks is None:
        raise InputError("LoRA adapts attention layers; this model is "
                         f"{type(model.backbone).__name__}, which has none")
    targets = {}
    for i, block in enumerate(blocks):
        targets[f"block_{i}/attention/qkv"] = block.attention.qkv_dense
        targets[f"block_{i}/attention/output"] = block.attention.output_dense
        if feed_forward:
            targets[f"block_{i}/feed_forward/intermediate"] = block.feed_forward.intermediate_dense
            targets[f"block_{i}/feed_forward/output"] = block.feed_forward.output_dense
    return targets


def adapted_layers(model):
    """{name: Dense} of the layers with LoRA enabled (empty for an ordinary model)."""
    if not hasattr(model.backbone, "transformer_blocks"):
        return {}
    return {name: layer for name, layer in lora_targets(model, feed_forward=True).items()
            if getattr(layer, "lora_enabled", False)}


def base_fingerprint(model):
    """sha256 of the weights LoRA leaves frozen (adapted kernels without their adapters), in
    order: equal for the base run and for every model fine-tuned from it with LoRA alone."""
    adapters = set()
    for layer in adapted_layers(model).values():  # `model.weights` holds the frozen `_kernel`
        adapters |= {id(layer.lora_kernel_a), id(layer.lora_kernel_b)}
    digest = hashlib.sha256()
    for variable in model.weights:
        if id(variable) not in adapters:
            digest.update(np.ascontiguousarray(np.asarray(variable)).tobytes())
    return digest.hexdigest()


def save_adapters(model, path):
    """Writes the LoRA matrices alone (a few % of the model) as safetensors; returns bytes."""
    from safetensors.numpy import save_file

    layers = adapted_layers(model)
    if not layers:
        raise ValueError("The model has no LoRA adapters to save")
    tensors = {}
    for name, layer in layers.items():
        tensors[f"{name}/a"] = np.asarray(layer.lora_kernel_a)
        tensors[f"{name}/b"] = np.asarray(layer.lora_kernel_b)
    first = next(iter(layers.values()))
    # A model resumed from merged weights has its base kernels back only to rounding: it keeps
    # the fingerprint its adapters file had.
    base = getattr(model, BASE_ATTRIBUTE, None) or base_fingerprint(model)
    metadata = {"rank": str(first.lora_rank), "alpha": str(first.lora_alpha),
                "layers": json.dumps(sorted(layers)), "base_sha256": base}
    tmp = f"{path}.tmp"
    save_file(tensors, tmp, metadata=metadata)
    os.replace(tmp, path)
    return os.path.getsize(path)


def load_adapters(model, path, merged=False):
    """Puts the adapters of `path` onto `model` (LoRA is enabled on the named layers if it is
    not yet).

    Args:
        merged: the model's kernels already include these adapters (weights saved by Keras
            merge them, and zero the adapters on load): take them out again, so training
            goes on from the same factors. Otherwise `model` must be the base the adapters
            were trained on (its fingerprint is checked).
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
        rank, alpha = int(metadata["rank"]), float(metadata["alpha"])
        names = json.loads(metadata["layers"])
    except (SafetensorError, OSError, ValueError, KeyError) as e:
        raise InputError(f"LoRA adapters file '{path}' is unreadable: {e}") from None
    available = lora_targets(model, feed_forward=True)
    expected = metadata.get("base_sha256")
    if not merged and expected and base_fingerprint(model) != expected:
        raise InputError(f"LoRA adapters file '{path}' was trained on other base weights than "
                         "this model's (base_sha256 differs); apply it to the run it was "
                         "fine-tuned from (its config's train.init_from)")
    for name in names:
        if name not in available or f"{name}/a" not in tensors:
            raise InputError(f"LoRA adapters file '{path}' names layer {name}, which this model "
                             "lacks")
        layer = available[name]
        if not layer.lora_enabled:
            layer.enable_lora(rank, lora_alpha=alpha)
        a, b = tensors[f"{name}/a"], tensors[f"{name}/b"]
        if a.shape != tuple(layer.lora_kernel_a.shape) or b.shape != tuple(
                layer.lora_kernel_b.shape):
            raise InputError(f"LoRA adapters file '{path}': layer {name} has adapters of shapes "
                             f"{a.shape}, {b.shape}; the model expects "
                             f"{tuple(layer.lora_kernel_a.shape)}, "
                             f"{tuple(layer.lora_kernel_b.shape)}")
        if merged:
            delta = (layer.lora_alpha / layer.lora_rank) * (a @ b)
            # Keras keeps the frozen base in `_kernel`; its `kernel` adds the adapters.
            layer._kernel.assign(np.asarray(layer._kernel) - delta)
        layer.lora_kernel_a.assign(a)
        layer.lora_kernel_b.assign(b)
    if merged and expected:
        setattr(model, BASE_ATTRIBUTE, expected)


def plain_weights(model):
    """`model`'s weights as the same model without LoRA has them: each adapted kernel merged,
    the adapters left out (a copy without adapters takes these in order)."""
    adapters, merged = set(), {}
    for layer in adapted_layers(model).values():
        adapters |= {id(layer.lora_kernel_a), id(layer.lora_kernel_b)}
        merged[id(layer._kernel)] = layer
    return [merged[id(v)].kernel if id(v) in merged else v
            for v in model.weights if id(v) not in adapters]


def with_adapters_merged(model, path):
    """A new plain model: `model` (the base) with the adapters of `path` merged into its
    kernels, as Keras saving merges them; its graph has no adapter ops."""
    from tf_lm.models.saving import load_model

    load_adapters(model, path)
    with tempfile.TemporaryDirectory() as directory:
        saved = os.path.join(directory, "model.keras")
        model.save(saved)
        return load_model(saved, compile=False)
