"""The `export` section: where and how the servable SavedModel is written."""

import dataclasses
import re
from typing import Optional

from tf_lm.config.decoding import (DEFAULT_MAX_NEW_TOKENS, MAX_INPUT_TOKENS,
                                   MAX_NEW_TOKENS_LIMIT)
from tf_lm.config.fields import option


# TF Serving reads the model name from URLs (/v1/models/NAME:predict) and folder names.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """The versioned SavedModel written for TF Serving (BASE/NAME/VERSION)."""

    base: str = option("export", "base directory of exported models")
    # TF Serving model name: letters, digits, '_', '-' and '.'.
    name: str = option("tf_lm", "model name under the base directory")
    # Version directory; null means the next integer after the existing ones.
    version: Optional[int] = option(None, "version number (null: next)", minimum=1)
    # Upper bound of the request-time max_new_tokens, enforced in the graph.
    max_new_tokens_limit: int = option(MAX_NEW_TOKENS_LIMIT,
                                       "largest max_new_tokens a request may ask", minimum=1)
    # Default max_new_tokens when a request leaves it out.
    default_max_new_tokens: int = option(DEFAULT_MAX_NEW_TOKENS,
                                         "max_new_tokens when a request omits it", minimum=1)
    # Longest prompt or scored text a request may send, in tokens (bounds request memory).
    max_input_tokens: int = option(MAX_INPUT_TOKENS, "longest prompt or scored text, in tokens",
                                   minimum=1)
