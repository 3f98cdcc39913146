"""Deprecated module (0.1): attribute extraction moved to :mod:`diversity.generation.extract`."""

import warnings as _warnings

from .generation.extract import *  # noqa: F401,F403
from .generation.extract import PERSONA_FIELDS, AttributeTable, extract_attributes, extract_fields  # noqa: F401

_warnings.warn("the module diversity.extract is deprecated since 0.2; use diversity.generation.extract.",
               DeprecationWarning, stacklevel=2)
