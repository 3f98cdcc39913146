"""A pooled set (``aggregate="pooled"``): every completion of every prompt in one group, built chunk by chunk.

Metrics that declare compact statistics (:meth:`Metric.statistics
<diversity.core.metric.Metric.statistics>`) get them from each chunk as it
arrives (:mod:`diversity.core.statistics`); only the other metrics keep the
items, per prompt, and are computed on the whole set when it is finished,
with the prompts in input order (``State.in_input_order``) and each prompt's
completions in the order they came. Either way the numbers are those of one
pass over the pooled set.
"""

from __future__ import annotations

from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from .compute import Group, compute_metrics, in_input_order, kept_items, n_items
from .corpus import Corpus
from .metric import Metric
from .statistics import PooledStatistics

__all__ = ["Pool"]


class Pool:
    """The pooled set of a :class:`~diversity.core.state.State`: statistics, items, and counts."""

    def __init__(self, metrics: Sequence[Metric]) -> None:
        declared = [m.statistics() if not m.per_completion else None for m in metrics]
        self.stat_idx = [j for j, d in enumerate(declared) if d is not None]
        self.raw_idx = [j for j, d in enumerate(declared) if d is None]
        views = sorted({v for d in declared if d is not None for v in d})
        self.stats = PooledStatistics(views) if self.stat_idx else None
        self.items: dict[Hashable, list] = {}  # per prompt: (position, columns) of each chunk, for the other metrics
        self.counts = np.zeros(3, dtype=np.int64)  # completions given, blank, left out by a gate

    def update(self, state: Any, groups: Mapping[Hashable, Mapping[str, Sequence[Any]]],
               first_rows: Mapping[Hashable, Any] | None = None) -> None:
        if "pooled" in state.done:
            raise ValueError("this pooled set was already finished (results() was called); start a new state "
                             "for more data.")
        if not groups:
            return
        state.order.setdefault("pooled", None)
        kept: dict[str, list] = {"texts": [], "embeddings": []}
        masks = {}
        for key, cols in groups.items():
            n, keep, n_blank, n_gated = kept_items(cols)
            state.pooled_sizes[key] = state.pooled_sizes.get(key, 0) + n
            self.counts += (n, n_blank, n_gated)
            masks[key] = keep
            for c in kept:
                if c in cols:
                    kept[c].extend(x for x, k in zip(cols[c], keep) if k)
        embedded = None
        if self.stats is not None and any(m.any() for m in masks.values()):
            embedded = self._add_statistics(state, kept, sum(int(m.sum()) for m in masks.values()))
        if not self.raw_idx:
            return
        raw_vectors = any(state.metrics[j].input == "vectors" for j in self.raw_idx)
        rows = iter(embedded) if embedded is not None and raw_vectors else None
        for key, cols in groups.items():  # vectors are kept only for the raw metrics that read them
            segment = {c: list(values) for c, values in cols.items() if c != "embeddings" or raw_vectors}
            if rows is not None:  # vectors made for the statistics serve the other vector metrics too
                segment["embeddings"] = [next(rows) if k else None for k in masks[key]]
            self.items.setdefault(key, []).append((first_rows[key] if first_rows else None, segment))

    def _add_statistics(self, state: Any, kept: dict[str, list], n_kept: int) -> np.ndarray | None:
        metrics = [state.metrics[j] for j in self.stat_idx]
        emb = kept["embeddings"]
        corpus = Corpus(["pooled"], [n_kept], tokenizer=state.options.tokenizer, lowercase=state.options.lowercase,
                        texts=kept["texts"] or None, embeddings=np.asarray(emb, dtype=np.float64) if emb else None,
                        embedder_factory=state._embedder_factory())
        self.stats.add(corpus, with_lengths=any(m.uses_tokens for m in metrics))
        if any(m.input == "vectors" for m in metrics):
            if state.embedding_fields is None:
                state.embedding_fields = corpus.embedding_fields()
            if not emb and any(state.metrics[j].input == "vectors" for j in self.raw_idx):
                return corpus.embeddings
        return None

    def finish(self, state: Any) -> None:
        if "pooled" in state.done or not state.pooled_sizes:
            return
        keys = state.in_input_order(state.pooled_sizes)
        n, n_blank, n_gated = (int(c) for c in self.counts)
        if self.raw_idx:
            _align_vectors([seg for key in keys for _, seg in self.items.get(key, [])])
            flat: dict[str, list] = {}
            for key in keys:
                segments = self.items.pop(key, [])
                cols: dict[str, list] = {}
                for _, segment in segments:
                    for c, values in segment.items():
                        cols.setdefault(c, []).extend(values)
                for c, values in in_input_order(cols, [(p, n_items(seg)) for p, seg in segments]).items():
                    flat.setdefault(c, []).extend(values)
            state._compute([("pooled", flat)], only=self.raw_idx)
        else:
            state.done["pooled"] = Group(n, n_blank, np.full(len(state.metrics), np.nan),
                                         [{} for _ in state.metrics], n_gated)
        group = state.done["pooled"]
        if self.stats is None:
            return
        if self.stats.n_items:
            corpus = self.stats.corpus(state.options.tokenizer, state.options.lowercase)
            out = compute_metrics([state.metrics[j] for j in self.stat_idx], corpus)
            for j, (values, extras) in zip(self.stat_idx, out):
                group.values[j] = values[0]
                group.extras[j] = {name: col[0] for name, col in extras.items()}
        else:
            for j in self.stat_idx:
                group.values[j] = state.metrics[j].blank_group_value if n_blank == n else np.nan

    def merge(self, other: "Pool") -> "Pool":
        """The pool of both (their states were checked: neither is finished)."""
        out = Pool.__new__(Pool)
        out.stat_idx, out.raw_idx = self.stat_idx, self.raw_idx
        out.stats = self.stats.merge(other.stats) if self.stats is not None else None
        out.items = {}
        for src in (self, other):
            for key, segments in src.items.items():
                out.items.setdefault(key, []).extend(segments)
        out.counts = self.counts + other.counts
        return out


def _align_vectors(segments: list[dict[str, list]]) -> None:
    """Give every chunk of a pooled set an ``embeddings`` column, or none: a chunk without vectors
    whose completions are all left out (blank, or gated out) gets empty rows; if a chunk with
    content has none, every chunk's vectors are dropped and the pooled set is embedded once at the
    end (vectors are never mixed with missing ones, nor a text embedded twice)."""
    with_vectors = [("embeddings" in seg) for seg in segments]
    if all(with_vectors) or not any(with_vectors):
        return
    for seg, has in zip(segments, with_vectors):
        if not has:
            n, keep, _, _ = kept_items(seg)
            if keep.any():
                for other in segments:
                    other.pop("embeddings", None)
                return
            seg["embeddings"] = [None] * n

