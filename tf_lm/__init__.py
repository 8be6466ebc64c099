"""tf_lm: the reference implementation of language models in Keras and TensorFlow.

Importing `tf_lm` is cheap: TensorFlow is imported by the submodules that need it
(`tf_lm.tokenizers`, `tf_lm.data.pipeline`), not here.
"""

__version__ = "0.1.0"
