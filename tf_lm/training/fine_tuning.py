"""Fine-tuning options: start from another run's weights, freeze layers, train LoRA adapters."""

import numpy as np

from tf_lm.errors import InputError
from tf_lm.models.causal_lm import CausalLM
from tf_lm.models.lora_adapters import lora_targets
from tf_lm.models.text_classifier import TextClassifier


def copy_weights(model, source):
    """Assigns `source`'s weights (a built model of the same architecture) to `model`, in
    order, each shape checked; a stateful model's carried states are left alone. A model of
    another task (a classifier from a language model) takes the backbone's weights only."""
    if type(model) is not type(source):
        model, source = model.backbone, source.backbone
    states = {id(v) for v in getattr(getattr(model, "backbone", model), "state_variables",
                                     lambda: [])()}
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


def layer_groups(model):
    """The model's trainable variables in ULMFiT's layer groups, top first, as (name, variables):
    the task's own head (a classifier's, or a language model's untied output layer), then the
    backbone's Transformer blocks or recurrent layers from the top (the final norm with the top
    block), then the embeddings; a group with nothing to train (frozen) is left out. A variable
    of no layer joins the top group."""
    if not isinstance(model, (CausalLM, TextClassifier)):
        raise InputError("train.layer_lr_decay and train.unfreeze_epochs apply to language "
                         f"models and classifiers. Received: {type(model).__name__}")
    backbone = model.backbone
    blocks = getattr(backbone, "transformer_blocks", None)
    if blocks is None:
        blocks = backbone.recurrent_block.recurrent_layers
    groups = []
    if getattr(model, "head", None) is not None:
        groups.append(("head", [model.head]))
    for i, block in reversed(list(enumerate(blocks))):
        layers = [block]
        if i == len(blocks) - 1 and getattr(backbone, "final_norm", None) is not None:
            layers.append(backbone.final_norm)
        groups.append((block.name, layers))
    groups.append(("embeddings", [backbone.token_embedding,
                                  getattr(backbone, "position_embedding", None)]))
    groups = [(name, [v for layer in layers if layer is not None
                      for v in layer.trainable_weights]) for name, layers in groups]
    groups = [(name, variables) for name, variables in groups if variables]
    grouped = {id(v) for _, variables in groups for v in variables}
    rest = [v for v in model.trainable_weights if id(v) not in grouped]
    if rest:
        groups = groups or [("head", [])]
        groups[0][1].extend(rest)
    return groups


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


def parameter_counts(model):
    """(trainable, total) parameters."""
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    return trainable, sum(int(np.prod(v.shape)) for v in model.weights)
