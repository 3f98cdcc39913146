"""Exact self-BLEU in O(total n-grams · log) time, without a loop over pairs.

For a completion t scored against all other completions of its set, nltk's
clipped n-gram count is ``Σ_g min(c_t(g), max_{r≠t} c_r(g))``. Write
``top1(g)`` and ``top2(g)`` for the largest and second-largest count of g
over the set (equal when two completions tie) and let one completion holding
``top1`` be g's *holder*. The largest count among the others is ``top2`` for
the holder and ``top1`` for everyone else, so

    clipped_t = count_t − Σ_{g held by t} (top1(g) − top2(g)).

Brevity penalty: nltk uses the reference length closest to the hypothesis
length (ties to the shorter); among the *other* completions that is the
hypothesis' own length if another completion shares it, else its sorted
neighbour. Both need one sort per n-gram order and per length array.
"""

from __future__ import annotations

import sys
from typing import Callable

import numpy as np

from ..text.ngrams import NgramRuns, TokenizedTexts, ngram_runs

_INT63 = 2**63 - 1
SMOOTHINGS = ("none", "method1", "exp")


def clipped_counts(tt: TokenizedTexts, text_group: np.ndarray, n: int,
                   runs: NgramRuns | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per completion: (clipped n-gram matches against the rest of its group, its n-gram count).

    ``runs``: :func:`~diversity.text.ngrams.ngram_runs` of ``tt`` for ``n``, when already sorted."""
    N = len(tt.lengths)
    count = np.maximum(tt.lengths - n + 1, 0)
    runs = ngram_runs(tt, n) if runs is None else runs
    if len(runs.code) == 0:
        return np.zeros(N), count
    run_count, run_text = runs.count, runs.text
    R = len(run_count)
    seg_start = runs.segments(text_group)[0]  # shared with the per-group totals of the same runs
    seg_len = np.empty(len(seg_start), dtype=seg_start.dtype)
    np.subtract(seg_start[1:], seg_start[:-1], out=seg_len[:-1])
    seg_len[-1] = R - seg_start[-1]
    # a segment of one run: its text holds g, top2 = 0, it loses its whole count; so every text starts
    # from losing all its n-grams, less those in segments shared with other texts, which are clipped below
    lost = count.astype(np.float64)
    many = seg_len > 1
    if many.any():
        sel = np.repeat(many, seg_len)
        rc, rt, lens = run_count[sel], run_text[sel], seg_len[many]
        lost -= np.bincount(rt, weights=rc, minlength=N)  # integers: exact in any order
        seg_start = np.cumsum(lens) - lens
        top1 = np.maximum.reduceat(rc, seg_start)
        M = len(rc)
        holder = np.minimum.reduceat(np.where(rc == np.repeat(top1, lens), np.arange(M), M), seg_start)
        rc[holder] = 0
        top2 = np.maximum.reduceat(rc, seg_start)
        lost += np.bincount(rt[holder], weights=top1 - top2, minlength=N)
    return count - lost, count


def closest_other_length(lengths: np.ndarray, text_group: np.ndarray) -> np.ndarray:
    """nltk's closest_ref_length against the other completions of the same group
    (ties to the shorter); -1 where a completion is alone in its group."""
    L = lengths.astype(np.int64)
    span = int(L.max()) + 2
    key = text_group * span + L
    sk = np.sort(key)
    left, right = np.searchsorted(sk, key, "left"), np.searchsorted(sk, key, "right")
    g_lo = np.searchsorted(sk, text_group * span, "left")
    g_hi = np.searchsorted(sk, (text_group + 1) * span, "left")
    base = text_group * span
    has_pred, has_succ = left > g_lo, right < g_hi
    pred = np.where(has_pred, sk[np.maximum(left - 1, 0)] - base, -1)
    succ = np.where(has_succ, sk[np.minimum(right, len(sk) - 1)] - base, -1)
    take_pred = has_pred & (~has_succ | (L - pred <= succ - L))
    out = np.where(take_pred, pred, np.where(has_succ, succ, -1))
    return np.where(right - left >= 2, L, out)


def bleu_from_counts(num: np.ndarray, den_raw: np.ndarray, hyp_len: np.ndarray, ref_len: np.ndarray,
                     weights: np.ndarray, smoothing: str, epsilon: float = 0.1) -> np.ndarray:
    """nltk ``sentence_bleu`` from per-order clipped matches ``num`` (orders x items),
    n-gram counts ``den_raw``, hypothesis and closest reference lengths."""
    den = np.maximum(den_raw, 1).astype(np.float64)
    zero = num == 0
    p = num / den
    if smoothing == "none":  # nltk method0: zero precisions become the smallest float
        p = np.where(zero, sys.float_info.min, p)
    elif smoothing == "method1":
        p = np.where(zero, epsilon / den, p)
    elif smoothing == "exp":  # nltk method3, mteval-v13a / sacrebleu "exp": 1 / (2^k · den)
        k = np.cumsum(zero, axis=0)
        p = np.where(zero, 1.0 / (np.exp2(k) * den), p)
    else:  # pragma: no cover - validated by the caller
        raise ValueError(smoothing)
    log_sum = (weights[:, None] * np.log(p)).sum(axis=0)
    c, r = hyp_len.astype(np.float64), ref_len.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(c > r, 1.0, np.where(c == 0, 0.0, np.exp(1.0 - r / np.maximum(c, 1))))
    bleu = bp * np.exp(log_sum)
    return np.where(num[0] == 0, 0.0, bleu)


def self_bleu_per_text(tt: TokenizedTexts, text_group: np.ndarray, weights: np.ndarray, smoothing: str,
                       epsilon: float = 0.1, runs: Callable[[int], NgramRuns] | None = None) -> np.ndarray:
    """BLEU of every completion against the other completions of its group; NaN when alone.

    ``runs(n)``: the sorted n-grams of ``tt`` (a corpus shares them with distinct-n and entropy)."""
    max_n = len(weights)
    num = np.empty((max_n, len(tt.lengths)))
    den = np.empty((max_n, len(tt.lengths)))
    for n in range(1, max_n + 1):
        num[n - 1], den[n - 1] = clipped_counts(tt, text_group, n, None if runs is None else runs(n))
    ref_len = closest_other_length(tt.lengths, text_group)
    out = bleu_from_counts(num, den, tt.lengths, ref_len, weights, smoothing, epsilon)
    return np.where(ref_len < 0, np.nan, out)
