"""Fine-tuning options: start from another run's weights, freeze layers, train LoRA adapters."""

import json
import os

import numpy as np

from tf_lm.errors import InputError

ADAPTERS_FILE = "adapters.safetensors"


def copy_weights(model, source):
    """Assigns `source`'s weights (a built model of the same architecture) to `model`, in
    order, each shape checked; a stateful model's carried states are left alone."""
    states = {id(v) for v in getattr(model.backbone, "state_variables", lambda: [])()}
    targets = [v for v in model.weights if id(v) not in states]
    values = source.get_weights()
    if len(targets) != len(values):
        raise InputError(f"The model has {len(targets)} weights but the run it starts from has "
                         f"{len(values)}: not the same architecture")
    for variable, value in zip(targets, values):
        if tuple(variable.shape) != value.shape:
            raise InputError(f"Weight {variable.path} has shape {tuple(variable.shape)} but the "
                             f"run it starts from has {value.shape}")
        variable.assign(value)


def freeze(model, embeddings=False, blocks=0):
    """Freezes the token and position embeddings (with tied embeddings, the output layer too)
    and/or the bottom `blocks` Transformer blocks."""
    backbone = model.backbone
    if blocks:
        layers = getattr(backbone, "transformer_blocks", None)
        if layers is None:
            raise InputError("train.freeze_blocks freezes Transformer blocks; this model is "
                             f"{type(backbone).__name__}. Received: freeze_blocks={blocks}")
        if blocks > len(layers):
            raise InputError(f"train.freeze_blocks={blocks} but the model has {len(layers)} "
                             "blocks")
        for block in layers[:blocks]:
            block.trainable = False
    if embeddings:
        backbone.token_embedding.trainable = False
        position = getattr(backbone, "position_embedding", None)
        if position is not None:
            position.trainable = False


def lora_targets(model, feed_forward=False):
    """{name: Dense} of the layers LoRA adapts: each block's attention projections (and the
    feed-forward ones)."""
    blocks = getattr(model.backbone, "transformer_blocks", None)
    if blocks is None:
        raise InputError("train.lora_rank adapts attention layers; this model is "
                         f"{type(model.backbone).__name__}, which has none")
    targets = {}
    for i, block in enumerate(blocks):
        targets[f"block_{i}/attention/qkv"] = block.attention.qkv_dense
        targets[f"block_{i}/attention/output"] = block.attention.output_dense
        if feed_forward:
            targets[f"block_{i}/feed_forward/intermediate"] = block.feed_forward.intermediate_dense
            targets[f"block_{i}/feed_forward/output"] = block.feed_forward.output_dense
    return targets


def enable_lora(model, rank, alpha=None, feed_forward=False):
    """Keras' own `Dense.enable_lora` on the target layers, everything else frozen (Hu et al.:
    only the adapters train). Returns the adapted layers by name."""
    if rank < 1:
        raise InputError(f"train.lora_rank must be at least 1. Received: {rank}")
    targets = lora_targets(model, feed_forward)
    for variable in model.trainable_variables:
        variable.trainable = False
    for layer in targets.values():
        layer.enable_lora(rank, lora_alpha=alpha or rank)  # freezes the kernel, adds A and B
    return targets


def adapted_layers(model):
    """{name: Dense} of the layers with LoRA enabled (empty for an ordinary model)."""
    if not hasattr(model.backbone, "transformer_blocks"):
        return {}
    return {name: layer for name, layer in lora_targets(model, feed_forward=True).items()
            if getattr(layer, "lora_enabled", False)}


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
    metadata = {"rank": str(first.lora_rank), "alpha": str(first.lora_alpha),
                "layers": json.dumps(sorted(layers))}
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
            goes on from the same factors.
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
            layer._kernel.assign(np.asarray(layer._kernel) - delta)
        layer.lora_kernel_a.assign(a)
        layer.lora_kernel_b.assign(b)


def plain_weights(model):
    """`model`'s weights as the same model without LoRA has them: each adapted kernel merged,
    the adapters left out (a copy without adapters takes these in order)."""
    adapters, merged = set(), {}
    for layer in adapted_layers(model).values():
        adapters |= {id(layer.lora_kernel_a), id(layer.lora_kernel_b)}
        merged[id(layer._kernel)] = layer
    return [merged[id(v)].kernel if id(v) in merged else v
            for v in model.weights if id(v) not in adapters]


def parameter_counts(model):
    """(trainable, total) parameters."""
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    return trainable, sum(int(np.prod(v.shape)) for v in model.weights)
