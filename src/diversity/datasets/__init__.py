"""Bundled example sample sets (see ``datasets/data/README.md`` for provenance)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Hashable

from ..io import load_samples

__all__ = ["load_handwritten", "data_path"]

_FILES = {"base": "handwritten_base.jsonl", "aligned": "handwritten_aligned.jsonl"}


def data_path(name: str) -> Path:
    """Path of a bundled data file."""
    path = Path(str(resources.files(__package__).joinpath("data", name)))
    if not path.is_file():
        raise FileNotFoundError(f"no bundled data file {name!r}")
    return path


def load_handwritten(side: str) -> dict[Hashable, list[str]]:
    """The hand-written stand-in set: ``side`` is ``"base"`` or ``"aligned"``.

    Written by the developers (not model output) to imitate a varied base model
    and a mode-collapsed aligned one; keyed by prompt.

    >>> len(load_handwritten("base"))
    6
    """
    if side not in _FILES:
        raise ValueError(f"side must be 'base' or 'aligned', got {side!r}")
    return load_samples(data_path(_FILES[side]))
