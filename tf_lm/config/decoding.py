"""Names and limits of decoding that the config, the CLI, generation and serving share.

Here, at the bottom of the package, so that `tf-lm generate --help` can list the samplers
without importing TensorFlow, and so that the export config's defaults are these numbers.
"""

# The decoding strategies of `TextGenerator.generate` and `tf-lm generate --sampler`.
SAMPLERS = ("greedy", "temperature", "top_k", "top_p", "beam")

# `max_new_tokens` when a call or a request does not say.
DEFAULT_MAX_NEW_TOKENS = 64

# The largest `max_new_tokens` one call may ask for, unless the export config says otherwise.
MAX_NEW_TOKENS_LIMIT = 1024

# The longest prompt or scored text a served request may send, in tokens (bounds its memory).
MAX_INPUT_TOKENS = 8192
