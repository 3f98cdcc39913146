"""The protocol every engine follows: partition -> State -> merge -> finish (see :mod:`diversity.engines`)."""

from __future__ import annotations

from functools import reduce
from typing import Any, Hashable, Iterator, Mapping, Sequence

import numpy as np

from ..core.compute import kept_items
from ..core.corpus import Corpus
from ..core.metric import Metric
from ..core.options import Options
from ..core.provenance import embedder_identity
from ..core.result import DiversityResult
from ..core.state import State

__all__ = ["Plan", "batches", "embed_columns", "BATCH_ITEMS"]

BATCH_ITEMS = 200_000  # completions scored together (more prompts are scored batch by batch, same values)


class Plan:
    """What every partition of one job is scored with: metrics, options, mode, embedder and context
    settings (a gate's spec among them). Picklable: it travels to worker processes."""

    def __init__(self, metrics: Sequence[Metric], options: Options, mode: str = "per-prompt", *,
                 embedder: Any = None, context_fields: Sequence[tuple[str, Any]] = (),
                 embedding_fields: Sequence[tuple[str, Any]] | None = None) -> None:
        self.metrics, self.options, self.mode, self.embedder = list(metrics), options, mode, embedder
        self.context_fields = tuple(context_fields)
        self.embedding_fields = list(embedding_fields) if embedding_fields is not None else None

    def new_state(self, embedder: Any = None) -> State:
        state = State(self.metrics, self.options, self.mode, embedder=embedder if embedder is not None
                      else self.embedder, context_fields=self.context_fields)
        if self.embedding_fields is not None:  # vectors computed by the caller with a known model
            state.embedding_fields = list(self.embedding_fields)
        return state

    def partition(self, columns: Mapping[Hashable, Mapping[str, list]], *, complete: bool = True,
                  first_rows: Mapping[Hashable, Any] | None = None, state: State | None = None) -> State:
        """The state of one partition: ``columns`` (prompt -> columns, from ``prepare``) added batch by
        batch (memory bounded by a batch), each prompt placed at ``first_rows[prompt]``."""
        state = state if state is not None else self.new_state()
        for batch in batches(columns):
            state.update(batch, complete=complete,
                         first_rows=None if first_rows is None else {k: first_rows[k] for k in batch})
        return state

    @staticmethod
    def merge(states: Sequence[State]) -> State:
        """One state with the data of all (any order or tree gives the same numbers)."""
        return reduce(State.merge, states)

    def finish(self, state: State) -> list[DiversityResult]:
        """One result per metric, prompts in input order."""
        return state.results()


def batches(columns: Mapping[Hashable, Mapping[str, list]], limit: int | None = None
            ) -> Iterator[dict[Hashable, Mapping[str, list]]]:
    """Consecutive prompts of ``columns`` in batches of about ``limit`` completions (default BATCH_ITEMS)."""
    limit = BATCH_ITEMS if limit is None else limit
    batch: dict[Hashable, Mapping[str, list]] = {}
    size = 0
    for key, cols in columns.items():
        batch[key] = cols
        size += len(next(iter(cols.values()))) if cols else 0
        if size >= limit:
            yield batch
            batch, size = {}, 0
    if batch:
        yield batch


def embed_columns(columns: Mapping[Hashable, dict[str, list]], embedder: Any, options: Options
                  ) -> tuple[list[tuple[str, Any]], Any] | None:
    """Embed the texts of ``columns`` in place, exactly as a State would: the completions that are scored
    (with content, and passed the gate's ``keep`` column), every prompt in one call; an ``embeddings``
    column in every prompt, None for the others. Returns the embedding's signature fields and the
    embedder's identity, or None when there was nothing to embed."""
    masks = {k: kept_items(cols)[1] for k, cols in columns.items()}
    kept = {k: t for k, cols in columns.items() if (t := [x for x, m in zip(cols["texts"], masks[k]) if m])}
    for k, cols in columns.items():
        cols["embeddings"] = [None] * len(masks[k])
    if not kept:
        return None
    corpus = Corpus(list(kept), [len(t) for t in kept.values()], tokenizer=options.tokenizer,
                    texts=[x for t in kept.values() for x in t], embedder_factory=lambda: embedder)
    rows = iter(np.asarray(corpus.embeddings))
    for k, cols in columns.items():
        cols["embeddings"] = [next(rows) if m else None for m in masks[k]]
    return corpus.embedding_fields(), embedder_identity(embedder)
