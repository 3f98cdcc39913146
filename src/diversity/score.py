"""``score()``: many metrics at once, each completion tokenized once."""

from __future__ import annotations

import re
from typing import Any, Callable, Literal, Sequence, Union

from ._engine import Metric, evaluate, make_options
from ._result import DiversityResult
from .bleu import Homogenization, SelfBLEU
from .semantic import (CentroidDistance, Chamfer, MeanPairwiseDistance, RemoteClique, SemanticClusters,
                       SemanticEntropy, VendiScore)
from .lexical import EAD, CompressionRatio, Distinct, NgramEntropy, UniqueFraction
from .tokenize import Tokenizer

__all__ = ["score", "resolve_metric", "available_metrics", "DEFAULT_METRICS"]

DEFAULT_METRICS = ("distinct-1", "distinct-2", "distinct-3", "ngram-entropy-1", "ngram-entropy-2",
                   "unique-fraction", "compression-ratio")

# name pattern -> factory taking the regex match; a plain dict, as sacrebleu keeps its registry
_REGISTRY: dict[str, Callable[[re.Match], Metric]] = {
    r"distinct-(\d+)": lambda m: Distinct(int(m.group(1))),
    r"ead-(\d+)": lambda m: EAD(int(m.group(1))),
    r"ngram-entropy-(\d+)": lambda m: NgramEntropy(int(m.group(1))),
    r"unique-fraction": lambda m: UniqueFraction(),
    r"compression-ratio": lambda m: CompressionRatio(),
    r"self-bleu": lambda m: SelfBLEU(),
    r"homogenization-rouge-l": lambda m: Homogenization("rouge-l"),
    r"homogenization-bleu": lambda m: Homogenization("bleu"),
    r"mean-pairwise-distance": lambda m: MeanPairwiseDistance(),
    r"centroid-distance": lambda m: CentroidDistance(),
    r"remote-clique": lambda m: RemoteClique(),
    r"chamfer": lambda m: Chamfer(),
    r"vendi": lambda m: VendiScore(),
    r"semantic-clusters": lambda m: SemanticClusters(),
    r"semantic-entropy": lambda m: SemanticEntropy(),
}


# one-line definitions for `diversity metrics` (direction: which way is more diverse)
METRIC_INFO: dict[str, tuple[str, str]] = {
    "distinct-<n>": ("higher", "distinct n-grams / n-gram occurrences in the set (Li et al. 2016)"),
    "ead-<n>": ("higher", "distinct n-grams / their expectation for a uniform vocabulary of size V (Liu et al. 2022)"),
    "ngram-entropy-<n>": ("higher", "Shannon entropy (bits) of the set's n-gram distribution"),
    "unique-fraction": ("higher", "distinct completions / completions, after whitespace normalisation"),
    "compression-ratio": ("lower", "UTF-8 bytes / gzip bytes of the space-joined set (Shaib et al. 2024)"),
    "self-bleu": ("lower", "mean BLEU-4 of each completion against the others (Zhu et al. 2018), exact nltk values"),
    "homogenization-rouge-l": ("lower", "mean pairwise ROUGE-L F1 (Padmakumar & He 2023)"),
    "homogenization-bleu": ("lower", "mean pairwise BLEU-4 over ordered pairs"),
    "mean-pairwise-distance": ("higher", "mean cosine distance between embeddings of two completions"),
    "centroid-distance": ("higher", "mean cosine distance of the embeddings to their centroid"),
    "remote-clique": ("higher", "mean distance of each completion to the others (Cox et al. 2021)"),
    "chamfer": ("higher", "mean distance of each completion to its nearest other (Cox et al. 2021)"),
    "vendi": ("higher", "exp of the entropy of the cosine kernel's eigenvalues (Friedman & Dieng 2023)"),
    "semantic-clusters": ("higher", "number of semantic classes (agglomerative, cosine distance < 0.25)"),
    "semantic-entropy": ("higher", "entropy (bits) of completions over semantic classes"),
}


def available_metrics() -> list[str]:
    """Metric names ``score`` understands (``<n>`` is any positive integer)."""
    return [p.replace(r"(\d+)", "<n>") for p in _REGISTRY]


def resolve_metric(metric: Union[str, Metric]) -> Metric:
    """A metric object from a name such as ``"distinct-2"`` (or the object itself).

    Names give default settings; for others pass an object, e.g.
    ``Distinct(2, variant="per-completion")`` or ``EAD(2, vocab_size=32000)``.
    """
    if isinstance(metric, Metric):
        return metric
    if not isinstance(metric, str):
        raise TypeError(f"a metric must be a name or a Metric object, got {type(metric).__name__}.")
    for pattern, factory in _REGISTRY.items():
        m = re.fullmatch(pattern, metric)
        if m:
            return factory(m)
    raise ValueError(f"Unknown metric {metric!r}. Known: {', '.join(available_metrics())}.")


def score(samples: Any, metrics: Sequence[Union[str, Metric]] = DEFAULT_METRICS, *,
          embeddings: Any = None, embedder: Any = None,
          tokenizer: Union[str, Tokenizer] = "unicode", lowercase: bool = False,
          aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
          ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
          seed: int = 0) -> dict[str, DiversityResult]:
    """Compute several metrics on the same samples.

    Tokenization and n-gram counts are computed once and shared, so
    ``score(x, ["distinct-1", ..., "ngram-entropy-4"])`` costs little more
    than the slowest single metric.

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    metrics : sequence of str or Metric
        Names (see :func:`available_metrics`) or metric objects.
    embeddings, embedder
        For semantic metrics: precomputed embeddings aligned with ``samples``,
        or the embedder (default all-MiniLM-L6-v2). Texts are embedded once,
        deduplicated and cached, for all semantic metrics together.
    tokenizer, lowercase, aggregate, ci, ci_level, n_resamples, ci_method, seed
        As in :func:`diversity.distinct_n`; shared by every metric.

    Returns
    -------
    dict
        ``metric key -> DiversityResult`` in the order asked.

    Examples
    --------
    >>> res = score({"p1": ["a b c", "a b d"], "p2": ["x y", "z w"]}, ["distinct-1", "unique-fraction"])
    >>> [(k, round(v.value, 3)) for k, v in res.items()]
    [('distinct-1', 0.833), ('unique-fraction', 1.0)]
    """
    if isinstance(metrics, (str, Metric)):
        metrics = [metrics]
    objs = [resolve_metric(m) for m in metrics]
    if not objs:
        raise ValueError("score() needs at least one metric.")
    keys = [m.key for m in objs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"score() got the same metric twice: {', '.join(dup)}.")
    opts = make_options("score", tokenizer=tokenizer, lowercase=lowercase, aggregate=aggregate, ci=ci,
                        ci_level=ci_level, n_resamples=n_resamples, ci_method=ci_method, seed=seed)
    return dict(zip(keys, evaluate(objs, samples, opts, "score", embeddings=embeddings, embedder=embedder)))
