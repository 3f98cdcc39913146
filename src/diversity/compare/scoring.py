"""One scoring pass per side and table.

Every distinct text a comparison scores is embedded once (:class:`EmbeddingStore`,
one call of the embedder for every table: full, length-matched and gated), and
every side of every table is scored by one :func:`~diversity.core.evaluate.evaluate`
call over the table's texts and those vectors. Diversity metrics read the texts
after length control; rates (metrics that declare ``diversity = False``, e.g.
the refusal rate) read the full completions, decided once by the design.
"""

from __future__ import annotations

from typing import Any, Hashable, Iterable, Mapping, Sequence

import numpy as np

from ..core.evaluate import evaluate
from ..core.metric import Metric
from ..core.options import Options
from ..core.result import DiversityResult
from .design import Table

__all__ = ["EmbeddingStore", "embedding_fields", "score_table"]


def embedding_fields(embedder: Any) -> list[tuple[str, Any]]:
    """The signature fields of an embedder's vectors, as :func:`diversity.score` writes them
    (``emb:``, ``maxlen:`` and the embedder's own fields)."""
    if hasattr(embedder, "signature_fields"):
        return list(embedder.signature_fields())
    fields: list[tuple[str, Any]] = [("emb", f"{embedder.model_id}@{embedder.revision}")]
    maxlen = getattr(embedder, "max_seq_length", None)
    if maxlen:
        fields.append(("maxlen", maxlen))
    return fields


class EmbeddingStore:
    """Vectors of distinct texts from one embedder; every text is embedded once.

    ``n_encoded`` counts the texts sent to the embedder and ``calls`` its calls."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.vectors: dict[str, np.ndarray] = {}
        self.n_encoded = 0
        self.calls = 0
        self.dim: int | None = None

    def ensure(self, texts: Iterable[str]) -> None:
        missing = [t for t in dict.fromkeys(texts) if t.strip() and t not in self.vectors]
        if not missing:
            return
        arr = np.asarray(self.embedder.encode(missing), dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] != len(missing):
            raise ValueError(f"the embedder returned an array of shape {arr.shape} for {len(missing)} texts; "
                             "expected one vector per text.")
        self.dim = arr.shape[1]
        self.vectors.update(zip(missing, arr))
        self.n_encoded += len(missing)
        self.calls += 1

    def rows(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text (a zero row for a blank text, which every metric drops)."""
        dim = self.dim or 1
        return np.stack([self.vectors[t] if t.strip() else np.zeros(dim) for t in texts]) if texts else \
            np.empty((0, dim))

    def fields(self) -> list[tuple[str, Any]]:
        return embedding_fields(self.embedder)

    def truncated_share(self, texts: Sequence[str]) -> float | None:
        """The share of (non-blank) texts the model reads only the start of, when the embedder can
        tell (``embedder.truncated(texts)``)."""
        fn = getattr(self.embedder, "truncated", None)
        words = [t for t in texts if t.strip()]
        if not callable(fn) or not words:
            return None
        flags = fn(words)
        return float(np.mean(np.asarray(flags, dtype=bool)))


def _side(table: Table, lab: str, texts: Mapping[Hashable, list[str]], objs: Sequence[Metric], options: Options,
          store: EmbeddingStore | None, context: Sequence[tuple[str, Any]]) -> list[DiversityResult]:
    samples = {p: texts[p] for p in table.prompts}
    vectors = None
    if store is not None and any(m.needs_embeddings for m in objs):
        vectors = {p: store.rows(samples[p]) for p in table.prompts}
    quality = table.quality.get(lab) if table.quality else None
    return evaluate(objs, options, samples=samples, embeddings=vectors, quality=quality, context_fields=context,
                    embedding_fields=store.fields() if vectors is not None else None)


def score_table(table: Table, objs: Sequence[Metric], options: Options, store: EmbeddingStore | None,
                rates_cache: dict | None = None) -> dict[str, dict[str, DiversityResult]]:
    """Per side, every metric's per-prompt result on the table: diversity metrics on the texts after
    length control, rates on the full completions (one :func:`evaluate` call each). ``rates_cache``
    shares rate results between tables that keep the same completions (the full-length and
    length-matched tables), so a rate is computed once."""
    opts = options.but(aggregate="per-prompt", func="compare")
    diversity = [m for m in objs if m.is_diversity]
    rates = [m for m in objs if not m.is_diversity]
    out: dict[str, dict[str, DiversityResult]] = {}
    for lab in table.texts:
        res: dict[str, DiversityResult] = {}
        if diversity:
            res.update(zip([m.spec for m in diversity],
                           _side(table, lab, table.texts[lab], diversity, opts, store, table.context())))
        if rates:
            key = (lab, table.gate, tuple((p, table.picks[lab][p]) for p in table.prompts))
            if rates_cache is None or key not in rates_cache:
                got = dict(zip([m.spec for m in rates],
                               _side(table, lab, table.full[lab], rates, opts, store, table.context(length=False))))
                if rates_cache is not None:
                    rates_cache[key] = got
            res.update(got if rates_cache is None else rates_cache[key])
        out[lab] = {m.spec: res[m.spec] for m in objs}
    return out


def texts_to_embed(table: Table, objs: Sequence[Metric]) -> list[str]:
    """Every text of a table a metric will embed."""
    out: list[str] = []
    if any(m.needs_embeddings and m.is_diversity for m in objs):
        out += [t for side in table.texts.values() for ts in side.values() for t in ts]
    if any(m.needs_embeddings and not m.is_diversity for m in objs):
        out += [t for side in table.full.values() for ts in side.values() for t in ts]
    return out
