"""Deprecated module (0.1): diversity.metrics.model_based. Everything here is importable from ``diversity``."""

import warnings as _warnings

from .metrics.model_based import *  # noqa: F401,F403

_warnings.warn("the module diversity.tokens is deprecated since 0.2; import from diversity (or diversity.metrics.model_based).",
               DeprecationWarning, stacklevel=2)
