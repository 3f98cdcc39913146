"""Deprecated module (0.1): diversity.metrics.overlap. Everything here is importable from ``diversity``."""

import warnings as _warnings

from .metrics.overlap import *  # noqa: F401,F403

_warnings.warn("the module diversity.bleu is deprecated since 0.2; import from diversity (or diversity.metrics.overlap).",
               DeprecationWarning, stacklevel=2)
