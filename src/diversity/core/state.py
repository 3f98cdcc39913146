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

import os
import pickle
import uuid
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence

import numpy as np

from .corpus import Corpus
from .errors import InvalidParameterError
from .metric import Metric
from .options import Options

__all__ = ["State", "BLANK_REASON", "embedder_identity"]

BLANK_REASON = "every completion is empty or whitespace"
COLUMNS = ("texts", "embeddings", "values", "logprobs", "kernels", "scores")  # "keep" (a gate's verdicts) is read, not kept


def _n_items(cols: Mapping[str, Sequence[Any]]) -> int:
    """Completions in a group's columns (a kernel column holds one k x k matrix)."""
    if "kernels" in cols:
        return sum(len(k) for k in cols["kernels"])
    return len(next(iter(cols.values()))) if cols else 0


def _expand(name: str, value: Any, keep: np.ndarray, fill: float = np.nan) -> Any:
    """Per-completion extras come back aligned with the completions given (``fill`` for left-out ones)."""
    if name != "per_completion" or keep.all():
        return value
    full = np.full(len(keep), fill)
    full[keep] = value
    return full


def embedder_identity(embedder: Any) -> tuple[tuple[str, Any], ...] | None:
    """What makes an embedder's vectors: ``(("name", ...), ("revision", ...), ("backend", ...), ("device", ...))``.

    ``None`` for no embedder. The name is the embedder's ``model_id`` (else
    its class); revision, backend and device are its attributes of those
    names (``None`` when it has none).
    """
    if embedder is None:
        return None
    name = getattr(embedder, "model_id", None) or f"{type(embedder).__module__}.{type(embedder).__qualname__}"
    device = getattr(embedder, "device", None)
    return (("name", str(name)), ("revision", getattr(embedder, "revision", None)),
            ("backend", getattr(embedder, "backend", None)), ("device", None if device is None else str(device)))


def _describe_identity(identity: tuple[tuple[str, Any], ...] | None) -> str:
    if identity is None:
        return "no embedder"
    return ", ".join(f"{k} {v}" for k, v in identity if v is not None)


def _compute_metrics(metrics: Sequence[Metric], corpus: Corpus) -> list[tuple[Any, dict[str, Any]]]:
    """Every metric's values and extras on ``corpus``, in the order of ``metrics``.

    Metrics that sort every n-gram (``sorts_ngrams``) go first, so that
    distinct-n and entropy reuse the sort; a metric whose work runs outside the
    GIL (``releases_gil``, e.g. gzip) runs in a second thread beside the others
    when there are other metrics and more than one CPU. Values are the same
    in any order.
    """
    def one(m: Metric) -> tuple[Any, dict[str, Any]]:
        out = m.compute(corpus)
        extras = dict(out.extras)
        if m.uses_tokens:
            extras.update(corpus.length_sums())
        return out.values, extras

    order = sorted(range(len(metrics)), key=lambda j: not getattr(metrics[j], "sorts_ngrams", False))
    aside = [j for j in order if getattr(metrics[j], "releases_gil", False)]
    if not aside or len(aside) == len(metrics) or (os.cpu_count() or 1) < 2:
        aside = []
    computed: dict[int, Any] = {}
    pool = None
    if aside:
        from concurrent.futures import ThreadPoolExecutor

        corpus.offsets  # noqa: B018 - computed before two threads read it
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="diversity-metric")
        futures = {j: pool.submit(one, metrics[j]) for j in aside}
    try:
        for j in order:
            if j not in computed and j not in aside:
                computed[j] = one(metrics[j])
        for j in aside:
            computed[j] = futures[j].result()
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return [computed[j] for j in range(len(metrics))]


