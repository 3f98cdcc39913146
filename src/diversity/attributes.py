"""Deprecated module (0.1): diversity.metrics.categorical. Everything here is importable from ``diversity``."""

import warnings as _warnings

from .metrics.categorical import *  # noqa: F401,F403

_warnings.warn("the module diversity.attributes is deprecated since 0.2; import from diversity (or diversity.metrics.categorical).",
               DeprecationWarning, stacklevel=2)
