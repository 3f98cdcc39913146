"""Confidence intervals by bootstrap over prompts, and the seeding rule that
makes every random choice independent of input order.

The resampling unit is the prompt (group), never the completion: drawing
completions with replacement creates duplicates and biases every diversity
metric toward "less diverse". A per-prompt mean is resampled over its
per-prompt values; no CI is offered for a single set or for a pooled set
(resampling prompts into a pooled set duplicates completions the same way).

Order independence: per-prompt values are put in a canonical order of their
prompt keys (:func:`canonical_order`) before resampling, and every per-prompt
random choice (subsampling completions, sampling pairs) draws from a
generator seeded by ``(seed, prompt key)`` (:func:`key_rng`), so listing the
same prompts or completions in another order gives the same numbers.
"""

from __future__ import annotations

import hashlib
import numbers
from typing import Hashable, Sequence

import numpy as np

from ._result import ConfidenceInterval

# resamples per vectorised batch: bounds memory at about _BATCH_ELEMENTS * 8 bytes
_BATCH_ELEMENTS = 1 << 22


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


def bootstrap_mean_ci(values: np.ndarray, *, level: float, n_resamples: int, method: str,
                      seed: int) -> ConfidenceInterval:
    """Bootstrap CI of the mean of per-prompt values (``scipy.stats.bootstrap``,
    processed in batches so that memory stays bounded whatever the number of prompts).

    ``values`` must already be in canonical prompt order.
    """
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        raise ValueError(
            f"A bootstrap confidence interval over prompts needs at least 2 prompts with a defined "
            f"value; got {len(values)}."
        )
    label = f"bootstrap-prompts-{method}"
    if np.all(values == values[0]):
        # every resample has the same mean; scipy would return NaN for BCa
        return ConfidenceInterval(float(values[0]), float(values[0]), level, label)
    batch = max(1, min(n_resamples, _BATCH_ELEMENTS // len(values)))
    res = stats.bootstrap((values,), np.mean, confidence_level=level, n_resamples=n_resamples,
                          method=method, vectorized=True, rng=np.random.default_rng(seed), batch=batch)
    ci = res.confidence_interval
    return ConfidenceInterval(float(ci.low), float(ci.high), level, label)
