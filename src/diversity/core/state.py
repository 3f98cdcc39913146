"""Mergeable statistics: :class:`State` holds what a set of metrics has seen.

A group (prompt) is *finished* once all its completions are known: its value
for every metric is computed and kept with the metric's per-group extras (a
handful of numbers). Until then the group is *open* and its items (texts,
embedding rows, values, log-probabilities) are its sufficient statistics. A
:class:`State` updated with chunks of data, merged with other states in any
order and grouping (``a.merge(b)``), and then asked for :meth:`State.results`
gives the numbers of one pass over all the data (to floating-point round-off):
the in-memory path is "update once with complete groups, results", streaming
and the distributed engine are "update per chunk, merge, results", and all of
them compute through the same ``Metric.compute``.

Blank completions (empty or whitespace only) are left out of every text
metric when a group is computed (they are non-answers); a group with nothing
else is undefined.

Provenance. A state records the embedder that made its vectors
(:attr:`State.embedder_identity`: name, revision, backend, device) and the
data it has seen: the prompts it finished and an identity for every chunk
of open (not yet complete) data it was given (:attr:`State.chunks`, one
random id per :meth:`State.update` call, carried through merges and
pickling). :meth:`State.merge` refuses states of different
metrics, settings or embedders, a state merged with itself, a prompt finished
in both states, and a chunk held by both (a state merged twice into one tree,
or with a copy of itself: its completions would be counted twice). Two
states fed the same data by two separate ``update`` calls are not detected;
give each chunk to one state. A
pickled state keeps its embedder (pickled with it); an embedder that cannot
be pickled is refused with advice rather than silently replaced by the
default model on the other side.
"""

from __future__ import annotations

import pickle
import uuid
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence

import numpy as np

from .compute import COLUMNS, Group, compute_metrics, expand, in_input_order, kept_items, n_items
from .corpus import Corpus
from .errors import InvalidParameterError
from .metric import Metric
from .options import Options
from .pooling import Pool
from .provenance import PickledEmbedder, check_mergeable, describe_identity, embedder_identity

__all__ = ["State", "BLANK_REASON", "default_embedder", "embedder_identity"]

BLANK_REASON = "every completion is empty or whitespace"


def default_embedder(metrics: Sequence[Metric]) -> Any:
    """The default model of the first vector metric (metrics sharing a default share the model)."""
    return next(m for m in metrics if m.input == "vectors").default_embedder()  # type: ignore[attr-defined]


