"""Corpus views: one chunk of data grouped by prompt, with every derived view
(tokens, n-gram counts, embeddings, unit vectors) computed once and shared by
all metrics that need it.

The data are typed: ``texts`` (completions), ``embeddings`` (one row per
completion), ``kernels`` (one square matrix per group), ``values``
(categorical attribute values) and ``logprobs`` (one positions x candidates
array per generation). A metric declares which it needs (``Metric.input``).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable, Hashable, Literal, Sequence

import numpy as np

from ..text.ngrams import (NgramRuns, NgramTotals, TokenizedTexts, ngram_codes, ngram_runs, ngram_totals,
                           tokenize_texts, totals_from_runs)
from ..text.normalize import NORMALIZERS
from ..text.tokenize import Tokenizer
from .data import check_embedding_rows

__all__ = ["Corpus"]


class Corpus:
    """Data of several groups (prompts), flat, with ``offsets`` marking the groups."""

    def __init__(self, keys: Sequence[Hashable], sizes: Sequence[int], *, tokenizer: Tokenizer,
                 lowercase: bool = False, texts: Sequence[str] | None = None, embeddings: np.ndarray | None = None,
                 kernels: Sequence[np.ndarray] | None = None, values: Sequence[str] | None = None,
                 logprobs: Sequence[np.ndarray] | None = None, scores: Sequence[float] | None = None,
                 embedder_factory: Callable[[], Any] | None = None,
                 blank_counts: Sequence[int] | None = None) -> None:
        self.keys = tuple(keys)
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.n_groups = len(self.keys)
        self.texts = list(texts) if texts is not None else None
        self.values = list(values) if values is not None else None
        self.logprobs = list(logprobs) if logprobs is not None else None
        self.kernels = list(kernels) if kernels is not None else None
        self.scores = np.asarray(scores, dtype=np.float64) if scores is not None else None  # quality per item
        self._embeddings = embeddings
        self._embedder_factory = embedder_factory
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        # completions left out of each group for having no content (metrics that count them, e.g. refusals)
        self.blank_counts = np.asarray(blank_counts if blank_counts is not None else np.zeros(self.n_groups),
                                       dtype=np.int64)
        self._totals: dict[tuple[int, str], NgramTotals] = {}
        self._keys: dict[str, np.ndarray] = {}
        self._memo: dict[Any, Any] = {}

    @property
    def n_items(self) -> int:
        return int(self.sizes.sum())

    @cached_property
    def offsets(self) -> np.ndarray:
        """Start of each group's rows (length n_groups + 1)."""
        return np.concatenate(([0], np.cumsum(self.sizes))).astype(np.int64)

    @cached_property
    def group_of_item(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_groups, dtype=np.int64), self.sizes)

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """Compute once per corpus: lets metrics share work (cluster labels, per-completion BLEU)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def group_slice(self, g: int) -> slice:
        return slice(int(self.offsets[g]), int(self.offsets[g + 1]))

    def group_rows(self, x: Any, g: int) -> Any:
        return x[self.group_slice(g)]

    def group_texts(self, g: int) -> list[str]:
        return self.texts[self.group_slice(g)]

    def group_mean(self, per_item: np.ndarray) -> np.ndarray:
        """Mean of per-item values within each group, ignoring NaN."""
        ok = ~np.isnan(per_item)
        num = np.bincount(self.group_of_item[ok], weights=per_item[ok], minlength=self.n_groups)
        den = np.bincount(self.group_of_item[ok], minlength=self.n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.maximum(den, 1), np.nan)

    # ---- texts ---------------------------------------------------------------------------------

    @cached_property
    def tokens(self) -> TokenizedTexts:
        if self.texts is None:
            raise ValueError("token-level metrics need the texts; only embeddings or kernels were given.")
        return tokenize_texts(self.texts, self.tokenizer, self.lowercase)

    def token_keys(self, level: str) -> np.ndarray:
        """Group (``"group"``) or completion (``"text"``) index of every token."""
        if level not in self._keys:
            lengths = self.tokens.lengths
            if level == "group":
                per_group = np.bincount(self.group_of_item, weights=lengths, minlength=self.n_groups)
                self._keys[level] = np.repeat(np.arange(self.n_groups, dtype=np.int64), per_group.astype(np.int64))
            else:
                self._keys[level] = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        return self._keys[level]

    def totals(self, n: int, level: Literal["group", "text"] = "group") -> NgramTotals:
        """N-gram statistics per group (``level="group"``) or per completion."""
        key = (n, level)
        if key not in self._totals:
            tt = self.tokens
            if level == "group" and self.n_groups == 1:
                codes, _ = ngram_codes(tt, n)
                radix = len(tt.vocab) if n == 1 else None  # unigram codes are ids < |V|
                self._totals[key] = ngram_totals(codes, None, 1, n, radix)
            else:
                self.ngram_runs(n)  # one sort gives both levels
        return self._totals[key]

    def ngram_runs(self, n: int) -> NgramRuns:
        """All n-grams sorted by (n-gram, text), with the per-group and per-completion statistics of
        :meth:`totals` filled from the same sort (self-BLEU and distinct/entropy share it)."""
        runs = ngram_runs(self.tokens, n)
        self._totals.setdefault((n, "group"), totals_from_runs(runs, self.group_of_item, self.n_groups))
        self._totals.setdefault((n, "text"), totals_from_runs(runs, np.arange(runs.n_texts), runs.n_texts))
        return runs

    def normalized_texts(self, normalize: str) -> list[str]:
        """Every text normalised by ``NORMALIZERS[normalize]`` (see :mod:`diversity.text.normalize`)."""
        return self.memo(("normalized", normalize), lambda: list(map(NORMALIZERS[normalize], self.texts)))

    def distinct_text_counts(self, normalize: str) -> np.ndarray:
        """Distinct normalised texts per group."""
        t = self.normalized_texts(normalize)
        return np.array([len(set(t[self.group_slice(g)])) for g in range(self.n_groups)], dtype=np.int64)

    def length_sums(self) -> dict[str, np.ndarray]:
        """Per group: completions, tokens and squared tokens (mergeable length statistics)."""
        lengths = self.tokens.lengths.astype(np.float64)
        g = self.group_of_item
        return {"n_texts": self.sizes.copy(),
                "sum_tokens": np.bincount(g, weights=lengths, minlength=self.n_groups),
                "sum_sq_tokens": np.bincount(g, weights=lengths**2, minlength=self.n_groups)}

    # ---- vectors -------------------------------------------------------------------------------

    @property
    def has_vectors(self) -> bool:
        return self._embeddings is not None or self.texts is not None

    @cached_property
    def embedder(self) -> Any:
        if self._embedder_factory is None:
            raise ValueError("no embedder to embed the texts with")
        return self._embedder_factory()

    @cached_property
    def embeddings(self) -> np.ndarray:
        """One float64 row per completion (computed once, shared by every semantic metric)."""
        if self._embeddings is not None:
            return self._embeddings
        if self.texts is None:
            raise ValueError("semantic metrics need texts or embeddings")
        if not self.texts:
            return np.empty((0, 0))
        x = np.asarray(self.embedder.encode(self.texts), dtype=np.float64)
        check_embedding_rows(x, self.keys, self.offsets, "the embedder's output")
        return x

    def embedding_fields(self) -> list[tuple[str, Any]]:
        if self._embeddings is not None:
            return [("emb", "precomputed")]
        e = self.embedder
        if hasattr(e, "signature_fields"):
            return list(e.signature_fields())
        fields: list[tuple[str, Any]] = [("emb", f"{e.model_id}@{e.revision}")]
        maxlen = getattr(e, "max_seq_length", None)
        if maxlen:
            fields.append(("maxlen", maxlen))
        return fields

    def unit_sums(self) -> np.ndarray:
        """Per group, the sum of its unit vectors (groups x d)."""
        return self.memo("unit_sums", lambda: np.add.reduceat(self.unit_embeddings, self.offsets[:-1], axis=0))

    def unit_spectrum(self, g: int) -> np.ndarray:
        """Eigenvalues of group ``g``'s cosine kernel over its size, ``U U^T / k``: those of the
        smaller of ``U U^T / k`` (k x k) and ``U^T U / k`` (d x d), which share their nonzero ones."""
        u = self.group_rows(self.unit_embeddings, g)
        k, d = u.shape
        return np.linalg.eigvalsh(u.T @ u / k if k > d else u @ u.T / k)

    @cached_property
    def unit_embeddings(self) -> np.ndarray:
        """Rows scaled to unit length; a zero row has no direction and is an error."""
        x = self.embeddings
        # scale each row by its largest magnitude first, so squaring can neither overflow nor underflow
        scale = np.abs(x).max(axis=1) if x.size else np.zeros(len(x))
        x = x / np.where(scale > 0, scale, 1.0)[:, None]
        zero = np.flatnonzero(scale == 0)
        if len(zero):
            g = int(np.searchsorted(self.offsets, zero[0], side="right") - 1)
            raise ValueError(f"embedding {zero[0] - self.offsets[g]} of prompt {self.keys[g]!r} is a zero vector: "
                             "cosine similarity is undefined for it.")
        return x / np.linalg.norm(x, axis=1)[:, None]
