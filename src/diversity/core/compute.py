"""Finishing groups: which completions are scored, every metric's values on a corpus, a finished group."""

from __future__ import annotations

import contextlib
import contextvars
import os
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .corpus import Corpus
from .metric import Metric

__all__ = ["COLUMNS", "Group", "compute_metrics", "expand", "kept_items", "n_items", "one_thread_per_task", "in_input_order"]

COLUMNS = ("texts", "embeddings", "values", "logprobs", "kernels", "scores")  # "keep" (a gate's verdicts) is read, not kept


def n_items(cols: Mapping[str, Sequence[Any]]) -> int:
    """Completions in a group's columns (a kernel column holds one k x k matrix)."""
    if "kernels" in cols:
        return sum(len(k) for k in cols["kernels"])
    return len(next(iter(cols.values()))) if cols else 0


def kept_items(cols: Mapping[str, Sequence[Any]]) -> tuple[int, np.ndarray, int, int]:
    """``(n, keep, n_blank, n_gated)`` of a group's columns: its completions, which are scored (not blank,
    and passed the gate's ``keep`` column), how many are blank and how many the gate left out."""
    n = n_items(cols)
    texts = cols.get("texts")
    keep = np.ones(n, dtype=bool) if texts is None else \
        np.fromiter((bool(t.strip()) for t in texts), dtype=bool, count=n)
    n_blank = int(n - keep.sum())
    passed = np.asarray(cols["keep"], dtype=bool) if "keep" in cols else np.ones(n, dtype=bool)
    n_gated = int((keep & ~passed).sum())
    return n, keep & passed, n_blank, n_gated


def expand(name: str, value: Any, keep: np.ndarray, fill: float = np.nan) -> Any:
    """Per-completion extras come back aligned with the completions given (``fill`` for left-out ones)."""
    if name != "per_completion" or keep.all():
        return value
    full = np.full(len(keep), fill)
    full[keep] = value
    return full


_EXTRA_THREAD: contextvars.ContextVar[bool] = contextvars.ContextVar("diversity_extra_thread", default=True)


@contextlib.contextmanager
def one_thread_per_task() -> Iterator[None]:
    """Within this block, metrics run in the calling thread only: an engine that already runs one task
    per core (Dask workers) would otherwise oversubscribe the cores (two Dask workers on 2 cores: 1.69x
    one worker with it, 1.31x without, at 250k completions)."""
    token = _EXTRA_THREAD.set(False)
    try:
        yield
    finally:
        _EXTRA_THREAD.reset(token)


def compute_metrics(metrics: Sequence[Metric], corpus: Corpus) -> list[tuple[Any, dict[str, Any]]]:
    """Every metric's values and extras on ``corpus``, in the order of ``metrics``.

    Metrics that sort every n-gram (``sorts_ngrams``) go first, so that
    distinct-n and entropy reuse the sort; a metric whose work runs outside the
    GIL (``releases_gil``, e.g. gzip) runs in a second thread beside the others
    when there are other metrics and more than one CPU, unless the caller runs
    one task per core already (:func:`one_thread_per_task`: Dask tasks, whose
    workers' threads are the cluster's cores). Values are the same in any order.
    """
    def one(m: Metric) -> tuple[Any, dict[str, Any]]:
        out = m.compute(corpus)
        extras = dict(out.extras)
        if m.uses_tokens:
            extras.update(corpus.length_sums())
        return out.values, extras

    order = sorted(range(len(metrics)), key=lambda j: not getattr(metrics[j], "sorts_ngrams", False))
    aside = [j for j in order if getattr(metrics[j], "releases_gil", False)]
    if not aside or len(aside) == len(metrics) or (os.cpu_count() or 1) < 2 or not _EXTRA_THREAD.get():
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


class Group:
    """One finished group: completions given, blank ones, and each metric's value and extras."""

    __slots__ = ("size", "n_blank", "values", "extras", "n_gated")

    def __init__(self, size: int, n_blank: int, values: np.ndarray, extras: list[dict[str, Any]],
                 n_gated: int = 0) -> None:
        self.size, self.n_blank, self.values, self.extras, self.n_gated = size, n_blank, values, extras, n_gated


def in_input_order(cols: dict[str, list], segments: list[tuple[Any, int]]) -> dict[str, list]:
    """A group's columns, gathered from chunks (``segments``: each chunk's position in the input, or
    None, and its number of items, in the order they were added), put in input order when every chunk
    said where it was; otherwise as added."""
    if len(segments) < 2 or any(p is None for p, _ in segments) or "kernels" in cols:
        return cols
    starts = np.concatenate(([0], np.cumsum([n for _, n in segments])))
    order = sorted(range(len(segments)), key=lambda i: segments[i][0])
    if order == list(range(len(segments))):
        return cols
    idx = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in order])
    return {c: [v[i] for i in idx] for c, v in cols.items()}
