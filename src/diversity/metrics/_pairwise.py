"""Pairwise similarities within a set: BLEU with one reference (vectorised
over pairs with sparse n-gram count matrices) and ROUGE-L F1 (bit-parallel
LCS run over many pairs at once with numpy: one step per token of the streamed
text, the pairs of a block advancing together (those whose streamed text has
ended drop out), multi-word bit vectors with carries; exact integer LCS, so the values equal the one-pair-at-a-time
recurrence :func:`lcs_length` kept as the reference)."""

from __future__ import annotations

import numpy as np

from ..text.ngrams import TokenizedTexts, ngram_codes, select_keys
from ._selfbleu import bleu_from_counts

_CHUNK = 200_000  # pairs per vectorised block
_LCS_PAIRS = 8_192  # pairs advanced together by the vectorised LCS (at most)
_LCS_TABLE_BYTES = 64 * 2**20  # bound on one block's match table (texts x symbols x words)


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


def pairwise_rouge_l(tt: TokenizedTexts, i: np.ndarray, j: np.ndarray,
                     groups: np.ndarray | None = None) -> np.ndarray:
    """ROUGE-L F1 (beta = 1, as rouge_score's ``fmeasure``) for each unordered pair.

    ``groups[p]``: the set (prompt) of pair ``p`` (both texts belong to it);
    symbols are numbered per set, which keeps the match tables small.
    """
    L = tt.lengths
    out = np.zeros(len(i))
    if len(i) == 0:
        return out
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    groups = np.zeros(len(i), dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    swap = L[i] > L[j]  # the shorter text is the bit vector (LCS is symmetric)
    a, b = np.where(swap, j, i), np.where(swap, i, j)
    la, lb = L[a], L[b]
    live = (la > 0) & (lb > 0)  # an empty text: LCS 0
    if live.any():
        lcs = lcs_lengths(tt.ids, tt.offsets, a[live], b[live], groups[live])
        out[live] = 2.0 * lcs / (la[live] + lb[live])  # F1 = 2PR/(P+R) with P = lcs/la, R = lcs/lb
    return out


def lcs_lengths(ids: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray,
                groups: np.ndarray | None = None) -> np.ndarray:
    """LCS length of texts ``a[p]`` and ``b[p]`` (indices into ``offsets``) for every pair ``p``.

    Text ``a`` of each pair is the bit vector (``ceil(len / 64)`` words), text
    ``b`` is streamed, and all pairs of a block advance one token of ``b`` per
    step (in place, on the prefix of pairs, sorted by ``b``'s length, that
    still have a token). Pairs are taken in blocks of the same word count, input order kept
    inside a word count, so that a block's texts come from few sets (``groups``).
    """
    L = np.diff(offsets)
    groups = np.zeros(len(a), dtype=np.int64) if groups is None else groups
    words = (L[a] + 63) // 64
    order = np.argsort(words, kind="stable")
    out = np.empty(len(a), dtype=np.int64)
    bounds = np.flatnonzero(np.diff(words[order])) + 1
    for run in np.split(order, bounds):
        lo = 0
        while lo < len(run):
            block = run[lo:lo + _LCS_PAIRS]
            n = len(block)
            out[block] = _lcs_block(ids, offsets, L, a[block], b[block], groups[block])
            lo += n
    return out


def _segments(values: np.ndarray, offsets: np.ndarray, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tokens of ``texts`` concatenated, and each token's text (row)."""
    lens = offsets[texts + 1] - offsets[texts]
    row = np.repeat(np.arange(len(texts)), lens)
    starts = np.repeat(offsets[texts] - (np.cumsum(lens) - lens), lens)
    return values[starts + np.arange(len(row), dtype=np.int64)], row


def _radix_order(keys: list[np.ndarray]) -> np.ndarray:
    """Stable order of rows by the non-negative integer columns ``keys`` (least significant first):
    an LSD radix sort, one numpy radix pass (stable argsort of uint16) per 16-bit digit."""
    order = None
    for k in keys:
        top, shift = int(k.max()) if len(k) else 0, 0
        while shift == 0 or top >> shift:
            d = ((k >> shift) & 0xFFFF).astype(np.uint16)
            o = np.argsort(d if order is None else d[order], kind="stable")
            order = o if order is None else order[o]
            shift += 16
    return order if order is not None else np.empty(0, np.int64)


def _lcs_block(ids: np.ndarray, offsets: np.ndarray, L: np.ndarray, a: np.ndarray, b: np.ndarray,
               groups: np.ndarray) -> np.ndarray:
    la = L[a]
    n_words = int((la.max() + 63) // 64)
    # the block's texts, their tokens renumbered per set: symbol (set, token) -> 0..|vocabulary of the set| - 1
    texts, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    inverse = inverse.reshape(-1)
    row_a, row_b = inverse[:len(a)], inverse[len(a):]
    set_of = np.empty(len(texts), dtype=np.int64)
    set_of[row_a], set_of[row_b] = groups, groups
    sets, set_of = np.unique(set_of, return_inverse=True)
    tokens, tok_row = _segments(ids, offsets, texts)
    # (set, token) in sorted order by a radix sort; a symbol is the rank of its (set, token) within the set
    tok_set = set_of.reshape(-1)[tok_row]
    order = _radix_order([tokens, tok_set])
    s_set, s_tok = tok_set[order], tokens[order]
    new = np.empty(len(order), dtype=bool)
    new[:1] = True
    new[1:] = (s_set[1:] != s_set[:-1]) | (s_tok[1:] != s_tok[:-1])
    rank = np.cumsum(new) - 1
    set_start = np.flatnonzero(np.concatenate(([True], s_set[1:] != s_set[:-1])))
    local_sorted = rank - np.repeat(rank[set_start], np.diff(np.append(set_start, len(order))))
    local = np.empty(len(order), dtype=np.int64)
    local[order] = local_sorted
    n_sym = int(local_sorted.max()) + 2 if len(order) else 1  # the last symbol: padding, matches nothing
    need = len(texts) * n_sym * n_words * 8
    if need > _LCS_TABLE_BYTES and len(a) > 1:  # the table would be too big: smaller blocks
        parts = np.array_split(np.arange(len(a)), min(len(a), -(-need // _LCS_TABLE_BYTES) + 1))
        return np.concatenate([_lcs_block(ids, offsets, L, a[p], b[p], groups[p]) for p in parts])
    # table[row, symbol, word]: the positions of the symbol in the text, as bits
    lens = L[texts]
    pos = np.arange(len(tokens), dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
    # words[w, row * n_sym + symbol]: word w of that table, one row per (text, symbol)
    words = np.zeros((n_words, len(texts) * n_sym), dtype=np.uint64)
    in_a = np.zeros(len(texts), dtype=bool)
    in_a[row_a] = True
    sel = in_a[tok_row] & (pos < 64 * n_words)
    np.bitwise_or.at(words.reshape(-1), (pos[sel] >> 6) * words.shape[1] + tok_row[sel] * n_sym + local[sel],
                     np.left_shift(np.uint64(1), (pos[sel] & 63).astype(np.uint64)))  # 1-d: numpy's fast path
    # pairs by decreasing length of the streamed text b: at step t only the first n_t pairs (those with
    # L[b] > t) have a token left, so each step works on a prefix of the arrays
    lb = L[b]
    order = np.argsort(-lb, kind="stable")
    row_a, row_b, la, lb = row_a[order], row_b[order], la[order], lb[order]
    width = int(lb[0])
    active = np.searchsorted(-lb, -np.arange(width), side="left")  # pairs with L[b] > t
    # idx[t, p]: the row of table (text a's row, b's t-th symbol) read at step t; the padding symbol past b's end
    cols = np.arange(width, dtype=np.int64)
    starts = np.cumsum(lens) - lens
    valid = cols[None, :] < lb[:, None]
    sym_b = np.where(valid, local[np.where(valid, starts[row_b][:, None] + cols[None, :], 0)], n_sym - 1)
    idx = np.ascontiguousarray((row_a[:, None] * n_sym + sym_b).T)
    # full[w, p]: the bits of text a's positions in word w
    bits = np.clip(la[None, :] - 64 * np.arange(n_words)[:, None], 0, 64).astype(np.uint64)
    full = np.where(bits >= 64, np.uint64(0xFFFFFFFFFFFFFFFF),
                    np.left_shift(np.uint64(1), np.minimum(bits, np.uint64(63))) - np.uint64(1))
    v = full.copy()
    P = len(la)
    u, m, s1 = (np.empty(P, dtype=np.uint64) for _ in range(3))
    carry, c2 = np.empty(P, dtype=np.uint64), np.empty(P, dtype=bool)
    for t in range(width):
        k = int(active[t])
        it = idx[t, :k]
        if n_words == 1:
            vv, uu, mm = v[0, :k], u[:k], m[:k]
            np.take(words[0], it, out=mm)
            np.bitwise_and(vv, mm, out=uu)
            np.add(vv, uu, out=mm)  # a carry out of the word lies beyond the text: masked off below
            np.subtract(vv, uu, out=vv)
            np.bitwise_or(vv, mm, out=vv)
            np.bitwise_and(vv, full[0, :k], out=vv)
            continue
        cc = carry[:k]
        cc.fill(0)
        for w in range(n_words):
            vv, uu, mm, ss = v[w, :k], u[:k], m[:k], s1[:k]
            np.take(words[w], it, out=mm)
            np.bitwise_and(vv, mm, out=uu)
            np.add(vv, uu, out=ss)
            np.add(ss, cc, out=mm)  # mm: the word of v + u
            np.less(ss, vv, out=c2[:k])  # carry out of v + u ...
            np.subtract(vv, uu, out=vv)  # u is a subset of v: v - u borrows nothing between words
            np.bitwise_or(vv, mm, out=vv)
            np.bitwise_and(vv, full[w, :k], out=vv)
            np.less(mm, ss, out=c2[:k], where=~c2[:k])  # ... or out of adding the carry in
            cc[...] = c2[:k]
    got = la - np.bitwise_count(v).sum(axis=0, dtype=np.int64)
    out = np.empty(P, dtype=np.int64)
    out[order] = got
    return out

