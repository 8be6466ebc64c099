"""What a task model (`CausalLM`, `TextClassifier`) shares: a backbone saved inside it."""

import keras


class Task(keras.Model):
    """The base of tf_lm's task models (keras-hub's `Task`): a backbone plus a head.

    It serializes the backbone inside the task's config and recompiles a reloaded model with
    its saved optimizer, loss and metrics. Subclasses set `self.backbone` and add their own
    keys to `get_config`.
    """

    def compile_from_config(self, config):
        """Recompile a reloaded `.keras` model with its saved optimizer, loss and metrics."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def get_config(self):
        config = super().get_config()
        config["backbone"] = keras.saving.serialize_keras_object(self.backbone)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
