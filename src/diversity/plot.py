"""Deprecated module (0.1): figures moved to :mod:`diversity.report.plots`."""

import warnings as _warnings

from .report.plots import *  # noqa: F401,F403
from .report.plots import plot_embeddings, plot_forest, plot_per_prompt  # noqa: F401

_warnings.warn("the module diversity.plot is deprecated since 0.2; use diversity.report.plots.",
               DeprecationWarning, stacklevel=2)
