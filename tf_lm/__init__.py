"""tf_lm: the reference implementation of language models in Keras and TensorFlow.

Importing `tf_lm` is cheap: TensorFlow is imported by the submodules that need it, not here.
Once Keras is imported, tf_lm's classes are registered with it, so plain
`keras.saving.load_model("runs/x/model.keras")` finds them (see `tf_lm.keras_registration`).
"""

from tf_lm.keras_registration import register_when_keras_is_imported

__version__ = "0.1.0"

register_when_keras_is_imported()
