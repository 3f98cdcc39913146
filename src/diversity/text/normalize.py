"""Normalisations of whole completions before they are compared as strings (unique-fraction)."""

from __future__ import annotations

import re
from typing import Callable

__all__ = ["NORMALIZERS"]

_WS = re.compile(r"\s+")

NORMALIZERS: dict[str, Callable[[str], str]] = {
    "exact": lambda s: s,
    "whitespace": lambda s: _WS.sub(" ", s).strip(),
    "casefold-whitespace": lambda s: _WS.sub(" ", s).strip().casefold(),
}
