"""Mergeable n-gram statistics for sets too big to hold in memory at once.

:class:`NgramCounts` holds the sufficient statistics of distinct-n, EAD and
n-gram entropy for one set of completions: the count of every distinct
n-gram (n = 1..n_max) and the token lengths. Counts built chunk by chunk, in
one process or many, merge exactly::

    total = NgramCounts.from_texts(chunk1) + NgramCounts.from_texts(chunk2)
    total.distinct(2) == distinct_n(chunk1 + chunk2, n=2).value

Tokens are kept as strings in each object's own vocabulary, so counts made in
different processes (or machines) merge without a shared vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence, Union

import numpy as np

from ._ngrams import NgramTotals, Vocabulary, ngram_codes, tokenize_texts
from ._validate import as_groups, check_int
from .tokenize import Tokenizer, get_tokenizer

__all__ = ["NgramCounts"]


@dataclass(frozen=True)
class NgramCounts:
    """Distinct n-grams and their counts for n = 1..n_max, plus length sums.

    Build with :meth:`from_texts`, combine with ``+`` (or :meth:`merge`),
    read metrics with :meth:`distinct`, :meth:`entropy` and :meth:`ead`.
    """

    n_max: int
    tokenizer: str  # spec, e.g. "unicode-v1"
    lowercase: bool
    tokens: tuple[str, ...]
    grams: dict[int, np.ndarray] = field(repr=False)  # n -> (U, n) int64 token ids
    counts: dict[int, np.ndarray] = field(repr=False)  # n -> (U,) int64
    n_texts: int = 0
    n_tokens: int = 0
    sum_sq_tokens: int = 0

    @classmethod
    def from_texts(cls, texts: Sequence[str], *, n_max: int = 4, tokenizer: Union[str, Tokenizer] = "unicode",
                   lowercase: bool = False) -> "NgramCounts":
        """Count the n-grams of one chunk of completions."""
        check_int(n_max, "n_max", "NgramCounts.from_texts")
        sets = as_groups(texts, name="texts")
        if sets.grouped:
            raise TypeError("NgramCounts.from_texts takes one set of completions (a sequence of strings).")
        tok = get_tokenizer(tokenizer)
        tt = tokenize_texts(sets.sets[0], tok, lowercase)
        grams, counts = {}, {}
        for n in range(1, n_max + 1):
            codes, mask = ngram_codes(tt, n)
            uniq, first, cnt = np.unique(codes, return_index=True, return_counts=True)
            starts = first if mask is None else np.flatnonzero(mask)[first]
            grams[n] = np.stack([tt.ids[starts + j] for j in range(n)], axis=1) if len(uniq) else \
                np.empty((0, n), np.int64)
            counts[n] = cnt.astype(np.int64)
        lengths = tt.lengths
        return cls(n_max, tok.spec, lowercase, tuple(tt.vocab.tokens), grams, counts, len(lengths),
                   int(lengths.sum()), int((lengths**2).sum()))

    def merge(self, other: "NgramCounts") -> "NgramCounts":
        """Exact counts of the union of both chunks."""
        if not isinstance(other, NgramCounts):
            return NotImplemented
        for attr in ("n_max", "tokenizer", "lowercase"):
            if getattr(self, attr) != getattr(other, attr):
                raise ValueError(f"cannot merge NgramCounts with different {attr}: "
                                 f"{getattr(self, attr)!r} vs {getattr(other, attr)!r}")
        vocab = Vocabulary()
        vocab.encode(list(self.tokens))
        remap = vocab.encode(list(other.tokens)) if other.tokens else np.empty(0, np.int64)
        grams, counts = {}, {}
        for n in range(1, self.n_max + 1):
            rows = np.concatenate([self.grams[n], remap[other.grams[n]] if len(other.grams[n]) else
                                   other.grams[n]])
            cnt = np.concatenate([self.counts[n], other.counts[n]])
            if len(rows):
                order = np.lexsort(rows.T[::-1])
                rows, cnt = rows[order], cnt[order]
                starts = np.flatnonzero(np.concatenate(([True], (rows[1:] != rows[:-1]).any(axis=1))))
                rows, cnt = rows[starts], np.add.reduceat(cnt, starts)
            grams[n], counts[n] = rows, cnt
        return NgramCounts(self.n_max, self.tokenizer, self.lowercase, tuple(vocab.tokens), grams, counts,
                           self.n_texts + other.n_texts, self.n_tokens + other.n_tokens,
                           self.sum_sq_tokens + other.sum_sq_tokens)

    __add__ = merge

    def _check_n(self, n: int) -> int:
        n = check_int(n, "n", "NgramCounts")
        if n > self.n_max:
            raise ValueError(f"these counts go up to n_max={self.n_max}; got n={n}.")
        return n

    def unique(self, n: int) -> int:
        return int(len(self.counts[self._check_n(n)]))

    def total(self, n: int) -> int:
        return int(self.counts[self._check_n(n)].sum())

    def distinct(self, n: int) -> float:
        """distinct-n of the whole set (``variant="set"``); NaN when there is no n-gram."""
        t = self.total(n)
        return self.unique(n) / t if t else math.nan

    def entropy(self, n: int, base: float = 2.0) -> float:
        """Shannon entropy of the n-gram distribution; NaN when there is no n-gram."""
        c = self.counts[self._check_n(n)].astype(np.float64)
        totals = NgramTotals(n=n, unique=np.array([len(c)]), total=np.array([int(c.sum())]),
                             sum_clogc=np.array([float((c * np.log(c)).sum())]))
        return float(totals.entropy(base)[0])  # the same formula as the in-memory path

    def ead(self, n: int, vocab_size: int) -> float:
        """Expectation-adjusted distinct-n with vocabulary size ``vocab_size``."""
        v = check_int(vocab_size, "vocab_size", "NgramCounts.ead", low=2)
        t = self.total(n)
        if t == 0:
            return math.nan
        return self.unique(n) / (-v * math.expm1(t * math.log1p(-1.0 / v)))

    @property
    def mean_tokens(self) -> float:
        return self.n_tokens / self.n_texts if self.n_texts else math.nan
