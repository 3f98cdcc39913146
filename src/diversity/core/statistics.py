"""Compact mergeable statistics of a pooled set, for metrics that declare them.

A pooled set (``aggregate="pooled"``) is one group made of every completion of
every prompt. Most metrics need its items (self-BLEU compares every pair), but
some are functions of a few additive statistics, and declare which
(:meth:`Metric.statistics <diversity.core.metric.Metric.statistics>`):

``"ngrams-<n>"``
    the exact n-gram count table: the token strings of every distinct n-gram
    and its count (:class:`NgramTable`; distinct-n, EAD, n-gram entropy);
``"distinct-texts-<normalize>"``
    a 128-bit BLAKE2b digest of every distinct normalised completion
    (unique-fraction; two different texts share a digest with probability
    below 1e-20 at a billion texts);
``"unit-sum"``
    the sum of the completions' unit vectors (mean pairwise cosine distance);
``"gram"``
    the d x d matrix :math:`\\sum_i u_i u_i^\\top` of the unit vectors, whose
    nonzero eigenvalues are those of the k x k cosine kernel (the Vendi score).

Each chunk of a pooled state is reduced to these statistics when it arrives
(on the worker, in a distributed run) and states merge them by addition or
union, so a pooled run moves counts and matrices, not texts or vectors. The
value is then computed by the metric's own ``compute`` on a
:class:`StatisticsCorpus`, which serves the same views from the merged
statistics: the numbers equal one pass over all the items to round-off (a
test checks 1e-12; eigenvalues near the Vendi score's rank tolerance, from
near-duplicate completions, can move more between summation orders, which
shows only for an order q < 1). Metrics that declare nothing keep their items.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np

from ..text.ngrams import NgramTotals
from ..text.tokenize import Tokenizer

__all__ = ["NgramTable", "PooledStatistics", "StatisticsCorpus"]


class NgramTable:
    """The exact count table of n-grams: ``vocab`` (sorted token strings), ``grams`` (one row of vocab
    indices per distinct n-gram, rows sorted), ``counts``. Union with :meth:`merge`."""

    __slots__ = ("n", "vocab", "grams", "counts")

    def __init__(self, n: int, vocab: np.ndarray, grams: np.ndarray, counts: np.ndarray) -> None:
        self.n, self.vocab, self.grams, self.counts = n, vocab, grams, counts

    @classmethod
    def from_tokens(cls, ids: np.ndarray, start: np.ndarray, tokens: Sequence[str], n: int) -> "NgramTable":
        """The table of the n-grams starting at ``ids[start]`` (token ids into ``tokens``)."""
        starts = np.flatnonzero(start)
        if not len(starts):
            return cls.empty(n)
        windows = np.stack([ids[starts + j] for j in range(n)], axis=1)
        used, local = np.unique(windows, return_inverse=True)
        names = np.array([tokens[i] for i in used], dtype=object)
        order = np.array(sorted(range(len(names)), key=names.__getitem__), dtype=np.int64)  # by code point
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return cls._reduce(n, names[order], rank[local.reshape(windows.shape)], np.ones(len(windows), np.int64))

    @classmethod
    def empty(cls, n: int) -> "NgramTable":
        return cls(n, np.array([], dtype=object), np.zeros((0, n), np.uint8), np.zeros(0, np.uint8))

    @classmethod
    def _reduce(cls, n: int, vocab: np.ndarray, grams: np.ndarray, counts: np.ndarray) -> "NgramTable":
        if not len(grams):
            return cls(n, vocab, grams.reshape(0, n), counts)
        order = np.lexsort(grams.T[::-1])
        grams, counts = grams[order], counts[order]
        new = np.ones(len(grams), dtype=bool)
        new[1:] = (grams[1:] != grams[:-1]).any(axis=1)
        starts = np.flatnonzero(new)
        return cls(n, vocab, _narrow(grams[starts]), _narrow(np.add.reduceat(counts.astype(np.int64), starts)))

    def merge(self, other: "NgramTable") -> "NgramTable":
        # Python strings throughout: numpy's fixed-width str would drop a token's trailing NUL characters
        vocab = np.array(sorted(set(self.vocab.tolist()) | set(other.vocab.tolist())), dtype=object)
        index = {t: i for i, t in enumerate(vocab.tolist())}

        def remap(t: "NgramTable") -> np.ndarray:
            ids = np.array([index[x] for x in t.vocab.tolist()], dtype=np.int64)
            return ids[t.grams] if len(t.grams) else t.grams.astype(np.int64)

        return NgramTable._reduce(self.n, vocab, np.concatenate([remap(self), remap(other)]),
                                  np.concatenate([self.counts, other.counts]))

    def totals(self) -> NgramTotals:
        c = self.counts.astype(np.float64)
        return NgramTotals(n=self.n, unique=np.array([len(self.counts)]),
                           total=np.array([int(self.counts.sum(dtype=np.int64))]),
                           sum_clogc=np.array([float((c * np.log(c)).sum()) if len(c) else 0.0]))

    @property
    def nbytes(self) -> int:
        return int(self.grams.nbytes + self.counts.nbytes +
                   sum(len(s.encode("utf-8", "surrogatepass")) for s in self.vocab))


def _narrow(a: np.ndarray) -> np.ndarray:
    """``a`` (non-negative integers) in the narrowest of uint8/16/32/int64 that holds it: what travels."""
    top = int(a.max()) if a.size else 0
    for t in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(t).max:
            return a.astype(t)
    return a.astype(np.int64)


def text_digests(texts: Sequence[str]) -> set[bytes]:
    """128-bit BLAKE2b digests of ``texts`` (UTF-8; surrogates escaped)."""
    return {hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).digest() for t in texts}


class PooledStatistics:
    """The declared statistics (``views``) of the kept completions of a pooled set, with their count and
    the length sums of token metrics; :meth:`add` a chunk's corpus (one group), :meth:`merge` another."""

    def __init__(self, views: Sequence[str]) -> None:
        self.views: dict[str, Any] = {v: None for v in views}
        self.n_items = 0
        self.lengths = np.zeros(3)  # completions, tokens, squared tokens (with token metrics)

    def add(self, corpus: Any, with_lengths: bool) -> None:
        """Add the statistics of ``corpus`` (one group: a chunk's kept completions)."""
        for name in self.views:
            self.views[name] = _combine(self.views[name], _view(corpus, name))
        self.n_items += corpus.n_items
        if with_lengths:
            s = corpus.length_sums()
            self.lengths = self.lengths + [float(s["n_texts"].sum()), float(s["sum_tokens"].sum()),
                                           float(s["sum_sq_tokens"].sum())]

    def merge(self, other: "PooledStatistics") -> "PooledStatistics":
        out = PooledStatistics(list(self.views))
        out.views = {k: _combine(v, other.views[k]) for k, v in self.views.items()}
        out.n_items, out.lengths = self.n_items + other.n_items, self.lengths + other.lengths
        return out

    @property
    def nbytes(self) -> int:
        """Bytes the statistics hold (what a state moves instead of items)."""
        total = 0
        for v in self.views.values():
            if isinstance(v, NgramTable):
                total += v.nbytes
            elif isinstance(v, set):
                total += 16 * len(v)
            elif isinstance(v, np.ndarray):
                total += v.nbytes
        return total

    def corpus(self, tokenizer: Tokenizer, lowercase: bool) -> "StatisticsCorpus":
        return StatisticsCorpus(self, tokenizer, lowercase)