class State:
    """The statistics of ``metrics`` over the data seen so far.

    Parameters
    ----------
    metrics : sequence of Metric
    options : Options
    mode : {"per-prompt", "pooled", "single"}
        ``"pooled"`` gathers every completion into one group (key ``"pooled"``).
    embedder : Embedder or None
        For vector metrics on texts; default: the metric's default model.
    context_fields : sequence of (key, value)
        Settings applied to the data before it got here (length control,
        subsampling, gates), written into every result's signature.
    """

    def __init__(self, metrics: Sequence[Metric], options: Options, mode: str = "per-prompt", *,
                 embedder: Any = None, context_fields: Sequence[tuple[str, Any]] = ()) -> None:
        if mode not in ("per-prompt", "pooled", "single"):
            raise InvalidParameterError(f"mode must be 'per-prompt', 'pooled' or 'single', got {mode!r}.")
        self.metrics = list(metrics)
        self.options = options
        self.mode = mode
        self.embedder = embedder
        self.context_fields = tuple(context_fields)
        self.order: dict[Hashable, None] = {}  # every key seen, in first-seen order
        self.open: dict[Hashable, dict[str, list]] = {}
        self.done: dict[Hashable, Group] = {}
        self.embedding_fields: list[tuple[str, Any]] | None = None
        self.pooled_sizes: dict[Hashable, int] = {}  # pooled mode: completions given per original prompt
        self.has_texts = False
        self.kernels_given = False
        self.embedder_identity = embedder_identity(embedder)
        self.chunks: dict[str, Hashable] = {}  # id of each open chunk -> its first prompt (for messages)
        self.positions: dict[Hashable, Any] | None = {}  # each prompt's first row in the input (see update)
        self.segments: dict[Hashable, list] = {}  # open prompts: (position, items) of each chunk, in arrival order
        self.pool = Pool(self.metrics) if mode == "pooled" else None

    @property
    def group_sizes(self) -> list[int]:
        """Completions given per prompt (per original prompt in pooled mode)."""
        if self.mode == "pooled":
            return list(self.pooled_sizes.values())
        return [self.done[k].size if k in self.done else n_items(self.open[k]) for k in self.order]

    @property
    def n_groups_given(self) -> int:
        return len(self.pooled_sizes) if self.mode == "pooled" else len(self.order)

    # ---- pickling: the embedder travels with the state, or pickling is refused -----------------

    def __getstate__(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        if self.embedder is not None:
            try:
                d["embedder"] = PickledEmbedder(pickle.dumps(self.embedder, protocol=pickle.HIGHEST_PROTOCOL))
            except Exception as e:  # anything pickle raises for an object it cannot carry
                raise TypeError(
                    f"This State's embedder ({describe_identity(self.embedder_identity)}, a "
                    f"{type(self.embedder).__qualname__}) cannot be pickled ({type(e).__name__}: {e}); a state "
                    "travels with its embedder so that it never re-embeds with another model. Make the embedder "
                    "picklable (e.g. load its model lazily), or call state.finish() and pickle the finished "
                    "state of a State built with embedder=None and precomputed embeddings.") from None
        return d

    def __setstate__(self, d: dict[str, Any]) -> None:
        if isinstance(d.get("embedder"), PickledEmbedder):
            d = dict(d, embedder=pickle.loads(d["embedder"].blob))
        d.setdefault("embedder_identity", embedder_identity(d.get("embedder")))
        d.setdefault("chunks", {})
        d.setdefault("positions", None)
        d.setdefault("segments", {})
        self.__dict__.update(d)

    # ---- update --------------------------------------------------------------------------------

    def update(self, groups: Mapping[Hashable, Mapping[str, Sequence[Any]]], *, complete: bool = True,
               first_rows: Mapping[Hashable, Any] | None = None) -> "State":
        """Add a chunk: ``groups`` maps a prompt key to its columns (``{"texts": [...], ...}``).

        ``complete=True`` says that these are all the completions of these
        prompts (they are computed now and the items dropped);
        ``complete=False`` keeps them open until :meth:`finish` or :meth:`results`.
        ``first_rows`` (every key of ``groups`` -> a sortable position, e.g.
        ``(partition, row)``) places each prompt in the input: when every update
        of every merged state gave it, results list prompts (and a pooled set
        its completions) in input order whatever the order of merges.
        """
        for cols in groups.values():
            self.has_texts = self.has_texts or "texts" in cols
            self.kernels_given = self.kernels_given or "kernels" in cols
        if groups and (not complete or self.mode == "pooled"):  # finished prompts are identified by their keys
            self.chunks[uuid.uuid4().hex] = next(iter(groups))
        self._place(groups, first_rows)
        if self.mode == "pooled":
            if any("kernels" in cols for cols in groups.values()):
                raise ValueError(f"{self.options.func}: kernels of separate prompts cannot be pooled; pass "
                                 "embeddings instead.")
            self.pool.update(self, groups, first_rows)
            return self
        ready = []
        for key, cols in groups.items():
            if key in self.done:
                raise ValueError(f"prompt {key!r} was already finished: its completions came in two chunks that "
                                 "each claimed to hold all of them. Pass complete=False, or group the data by prompt.")
            self.order.setdefault(key, None)
            if complete and key not in self.open:
                ready.append((key, {c: list(v) for c, v in cols.items()}))
            else:
                slot = self.open.setdefault(key, {})
                for c, items in cols.items():
                    slot.setdefault(c, []).extend(items)
                self.segments.setdefault(key, []).append((first_rows[key] if first_rows else None, n_items(cols)))
        if ready:
            self._compute(ready)
        return self

    def _place(self, groups: Mapping[Hashable, Any], first_rows: Mapping[Hashable, Any] | None) -> None:
        if not groups or self.positions is None:
            return
        if first_rows is None:
            self.positions = None  # an update without positions: the order of updates and merges is kept
            return
        for key in groups:
            if key not in first_rows:
                raise ValueError(f"first_rows has no position for prompt {key!r}.")
            old = self.positions.get(key)
            if old is None or first_rows[key] < old:
                self.positions[key] = first_rows[key]

    def in_input_order(self, keys: Iterable[Hashable]) -> list[Hashable]:
        """``keys`` sorted by their first row in the input when every update said where it was, else as given."""
        keys = list(keys)
        if self.positions is None or any(k not in self.positions for k in keys):
            return keys
        return sorted(keys, key=self.positions.__getitem__)

    def finish(self, keys: Iterable[Hashable] | None = None) -> "State":
        """Compute the open groups ``keys`` (default: all of them): their data is complete."""
        if self.mode == "pooled":
            self.pool.finish(self)
            return self
        keys = list(self.open) if keys is None else list(keys)
        ready = [(k, in_input_order(self.open.pop(k), self.segments.pop(k, []))) for k in keys if k in self.open]
        if ready:
            self._compute(ready)
        return self

    def merge(self, other: "State") -> "State":
        """A new state with the data of both (associative and commutative up to round-off).

        Raises
        ------
        ValueError
            The states differ in metrics, mode, tokenizer, case or context
            settings, or in the embedder that made their vectors; ``other`` is
            this state; a prompt is finished in both, or finished in one and
            open in the other; both hold the same open chunk.
        """
        check_mergeable(self, other)
        if self.mode == "pooled" and ("pooled" in self.done or "pooled" in other.done):
            raise ValueError("cannot merge a finished pooled set (results() was called on it): its value is computed "
                             "and the other state's data would be left out. Merge the states before results().")
        out = State(self.metrics, self.options, self.mode, embedder=self.embedder or other.embedder,
                    context_fields=self.context_fields)
        out.embedder_identity = self.embedder_identity or other.embedder_identity
        out.chunks = {**self.chunks, **other.chunks}
        out.embedding_fields = self.embedding_fields or other.embedding_fields
        out.has_texts = self.has_texts or other.has_texts
        out.kernels_given = self.kernels_given or other.kernels_given
        if self.positions is None or other.positions is None:
            out.positions = None
        else:
            out.positions = dict(self.positions)
            for key, pos in other.positions.items():
                if key not in out.positions or pos < out.positions[key]:
                    out.positions[key] = pos
        for src in (self, other):
            for key, n in src.pooled_sizes.items():
                out.pooled_sizes[key] = out.pooled_sizes.get(key, 0) + n
        if self.mode == "pooled":
            out.pool = self.pool.merge(other.pool)
        for key in list(self.order) + list(other.order):
            out.order.setdefault(key, None)
        for src in (self, other):
            for key, g in src.done.items():
                if key in out.done or key in self.open or key in other.open:
                    raise ValueError(f"cannot merge: prompt {key!r} is finished in one state and also present in the "
                                     "other (the same data merged twice, or one prompt split between states that "
                                     "each claimed all of it).")
                out.done[key] = g
        for src in (self, other):
            for key, cols in src.open.items():
                slot = out.open.setdefault(key, {})
                for c, items in cols.items():
                    slot.setdefault(c, []).extend(items)
                out.segments.setdefault(key, []).extend(src.segments.get(key, [(None, n_items(cols))]))
        return out

    # ---- computing finished groups -------------------------------------------------------------

    def _embedder_factory(self) -> Callable[[], Any]:
        def make() -> Any:
            if self.embedder is None:
                self.embedder = default_embedder(self.metrics)
            if self.embedder_identity is None:
                self.embedder_identity = embedder_identity(self.embedder)
            return self.embedder
        return make

    def _compute(self, ready: list[tuple[Hashable, dict[str, list]]], only: Sequence[int] | None = None) -> None:
        """Finish the groups ``ready``: every metric (or the metrics at indices ``only``; the others get
        NaN and no extras, for the caller to fill)."""
        metrics = self.metrics if only is None else [self.metrics[j] for j in only]
        keys, sizes, blanks, kept_keys, kept_cols = [], [], [], [], {c: [] for c in COLUMNS}
        kept_sizes, masks, gated = [], [], []
        for key, cols in ready:
            n, keep, n_blank, n_gated = kept_items(cols)
            keys.append(key)
            sizes.append(n)
            blanks.append(n_blank)
            gated.append(n_gated)
            if keep.any():
                kept_keys.append(key)
                kept_sizes.append(int(keep.sum()))
                masks.append(keep)
                for c, items in cols.items():
                    if c == "kernels":
                        kept_cols[c].extend(items)
                    elif c in kept_cols:
                        kept_cols[c].extend(x for x, k in zip(items, keep) if k)
        per_metric: list[Any] = []
        if kept_keys:
            emb = kept_cols["embeddings"]
            blank_of = dict(zip(keys, blanks))
            corpus = Corpus(kept_keys, kept_sizes, tokenizer=self.options.tokenizer, lowercase=self.options.lowercase,
                            texts=kept_cols["texts"] or None,
                            embeddings=np.asarray(emb, dtype=np.float64) if emb else None,
                            kernels=kept_cols["kernels"] or None, values=kept_cols["values"] or None,
                            logprobs=kept_cols["logprobs"] or None, scores=kept_cols["scores"] or None,
                            embedder_factory=self._embedder_factory(),
                            blank_counts=[blank_of[k] for k in kept_keys])
            per_metric = compute_metrics(metrics, corpus)
            if only is not None:
                computed = dict(zip(only, per_metric))
                per_metric = [computed.get(j, (np.full(len(kept_keys), np.nan), {}))
                              for j in range(len(self.metrics))]
            if self.embedding_fields is None and any(m.input == "vectors" for m in metrics) \
                    and kept_cols["kernels"] == []:
                self.embedding_fields = corpus.embedding_fields()
        pos = {k: i for i, k in enumerate(kept_keys)}
        for key, size, n_blank, n_gated in zip(keys, sizes, blanks, gated):
            i = pos.get(key)
            if i is None:
                values = np.array([m.blank_group_value if n_blank == size else np.nan for m in self.metrics])
                self.done[key] = Group(size, n_blank, values, [{} for _ in self.metrics], n_gated)
            else:
                self.done[key] = Group(size, n_blank, np.array([v[i] for v, _ in per_metric]),
                                        [{name: expand(name, col[i], masks[i], m.blank_value)
                                          for name, col in ex.items()}
                                         for m, (_, ex) in zip(self.metrics, per_metric)], n_gated)

    # ---- results -------------------------------------------------------------------------------

    def results(self) -> list[Any]:
        """One :class:`~diversity.DiversityResult` per metric (open groups are finished first)."""
        from .aggregate import aggregate

        self.finish()
        if self.mode == "per-prompt":
            self.order = dict.fromkeys(self.in_input_order(self.order))
        return [aggregate(self, j) for j in range(len(self.metrics))]
