"""The vectorised LCS (bit-parallel, pairs advanced together, shorter streamed texts dropping out of
each step) against the textbook O(mn) dynamic programme."""

from __future__ import annotations

import numpy as np
import pytest

from diversity.metrics import _pairwise
from diversity.metrics._pairwise import lcs_lengths


def dp_lcs(x: list[int], y: list[int]) -> int:
    prev = [0] * (len(y) + 1)
    for a in x:
        cur = [0]
        for j, b in enumerate(y):
            cur.append(prev[j] + 1 if a == b else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _corpus(seed: int, n_texts: int, max_len: int, vocab: int):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_len + 1, size=n_texts)
    lengths[: n_texts // 10] = rng.choice([63, 64, 65, 127, 128, 129, 1, 2], size=n_texts // 10)
    ids = rng.integers(0, vocab, size=int(lengths.sum()))
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    return ids, offsets


@pytest.mark.parametrize("seed,max_len,vocab", [(0, 20, 3), (1, 150, 6), (2, 200, 40), (3, 70, 1)])
def test_lcs_lengths_equal_the_dynamic_programme(seed, max_len, vocab):
    ids, offsets = _corpus(seed, 60, max_len, vocab)
    rng = np.random.default_rng(seed + 10)
    group = np.arange(60) // 12
    a = rng.integers(0, 60, size=300)
    b = (a // 12) * 12 + rng.integers(0, 12, size=300)  # same group
    want = [dp_lcs(ids[offsets[x]:offsets[x + 1]].tolist(), ids[offsets[y]:offsets[y + 1]].tolist())
            for x, y in zip(a.tolist(), b.tolist())]
    assert lcs_lengths(ids, offsets, a, b, group[a]).tolist() == want
    assert lcs_lengths(ids, offsets, b, a, group[a]).tolist() == want  # symmetric


def test_small_blocks_and_split_tables_give_the_same_lengths(monkeypatch):
    ids, offsets = _corpus(5, 40, 140, 5)
    rng = np.random.default_rng(6)
    a, b = rng.integers(0, 40, size=200), rng.integers(0, 40, size=200)
    want = [dp_lcs(ids[offsets[x]:offsets[x + 1]].tolist(), ids[offsets[y]:offsets[y + 1]].tolist())
            for x, y in zip(a.tolist(), b.tolist())]
    monkeypatch.setattr(_pairwise, "_LCS_PAIRS", 7)
    assert lcs_lengths(ids, offsets, a, b).tolist() == want
    monkeypatch.setattr(_pairwise, "_LCS_PAIRS", 8192)
    monkeypatch.setattr(_pairwise, "_LCS_TABLE_BYTES", 2048)
    assert lcs_lengths(ids, offsets, a, b).tolist() == want


def test_radix_order_equals_a_stable_lexsort():
    rng = np.random.default_rng(9)
    for top in (1, 300, 70_000, 2**40):
        lo, hi = rng.integers(0, top, size=500), rng.integers(0, 5, size=500)
        assert _pairwise._radix_order([lo, hi]).tolist() == np.lexsort((lo, hi)).tolist()
    assert _pairwise._radix_order([np.zeros(0, np.int64)]).tolist() == []
