"""Deprecated module (0.1): the bundled sample sets moved to :mod:`diversity.io.datasets`."""

import warnings as _warnings

from .io.datasets import *  # noqa: F401,F403
from .io.datasets import data_path, example_path, load_example, load_example_records, load_handwritten  # noqa: F401

_warnings.warn("the module diversity.datasets is deprecated since 0.2; use diversity.io.datasets.",
               DeprecationWarning, stacklevel=2)
