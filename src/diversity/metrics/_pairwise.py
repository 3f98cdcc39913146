"""Pairwise similarities within a set: BLEU with one reference (vectorised
over pairs with sparse n-gram count matrices) and ROUGE-L F1 (bit-parallel
LCS, with an exact early exit for pairs that share no token)."""

from __future__ import annotations

import numpy as np

from ..text.ngrams import TokenizedTexts, ngram_codes, select_keys
from ._selfbleu import bleu_from_counts

_CHUNK = 200_000  # pairs per vectorised block


def all_pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.triu_indices(k, 1)
    return i.astype(np.int64), j.astype(np.int64)


def sample_pairs(k: int, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``m`` distinct unordered pairs of ``range(k)``, uniformly without replacement."""
    total = k * (k - 1) // 2
    flat = np.sort(rng.choice(total, size=m, replace=False))
    # invert the row-major index of the strict upper triangle
    i = (k - 2 - np.floor(np.sqrt(-8.0 * flat + 4.0 * k * (k - 1) - 7) / 2.0 - 0.5)).astype(np.int64)
    j = (flat + i + 1 - k * (k - 1) // 2 + (k - i) * ((k - i) - 1) // 2).astype(np.int64)
    return i, j


def _count_matrix(tt: TokenizedTexts, n: int):
    from scipy import sparse

    N = len(tt.lengths)
    codes, mask = ngram_codes(tt, n)
    text = select_keys(np.repeat(np.arange(N, dtype=np.int64), tt.lengths), mask)
    if len(codes) == 0:
        return sparse.csr_matrix((N, 1), dtype=np.float64)
    _, col = np.unique(codes, return_inverse=True)
    return sparse.csr_matrix((np.ones(len(codes)), (text, col.reshape(-1))),
                             shape=(N, int(col.max()) + 1))  # duplicates are summed: counts


def pairwise_bleu(tt: TokenizedTexts, i: np.ndarray, j: np.ndarray, weights: np.ndarray,
                  smoothing: str) -> np.ndarray:
    """For each unordered pair, the mean of BLEU(i | ref j) and BLEU(j | ref i), as nltk's
    ``sentence_bleu`` with one reference computes them."""
    max_n = len(weights)
    L = tt.lengths
    out = np.empty(len(i))
    mats = [_count_matrix(tt, n) for n in range(1, max_n + 1)]
    for lo in range(0, len(i), _CHUNK):
        a, b = i[lo:lo + _CHUNK], j[lo:lo + _CHUNK]
        num = np.empty((max_n, len(a)))
        for n, C in enumerate(mats):
            num[n] = np.asarray(C[a].minimum(C[b]).sum(axis=1)).reshape(-1)  # clipped matches, symmetric
        den_a = np.maximum(L[a][None, :] - np.arange(max_n)[:, None], 0)
        den_b = np.maximum(L[b][None, :] - np.arange(max_n)[:, None], 0)
        ab = bleu_from_counts(num, den_a, L[a], L[b], weights, smoothing)
        ba = bleu_from_counts(num, den_b, L[b], L[a], weights, smoothing)
        out[lo:lo + _CHUNK] = (ab + ba) / 2
    return out


def lcs_length(a_masks: dict[int, int], m: int, b: np.ndarray) -> int:
    """Length of the longest common subsequence of A (as per-symbol position
    bitmasks, ``m`` symbols) and B, by the bit-parallel recurrence of
    Hyyrö (2004): V <- (V + U) | (V - U) with U = V & match(b)."""
    full = (1 << m) - 1
    v = full
    get = a_masks.get
    for sym in b.tolist():
        u = v & get(sym, 0)
        if u:
            v = ((v + u) | (v - u)) & full
    return m - v.bit_count()


def _masks(ids: np.ndarray) -> dict[int, int]:
    masks: dict[int, int] = {}
    for pos, sym in enumerate(ids.tolist()):
        masks[sym] = masks.get(sym, 0) | (1 << pos)
    return masks


def pairwise_rouge_l(tt: TokenizedTexts, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """ROUGE-L F1 (beta = 1, as rouge_score's ``fmeasure``) for each unordered pair."""
    offs, L = tt.offsets, tt.lengths
    texts = [tt.ids[offs[t]:offs[t + 1]] for t in range(len(L))]
    needed = np.unique(np.concatenate([i, j])) if len(i) else np.empty(0, np.int64)
    masks = {int(t): _masks(texts[t]) for t in needed}
    types = {int(t): set(masks[int(t)]) for t in needed}
    out = np.zeros(len(i))
    for p, (a, b) in enumerate(zip(i.tolist(), j.tolist())):
        la, lb = int(L[a]), int(L[b])
        if la == 0 or lb == 0 or types[a].isdisjoint(types[b]):
            continue  # exact: no shared token, LCS = 0
        if la < lb:  # shorter string as the bit vector
            lcs = lcs_length(masks[a], la, texts[b])
        else:
            lcs = lcs_length(masks[b], lb, texts[a])
        out[p] = 2.0 * lcs / (la + lb)  # F1 = 2PR/(P+R) with P = lcs/la, R = lcs/lb
    return out
