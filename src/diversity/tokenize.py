"""Deprecated module (0.1): diversity.text.tokenize. Everything here is importable from ``diversity``."""

import warnings as _warnings

from .text.tokenize import *  # noqa: F401,F403
from .text.tokenize import Tokenizer, available_tokenizers, get_tokenizer, register_tokenizer  # noqa: F401

_warnings.warn("the module diversity.tokenize is deprecated since 0.2; import from diversity (or diversity.text.tokenize).",
               DeprecationWarning, stacklevel=2)