class _PickledEmbedder:
    """A state's embedder pickled once, with the state (see :meth:`State.__getstate__`)."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob


class _Group:
    """One finished group: completions given, blank ones, and each metric's value and extras."""

    __slots__ = ("size", "n_blank", "values", "extras", "n_gated")

    def __init__(self, size: int, n_blank: int, values: np.ndarray, extras: list[dict[str, Any]],
                 n_gated: int = 0) -> None:
        self.size, self.n_blank, self.values, self.extras, self.n_gated = size, n_blank, values, extras, n_gated


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
        self.done: dict[Hashable, _Group] = {}
        self.embedding_fields: list[tuple[str, Any]] | None = None
        self.pooled_sizes: dict[Hashable, int] = {}  # pooled mode: completions given per original prompt
        self.has_texts = False
        self.kernels_given = False
        self.embedder_identity = embedder_identity(embedder)
        self.chunks: dict[str, Hashable] = {}  # id of each open chunk -> its first prompt (for messages)

    @property
    def group_sizes(self) -> list[int]:
        """Completions given per prompt (per original prompt in pooled mode)."""
        if self.mode == "pooled":
            return list(self.pooled_sizes.values())
        return [self.done[k].size if k in self.done else _n_items(self.open[k]) for k in self.order]

    @property
    def n_groups_given(self) -> int:
        return len(self.pooled_sizes) if self.mode == "pooled" else len(self.order)

    # ---- pickling: the embedder travels with the state, or pickling is refused -----------------

    def __getstate__(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        if self.embedder is not None:
            try:
                d["embedder"] = _PickledEmbedder(pickle.dumps(self.embedder, protocol=pickle.HIGHEST_PROTOCOL))
            except Exception as e:  # anything pickle raises for an object it cannot carry
                raise TypeError(
                    f"This State's embedder ({_describe_identity(self.embedder_identity)}, a "
                    f"{type(self.embedder).__qualname__}) cannot be pickled ({type(e).__name__}: {e}); a state "
                    "travels with its embedder so that it never re-embeds with another model. Make the embedder "
                    "picklable (e.g. load its model lazily), or call state.finish() and pickle the finished "
                    "state of a State built with embedder=None and precomputed embeddings.") from None
        return d

    def __setstate__(self, d: dict[str, Any]) -> None:
        if isinstance(d.get("embedder"), _PickledEmbedder):
            d = dict(d, embedder=pickle.loads(d["embedder"].blob))
        d.setdefault("embedder_identity", embedder_identity(d.get("embedder")))
        d.setdefault("chunks", {})
        self.__dict__.update(d)

    # ---- update --------------------------------------------------------------------------------

    def update(self, groups: Mapping[Hashable, Mapping[str, Sequence[Any]]], *, complete: bool = True) -> "State":
        """Add a chunk: ``groups`` maps a prompt key to its columns (``{"texts": [...], ...}``).

        ``complete=True`` says that these are all the completions of these
        prompts (they are computed now and the items dropped);
        ``complete=False`` keeps them open until :meth:`finish` or :meth:`results`.
        """
        for cols in groups.values():
            self.has_texts = self.has_texts or "texts" in cols
            self.kernels_given = self.kernels_given or "kernels" in cols
        if groups and (not complete or self.mode == "pooled"):  # finished prompts are identified by their keys
            self.chunks[uuid.uuid4().hex] = next(iter(groups))
        if self.mode == "pooled":
            if any("kernels" in cols for cols in groups.values()):
                raise ValueError(f"{self.options.func}: kernels of separate prompts cannot be pooled; pass "
                                 "embeddings instead.")
            pooled: dict[str, list] = {}
            for key, cols in groups.items():
                n = _n_items(cols)
                self.pooled_sizes[key] = self.pooled_sizes.get(key, 0) + n
                for c, items in cols.items():
                    pooled.setdefault(c, []).extend(items)
            groups, complete = ({"pooled": pooled} if pooled else {}), False
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
        if ready:
            self._compute(ready)
        return self

    def finish(self, keys: Iterable[Hashable] | None = None) -> "State":
        """Compute the open groups ``keys`` (default: all of them): their data is complete."""
        keys = list(self.open) if keys is None else list(keys)
        ready = [(k, self.open.pop(k)) for k in keys if k in self.open]
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
        if other is self:
            raise ValueError("cannot merge a state with itself: its data would be counted twice. Merge states "
                             "that saw different data.")
        if [m.spec for m in self.metrics] != [m.spec for m in other.metrics] or self.mode != other.mode or \
                self.options.tokenizer.spec != other.options.tokenizer.spec or \
                self.options.lowercase != other.options.lowercase or self.context_fields != other.context_fields:
            raise ValueError("cannot merge states of different metrics, modes or settings")
        if self.embedder_identity is not None and other.embedder_identity is not None and \
                self.embedder_identity != other.embedder_identity:
            raise ValueError(f"cannot merge states embedded by different embedders "
                             f"({_describe_identity(self.embedder_identity)} vs "
                             f"{_describe_identity(other.embedder_identity)}): their vectors are not comparable. "
                             "Score both with one embedder.")
        if self.embedding_fields and other.embedding_fields and \
                list(self.embedding_fields) != list(other.embedding_fields):
            show = lambda f: "|".join(f"{k}:{v}" for k, v in f)  # noqa: E731
            raise ValueError(f"cannot merge states whose vectors come from different embedders "
                             f"({show(self.embedding_fields)} vs {show(other.embedding_fields)}). Score both with one "
                             "embedder.")
        both = self.chunks.keys() & other.chunks.keys()
        if both:
            d = next(iter(both))
            raise ValueError(f"cannot merge: both states hold the same chunk of data (first prompt "
                             f"{self.chunks[d]!r}, chunk {d[:12]}); merging would count its completions twice. Was "
                             "a state merged twice, or with a copy of itself?")
        out = State(self.metrics, self.options, self.mode, embedder=self.embedder or other.embedder,
                    context_fields=self.context_fields)
        out.embedder_identity = self.embedder_identity or other.embedder_identity
        out.chunks = {**self.chunks, **other.chunks}
        out.embedding_fields = self.embedding_fields or other.embedding_fields
        out.has_texts = self.has_texts or other.has_texts
        out.kernels_given = self.kernels_given or other.kernels_given
        for src in (self, other):
            for key, n in src.pooled_sizes.items():
                out.pooled_sizes[key] = out.pooled_sizes.get(key, 0) + n
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
        return out

    # ---- computing finished groups -------------------------------------------------------------

    def _embedder_factory(self) -> Callable[[], Any]:
        def make() -> Any:
            if self.embedder is None:
                vector_metric = next(m for m in self.metrics if m.input == "vectors")
                self.embedder = vector_metric.default_embedder()  # type: ignore[attr-defined]
            if self.embedder_identity is None:
                self.embedder_identity = embedder_identity(self.embedder)
            return self.embedder
        return make

    def _compute(self, ready: list[tuple[Hashable, dict[str, list]]]) -> None:
        keys, sizes, blanks, kept_keys, kept_cols = [], [], [], [], {c: [] for c in COLUMNS}
        kept_sizes, masks, gated = [], [], []
        for key, cols in ready:
            n = _n_items(cols)
            texts = cols.get("texts")
            keep = np.ones(n, dtype=bool) if texts is None else \
                np.fromiter((bool(t.strip()) for t in texts), dtype=bool, count=n)
            keys.append(key)
            sizes.append(n)
            blanks.append(int(n - keep.sum()))
            passed = np.asarray(cols["keep"], dtype=bool) if "keep" in cols else np.ones(n, dtype=bool)
            gated.append(int((keep & ~passed).sum()))
            keep &= passed
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
            per_metric = _compute_metrics(self.metrics, corpus)
            if self.embedding_fields is None and any(m.input == "vectors" for m in self.metrics) \
                    and kept_cols["kernels"] == []:
                self.embedding_fields = corpus.embedding_fields()
        pos = {k: i for i, k in enumerate(kept_keys)}
        for key, size, n_blank, n_gated in zip(keys, sizes, blanks, gated):
            i = pos.get(key)
            if i is None:
                values = np.array([m.blank_group_value if n_blank == size else np.nan for m in self.metrics])
                self.done[key] = _Group(size, n_blank, values, [{} for _ in self.metrics], n_gated)
            else:
                self.done[key] = _Group(size, n_blank, np.array([v[i] for v, _ in per_metric]),
                                        [{name: _expand(name, col[i], masks[i], m.blank_value)
                                          for name, col in ex.items()}
                                         for m, (_, ex) in zip(self.metrics, per_metric)], n_gated)

    # ---- results -------------------------------------------------------------------------------

    def results(self) -> list[Any]:
        """One :class:`~diversity.DiversityResult` per metric (open groups are finished first)."""
        from .aggregate import aggregate

        self.finish()
        return [aggregate(self, j) for j in range(len(self.metrics))]
