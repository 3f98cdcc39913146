"""Order independence: canonical orders and per-prompt random generators.

Every per-prompt random choice (subsampling completions, sampling pairs)
draws from a generator seeded by ``(seed, prompt key, purpose)``
(:func:`key_rng`) over the completions in text order (:func:`text_order`), and
per-prompt values are resampled in the canonical order of their keys
(:func:`canonical_order`): listing the same prompts or completions in another
order gives the same numbers.
"""

from __future__ import annotations

import hashlib
import numbers
from typing import Hashable, Sequence

import numpy as np

__all__ = ["key_text", "canonical_order", "key_rng", "text_order"]


def key_text(key: Hashable) -> str:
    """A canonical, type-tagged text of a prompt key (stable across processes and runs)."""
    if isinstance(key, str):
        return "s:" + key
    if isinstance(key, bool):
        return "b:" + str(key)
    if isinstance(key, numbers.Integral):
        return "i:" + str(int(key))
    if isinstance(key, numbers.Real):
        return "f:" + repr(float(key))
    if isinstance(key, tuple):
        return "t:(" + ",".join(key_text(k) for k in key) + ")"
    if key is None:
        return "n:"
    return f"o:{type(key).__qualname__}:{key!r}"


def canonical_order(keys: Sequence[Hashable]) -> np.ndarray:
    """Indices that put ``keys`` in their canonical order (sorted by :func:`key_text`)."""
    texts = [key_text(k) for k in keys]
    return np.array(sorted(range(len(texts)), key=texts.__getitem__), dtype=np.int64)


def key_rng(seed: int, key: Hashable, purpose: str = "") -> np.random.Generator:
    """A generator seeded by ``(seed, prompt key, purpose)``: the same draws
    for the same prompt whatever the order in which prompts are listed."""
    digest = hashlib.sha256(f"{purpose}\x00{key_text(key)}".encode("utf-8", "surrogatepass")).digest()
    words = np.frombuffer(digest[:16], dtype=np.uint32).tolist()
    return np.random.default_rng([int(seed), *words])


def text_order(texts: Sequence[str]) -> np.ndarray:
    """Indices that sort completions by their text (a canonical order within a set)."""
    return np.array(sorted(range(len(texts)), key=texts.__getitem__), dtype=np.int64)
