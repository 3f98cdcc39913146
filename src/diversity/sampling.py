"""Deprecated module (0.1): sampling moved to :mod:`diversity.generation`."""

import warnings as _warnings

from .generation import *  # noqa: F401,F403
from .generation.backends import OpenAIBackend, TransformersBackend  # noqa: F401
from .generation.config import (DecodingConfig, EndpointError, Generation, Prompt, ResumeError,  # noqa: F401
                                prompt_seed, settings_fingerprint)
from .generation.sampling import load_prompts, read_meta, sample_to_jsonl  # noqa: F401

_warnings.warn("the module diversity.sampling is deprecated since 0.2; use diversity.generation.",
               DeprecationWarning, stacklevel=2)
