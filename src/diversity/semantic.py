"""Deprecated module (0.1): diversity.metrics.semantic and diversity.metrics.clusters. Everything here is importable from ``diversity``."""

import warnings as _warnings

from .metrics.clusters import *  # noqa: F401,F403
from .metrics.semantic import *  # noqa: F401,F403

_warnings.warn("the module diversity.semantic is deprecated since 0.2; import from diversity (or diversity.metrics.semantic and diversity.metrics.clusters).",
               DeprecationWarning, stacklevel=2)
