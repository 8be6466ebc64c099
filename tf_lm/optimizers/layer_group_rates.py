"""Discriminative fine-tuning and gradual unfreezing (Howard and Ruder, 2018: ULMFiT).

The model's variables fall into layer groups, top first (the task head, the top block, ...,
the embeddings). Group g learns at `layer_lr_decay ** g` times the schedule's rate, and with
`unfreeze_steps` > 0 it is held still until step `g * unfreeze_steps`: the head trains alone,
then each lower group joins. The factor multiplies the rate inside the update (and the decoupled
weight decay), so it is part of the compiled step: no retracing when a group joins, and a run
resumed from a backup (whose optimizer carries its step count) unfreezes at the same steps.
A group held still keeps its gradient: it counts in the clipped global norm and fills Adam's
moments, so the group joins with warm moments (dropping it measured worse on few labels; see
docs/classification.md). Steps count batches, as the schedule does, with gradient
accumulation too.
"""

import tensorflow as tf


class LayerGroupRates:
    """Mixin for a Keras optimizer: a learning-rate factor per layer group, and gradual
    unfreezing. Without `set_layer_groups` every variable is group 0 (factor 1)."""

    def __init__(self, *args, layer_lr_decay=1.0, unfreeze_steps=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.layer_lr_decay = float(layer_lr_decay)
        self.unfreeze_steps = int(unfreeze_steps)
        self._group_of_path = {}
        self._variable_groups = []

    def set_layer_groups(self, groups):
        """`groups`: lists of variables, top group first. Call before the optimizer is built;
        a variable in no group is group 0."""
        if self.built:
            raise ValueError("set_layer_groups must be called before the optimizer is built")
        self._group_of_path = {v.path: g for g, variables in enumerate(groups)
                               for v in variables}

    def build(self, variables):
        super().build(variables)
        self._variable_groups = [self._group_of_path.get(v.path, 0) for v in variables]

    def _rate_factor(self, variable):
        """This variable's factor at the current step."""
        group = self._variable_groups[self._get_variable_index(variable)]
        factor = self.layer_lr_decay ** group
        if self.unfreeze_steps and group:
            return tf.where(self._joined(group), tf.cast(factor, variable.dtype),
                            tf.zeros((), variable.dtype))
        return factor

    def _joined(self, group):
        """Whether `group` trains at this batch (`_iterations` counts batches; Keras'
        `iterations` counts updates when gradients accumulate)."""
        return self._iterations >= group * self.unfreeze_steps

    def update_step(self, gradient, variable, learning_rate):
        if self._group_of_path:
            learning_rate = tf.cast(learning_rate, variable.dtype) * self._rate_factor(variable)
            if self.weight_decay is not None and self._use_weight_decay(variable):
                # Keras' decoupled decay, here so that it takes the group's rate (a group held
                # still is not decayed); Adam's and SGD's steps do not read the weight itself.
                variable.assign_sub(
                    variable * tf.cast(self.weight_decay, variable.dtype) * learning_rate)
        return super().update_step(gradient, variable, learning_rate)

    def _apply_weight_decay(self, variables):
        if not self._group_of_path:  # else `update_step` decays each variable
            super()._apply_weight_decay(variables)

    def get_config(self):
        config = super().get_config()
        config["layer_lr_decay"] = self.layer_lr_decay
        config["unfreeze_steps"] = self.unfreeze_steps
        return config
