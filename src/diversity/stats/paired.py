"""Paired tests over prompts and the Holm correction.

The per-prompt values of both sides must be in the canonical order of their
prompt keys (:func:`~diversity.stats.seeding.canonical_order`), so that a
randomised test never depends on the order in which prompts were listed.
Resamples are processed in batches: memory stays bounded by the batch.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["holm", "paired_test", "sign_flip_test", "auto_resamples"]


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


_BATCH_ELEMENTS = 1 << 22  # signs per vectorised block: memory stays a few tens of MB whatever the size


def sign_flip_test(d: np.ndarray, n_resamples: int, seed: int) -> tuple[float, bool]:
    """Two-sided paired permutation (sign-flip) test of the mean difference.

    Returns ``(p, exact)``. When ``n_resamples >= 2**n`` every sign pattern
    is enumerated (exact p); otherwise ``n_resamples`` random patterns are
    drawn and ``p = 2 min(P(T* <= T) , P(T* >= T))`` with the +1 correction of
    a randomised test, so the smallest attainable p is ``2 / (n_resamples + 1)``.

    The random patterns are the ones ``scipy.stats.permutation_test(...,
    permutation_type="samples")`` draws from ``np.random.default_rng(seed)``
    (one 32-bit draw per pair; pair i is swapped when its low bit is 0), so the
    p-values equal scipy's (a test checks); the null distribution is computed
    as a sign matrix times the differences, in blocks, without scipy's
    per-permutation copies of the data.
    """
    d = np.asarray(d, dtype=np.float64)
    n = len(d)
    observed = float(np.mean(d))
    gamma = abs(np.finfo(np.float64).eps * 100 * observed)
    less = greater = 0
    if n <= 62 and n_resamples >= 2**n:
        exact, total, adjustment = True, 2**n, 0
        shifts = np.arange(n, dtype=np.int64)
        block = max(1, _BATCH_ELEMENTS // n)
        for lo in range(0, total, block):
            k = np.arange(lo, min(total, lo + block), dtype=np.int64)
            signs = 1.0 - 2.0 * ((k[:, None] >> shifts[None, :]) & 1)
            null = signs @ d / n
            less += int(np.count_nonzero(null <= observed + gamma))
            greater += int(np.count_nonzero(null >= observed - gamma))
    else:
        exact, total, adjustment = False, n_resamples, 1
        bits = np.random.default_rng(seed).bit_generator
        carry: np.ndarray = np.empty(0, dtype=np.uint64)  # a 32-bit half left over from the previous block
        block = max(1, _BATCH_ELEMENTS // n)
        for lo in range(0, total, block):
            rows = min(block, total - lo)
            need = rows * n
            fresh = bits.random_raw((need - len(carry) + 1) // 2)
            halves = np.empty(2 * len(fresh), dtype=np.uint64)
            halves[0::2], halves[1::2] = fresh & 0xFFFFFFFF, fresh >> 32  # next_uint32: low half, then high
            stream = np.concatenate((carry, halves))
            draws, carry = stream[:need], stream[need:]
            signs = np.where((draws & 1) == 0, -1.0, 1.0).reshape(rows, n)
            null = signs @ d / n
            less += int(np.count_nonzero(null <= observed + gamma))
            greater += int(np.count_nonzero(null >= observed - gamma))
    p_less = (less + adjustment) / (total + adjustment)
    p_greater = (greater + adjustment) / (total + adjustment)
    return float(min(1.0, 2 * min(p_less, p_greater))), exact


def auto_resamples(n_tests: int, minimum: int = 10_000, smallest_p: float = 0.001) -> int:
    """Random sign patterns enough that the smallest attainable p, ``2 / (B + 1)``, is
    below ``smallest_p / n_tests``: a Holm-corrected p can then reach ``smallest_p``
    (the *** threshold) with ``n_tests`` tests in the family."""
    return max(int(minimum), int(np.ceil(2 * n_tests / smallest_p)))


def paired_test(a: np.ndarray, b: np.ndarray, test: str, n_resamples: int, seed: int) -> float:
    """p-value of the paired test (``"permutation"`` sign-flip, or ``"wilcoxon"``);
    ``a`` and ``b`` must be in canonical prompt order."""
    from scipy import stats

    d = b - a
    if len(d) < 2:
        return math.nan
    if np.all(d == 0):
        return 1.0
    if test == "wilcoxon":
        return float(stats.wilcoxon(b, a, zero_method="wilcox").pvalue)
    return sign_flip_test(d, n_resamples, seed)[0]