def _view(corpus: Any, name: str) -> Any:
    if name.startswith("ngrams-"):
        n = int(name.split("-")[1])
        tt = corpus.tokens
        return NgramTable.from_tokens(tt.ids, tt.start_mask(n), tt.vocab.tokens, n)
    if name.startswith("distinct-texts-"):
        return text_digests(corpus.normalized_texts(name[len("distinct-texts-"):]))
    if name == "unit-sum":
        return corpus.unit_embeddings.sum(axis=0)
    if name == "gram":
        u = corpus.unit_embeddings
        return u.T @ u
    raise ValueError(f"unknown statistic {name!r}")


def _combine(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, NgramTable):
        return a.merge(b)
    if isinstance(a, set):
        return a | b
    return a + b


class StatisticsCorpus:
    """A one-group corpus that serves the declared views from merged statistics (see the module
    docstring); anything else a metric might read is absent, by design."""

    def __init__(self, stats: PooledStatistics, tokenizer: Tokenizer, lowercase: bool) -> None:
        self.stats, self.tokenizer, self.lowercase = stats, tokenizer, lowercase
        self.keys = ("pooled",)
        self.n_groups = 1
        self.sizes = np.array([stats.n_items], dtype=np.int64)
        self.offsets = np.array([0, stats.n_items], dtype=np.int64)
        self.blank_counts = np.zeros(1, dtype=np.int64)
        self.kernels = None

    @property
    def n_items(self) -> int:
        return self.stats.n_items

    def _get(self, name: str) -> Any:
        if name not in self.stats.views:
            raise RuntimeError(f"the statistic {name!r} was not collected for this pooled set")
        return self.stats.views[name]

    def totals(self, n: int, level: str = "group") -> NgramTotals:
        if level != "group":
            raise RuntimeError("per-completion n-gram statistics are not kept for a pooled set")
        table = self._get(f"ngrams-{n}")
        return (table if table is not None else NgramTable.empty(n)).totals()

    def distinct_text_counts(self, normalize: str) -> np.ndarray:
        return np.array([len(self._get(f"distinct-texts-{normalize}") or ())], dtype=np.int64)

    def unit_sums(self) -> np.ndarray:
        return self._get("unit-sum")[None, :]

    def unit_spectrum(self, g: int) -> np.ndarray:
        """The d x d matrix's eigenvalues; with fewer completions than dimensions only the k largest, as
        the k x k kernel of one pass has (the Vendi score's rank tolerance counts them)."""
        lam = np.linalg.eigvalsh(self._get("gram") / self.stats.n_items)
        return lam[-self.stats.n_items:] if self.stats.n_items < len(lam) else lam

    def length_sums(self) -> dict[str, np.ndarray]:
        n, s, sq = self.stats.lengths
        return {"n_texts": np.array([int(n)]), "sum_tokens": np.array([s]), "sum_sq_tokens": np.array([sq])}
