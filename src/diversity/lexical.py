"""Deprecated module (0.1): diversity.metrics.lexical and diversity.metrics.surface. Everything here is importable from ``diversity``."""

import warnings as _warnings

from .metrics.lexical import *  # noqa: F401,F403
from .metrics.surface import *  # noqa: F401,F403

_warnings.warn("the module diversity.lexical is deprecated since 0.2; import from diversity (or diversity.metrics.lexical and diversity.metrics.surface).",
               DeprecationWarning, stacklevel=2)
