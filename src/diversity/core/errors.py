"""The library's own exception and warning types (the error contract is in
``docs/errors.md``)."""

from __future__ import annotations

__all__ = ["InvalidParameterError", "UndefinedMetricWarning", "MemoryLimitError", "warn", "require"]


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a wrong type or value.

    A subclass of both ``ValueError`` and ``TypeError`` (as scikit-learn's),
    so callers may catch either.
    """


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined on (part of) the input, for example a prompt whose
    completions have no n-gram; NaN is returned where it is undefined and the
    warning says why."""


class MemoryLimitError(MemoryError):
    """A computation would need more memory than allowed; the message gives the
    size and the remedy (a parameter that bounds the work)."""


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` attributed to the first caller outside this package,
    so the warning points at the user's line, not into the library."""
    import os
    import sys
    import warnings

    # the diversity package's folder (this file is diversity/core/errors.py)
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def require(module: str, extra: str, what: str):
    """Import an optional dependency, or raise an ``ImportError`` that names the extra to install.

    >>> require("math", "core", "this example").__name__
    'math'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"{what} needs {module.split('.')[0]}: pip install 'llm-diversity[{extra}]'") from e
