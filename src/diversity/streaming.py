"""Deprecated (0.1): :class:`NgramCounts`. Use :class:`diversity.Accumulator`,
which streams every metric (per prompt or pooled) through the same mergeable
state as the in-memory path and returns results with signatures."""

from __future__ import annotations

import warnings
from typing import Sequence, Union

from .core.data import as_groups
from .core.evaluate import Accumulator
from .core.options import build_options
from .core.params import Int, check
from .metrics.lexical import EAD, Distinct, NgramEntropy
from .text.tokenize import Tokenizer
from .core.errors import warn as _warn_user

__all__ = ["NgramCounts"]


class NgramCounts:
    """Deprecated: a pooled :class:`~diversity.Accumulator` over one set of completions.

    ``NgramCounts.from_texts(a) + NgramCounts.from_texts(b)`` merges exactly;
    every number comes from the same metric classes as :func:`diversity.distinct_n`.
    """

    def __init__(self, texts: Sequence[str], n_max: int, tokenizer: Union[str, Tokenizer], lowercase: bool) -> None:
        self.n_max = n_max
        self._texts = list(texts)
        self._options = build_options("NgramCounts", {"tokenizer": tokenizer, "lowercase": lowercase})
        self.tokenizer = self._options.tokenizer.spec
        self.lowercase = lowercase

    @classmethod
    def from_texts(cls, texts: Sequence[str], *, n_max: int = 4, tokenizer: Union[str, Tokenizer] = "unicode",
                   lowercase: bool = False) -> "NgramCounts":
        _warn_user("NgramCounts is deprecated since 0.2; use diversity.Accumulator, which streams every metric.",
                      DeprecationWarning)
        n_max = check(n_max, "n_max", "NgramCounts.from_texts", Int(1))
        sets = as_groups(texts, name="texts")
        if sets.grouped:
            raise TypeError("NgramCounts.from_texts takes one set of completions (a sequence of strings).")
        return cls(sets.sets[0], n_max, tokenizer, lowercase)

    def merge(self, other: "NgramCounts") -> "NgramCounts":
        if not isinstance(other, NgramCounts):
            return NotImplemented
        for attr in ("n_max", "tokenizer", "lowercase"):
            if getattr(self, attr) != getattr(other, attr):
                raise ValueError(f"cannot merge NgramCounts with different {attr}: "
                                 f"{getattr(self, attr)!r} vs {getattr(other, attr)!r}")
        return NgramCounts(self._texts + other._texts, self.n_max, self._options.tokenizer, self.lowercase)

    __add__ = merge

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NgramCounts) and (self.n_max, self.tokenizer, self.lowercase, sorted(self._texts)) \
            == (other.n_max, other.tokenizer, other.lowercase, sorted(other._texts))

    def _value(self, metric) -> float:
        acc = Accumulator([metric], self._options, mode="single")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return acc.update({0: self._texts}).results()[metric.spec].value

    def _check_n(self, n: int) -> int:
        n = check(n, "n", "NgramCounts", Int(1))
        if n > self.n_max:
            raise ValueError(f"these counts go up to n_max={self.n_max}; got n={n}.")
        return n

    def _totals(self, n: int):
        from .core.corpus import Corpus

        texts = [t for t in self._texts if t.strip()]
        corpus = Corpus([0], [len(texts)], tokenizer=self._options.tokenizer, lowercase=self.lowercase, texts=texts)
        return corpus.totals(self._check_n(n))

    def unique(self, n: int) -> int:
        return int(self._totals(n).unique[0])

    def total(self, n: int) -> int:
        return int(self._totals(n).total[0])

    def distinct(self, n: int) -> float:
        return self._value(Distinct(self._check_n(n)))

    def entropy(self, n: int, base: float = 2.0) -> float:
        return self._value(NgramEntropy(self._check_n(n), base=base))

    def ead(self, n: int, vocab_size: int) -> float:
        return self._value(EAD(self._check_n(n), vocab_size=vocab_size))

    @property
    def n_texts(self) -> int:
        return len(self._texts)

    @property
    def mean_tokens(self) -> float:
        toks = self._options.tokenizer.tokenize_many(self._texts)
        return sum(map(len, toks)) / len(toks) if toks else float("nan")
