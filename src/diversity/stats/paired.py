"""Paired tests over prompts and the Holm correction.

The per-prompt values of both sides must be in the canonical order of their
prompt keys (:func:`~diversity.stats.seeding.canonical_order`), so that a
randomised test never depends on the order in which prompts were listed.
Resamples are processed in batches: memory stays bounded by the batch.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["holm", "paired_test"]


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN stays NaN)."""
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if len(ok) == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        out[idx] = running
    return out


def paired_test(a: np.ndarray, b: np.ndarray, test: str, n_resamples: int, seed: int) -> float:
    """p-value of the paired test; ``a`` and ``b`` must be in canonical prompt order."""
    from scipy import stats

    d = b - a
    if len(d) < 2:
        return math.nan
    if np.all(d == 0):
        return 1.0
    if test == "wilcoxon":
        return float(stats.wilcoxon(b, a, zero_method="wilcox").pvalue)

    def mean_diff(x, y, axis):
        return np.mean(x - y, axis=axis)

    batch = max(1, min(n_resamples, (1 << 22) // len(d)))  # bounded memory, the same p-value
    res = stats.permutation_test((b, a), mean_diff, permutation_type="samples", vectorized=True,
                                 n_resamples=n_resamples, alternative="two-sided", rng=np.random.default_rng(seed),
                                 batch=batch)
    return float(res.pvalue)
