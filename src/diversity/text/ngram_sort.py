"""Sorting the n-gram starts of every order by (n-gram, position), one radix pass per order.

Order n comes from the sorted order n-1 (prefix doubling, as in suffix-array
construction): the n-gram at i is the token at i followed by the (n-1)-gram at
i+1, so a stable radix sort of the order n-1 starts by the preceding token id
gives order n, with no comparison sort of wide codes. The arrays it builds
(token-id digits, a packed per-position word, the last order sorted) are kept on
the :class:`~diversity.text.ngrams.TokenizedTexts` for the next order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .ngrams import TokenizedTexts

__all__ = ["sorted_starts", "index_type", "changes"]


@dataclass(frozen=True)
class _Sorted:
    """The n-gram starts of one order, sorted by (n-gram, position)."""

    n: int
    pos: np.ndarray  # positions of the n-gram starts
    rank: np.ndarray  # dense rank of each one's n-gram (non-decreasing)
    text: np.ndarray  # the text of each


def index_type(tt: TokenizedTexts) -> type:
    return np.int32 if len(tt.ids) < 2**31 - 1 else np.int64


def changes(x: np.ndarray) -> np.ndarray:
    """``out[i]``: i == 0 or ``x[i] != x[i - 1]``."""
    out = np.empty(len(x), dtype=bool)
    out[:1] = True
    np.not_equal(x[1:], x[:-1], out=out[1:])
    return out


def _cached(tt: TokenizedTexts, name: str, make):
    got = tt.__dict__.get(name)
    if got is None:
        got = tt.__dict__[name] = make()
    return got


def _digits(tt: TokenizedTexts) -> list[np.ndarray]:
    """The token ids as base-65536 digits (uint16), least significant first."""
    def make():
        top, got, shift = max(len(tt.vocab), 1) - 1, [], 0
        while not got or top >> shift:
            got.append(((tt.ids >> shift) & 0xFFFF).astype(np.uint16))
            shift += 16
        return got
    return _cached(tt, "_digits", make)


def _by_id(tt: TokenizedTexts, sel: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Stable order of the tokens at ``sel`` (all tokens: None) by id, an LSD radix sort (one
    numpy radix pass, a stable argsort of uint16, per 16-bit digit), and where the id changes in it."""
    digits, order = _digits(tt), None
    for d in digits:
        key = d if sel is None else d[sel]
        if order is not None:
            key = key[order]
        o = np.argsort(key, kind="stable")
        order = o if order is None else order[o]
    if len(digits) == 1:
        return order, changes(key[o])
    return order, changes(tt.ids[order if sel is None else sel[order]])


def _packed(tt: TokenizedTexts) -> np.ndarray:
    """Per position j, in one uint64 (one random read instead of three): the text of j << 17, whether j
    starts its text << 16, and the low 16 bits of the id at j - 1."""
    def make():
        out = np.repeat(np.arange(len(tt.lengths), dtype=np.uint64), tt.lengths) << np.uint64(17)
        out[tt.offsets[:-1][tt.lengths > 0]] |= np.uint64(1 << 16)
        out[1:] |= _digits(tt)[0][:-1]
        return out
    return _cached(tt, "_packed", make)


def sorted_starts(tt: TokenizedTexts, n: int) -> _Sorted:
    """Order n from order n-1 (prefix doubling as in suffix-array construction): the n-gram at i is
    (id[i], the (n-1)-gram at i+1), so the (n-1)-gram starts j, already in sorted order, give the
    candidates i = j - 1 (j not the first token of its text), and a stable radix sort by id[i]
    yields (n-gram, position) order. The last order is kept on ``tt`` for the next call."""
    last, idx = tt.__dict__.get("_sorted"), index_type(tt)
    if last is None or last.n > n:
        pos, new = _by_id(tt, None)
        pos = pos.astype(idx)
        last = _Sorted(1, pos, np.cumsum(new, dtype=idx), (_packed(tt)[pos] >> np.uint64(17)).astype(idx))
    while last.n < n:
        m = last.n + 1
        info = _packed(tt)[last.pos]
        keep = (info & np.uint64(1 << 16)) == 0
        info = info[keep]
        cand = last.pos[keep]
        cand -= 1
        if len(_digits(tt)) == 1:  # ids below 2**16: the packed low digit is the whole id
            order = np.argsort(info.astype(np.uint16), kind="stable")
            info = info[order]
            new = changes(info.astype(np.uint16))
        else:
            order, new = _by_id(tt, cand)
            info = info[order]
        prev = last.rank[keep][order]
        new[1:] |= prev[1:] != prev[:-1]
        del prev, last  # the order n-1 arrays are freed before order n's are made
        last = _Sorted(m, cand[order], np.cumsum(new, dtype=idx), (info >> np.uint64(17)).astype(idx))
    tt.__dict__["_sorted"] = last
    return last
