"""``score()``: many metrics at once, each completion tokenized once."""

from __future__ import annotations

import inspect
import re
from typing import Any, Callable, Literal, Sequence, Union

from ._engine import Metric, evaluate, make_options
from ._errors import InvalidParameterError
from ._result import DiversityResult
from .bleu import Homogenization, SelfBLEU
from .semantic import (CentroidDistance, Chamfer, MeanPairwiseDistance, RemoteClique, SemanticClusters,
                       SemanticEntropy, VendiScore)
from .lexical import EAD, CompressionRatio, Distinct, NgramEntropy, UniqueFraction
from .tokenize import Tokenizer

__all__ = ["score", "resolve_metric", "available_metrics", "DEFAULT_METRICS"]

DEFAULT_METRICS = ("distinct-1", "distinct-2", "distinct-3", "ngram-entropy-1", "ngram-entropy-2",
                   "unique-fraction", "compression-ratio")

# name pattern -> (metric class, keyword arguments taken from the name); a plain dict, as sacrebleu keeps
# its registry. A spec is a name with optional parameters: "ead-2?vocab_size=32000", "vendi?q=2",
# "self-bleu?max_n=4&smoothing=exp".
_REGISTRY: dict[str, tuple[type, Callable[[re.Match], dict[str, Any]]]] = {
    r"distinct-(\d+)": (Distinct, lambda m: {"n": int(m.group(1))}),
    r"ead-(\d+)": (EAD, lambda m: {"n": int(m.group(1))}),
    r"ngram-entropy-(\d+)": (NgramEntropy, lambda m: {"n": int(m.group(1))}),
    r"unique-fraction": (UniqueFraction, lambda m: {}),
    r"compression-ratio": (CompressionRatio, lambda m: {}),
    r"self-bleu": (SelfBLEU, lambda m: {}),
    r"homogenization-rouge-l": (Homogenization, lambda m: {"measure": "rouge-l"}),
    r"homogenization-bleu": (Homogenization, lambda m: {"measure": "bleu"}),
    r"mean-pairwise-distance": (MeanPairwiseDistance, lambda m: {}),
    r"centroid-distance": (CentroidDistance, lambda m: {}),
    r"remote-clique": (RemoteClique, lambda m: {}),
    r"chamfer": (Chamfer, lambda m: {}),
    r"vendi": (VendiScore, lambda m: {}),
    r"semantic-clusters": (SemanticClusters, lambda m: {}),
    r"semantic-entropy": (SemanticEntropy, lambda m: {}),
}

# names that results of 0.1 carried, mapped to specs
_LEGACY = [
    (r"(distinct-\d+)\[per-completion\]", r"\1?variant=per-completion"),
    (r"(ngram-entropy-\d+)\[normalized\]", r"\1?normalize=true"),
    (r"vendi-q(.+)", r"vendi?q=\1"),
    (r"(mean-pairwise-distance|centroid-distance|chamfer|remote-clique)\[euclidean\]", r"\1?metric=euclidean"),
]


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    if low == "none":
        return None
    if low in ("inf", "infinity"):
        return float("inf")
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _params_of(cls: type, name_kwargs: dict[str, Any]) -> list[str]:
    sig = inspect.signature(cls.__init__)
    return [p for p in sig.parameters if p != "self" and not p.startswith("_") and p not in name_kwargs]


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
    """A metric object from a spec such as ``"distinct-2"`` or ``"ead-2?vocab_size=32000"`` (or the object itself).

    A spec is a registered name (see :func:`available_metrics`) optionally
    followed by ``?`` and ``parameter=value`` pairs joined by ``&``, e.g.
    ``"self-bleu?max_n=2&smoothing=exp"``, ``"vendi?q=2"``,
    ``"distinct-2?variant=per-completion"``. Values are read as numbers,
    ``true``/``false``, ``none`` or ``inf`` where they look like one.
    """
    if isinstance(metric, Metric):
        return metric
    if not isinstance(metric, str):
        raise InvalidParameterError(f"a metric must be a spec string or a Metric object, got {type(metric).__name__}.")
    spec = metric.strip()
    for pattern, repl in _LEGACY:
        if re.fullmatch(pattern, spec):
            spec = re.sub(pattern, repl, spec)
    name, _, query = spec.partition("?")
    for pattern, (cls, from_name) in _REGISTRY.items():
        m = re.fullmatch(pattern, name)
        if not m:
            continue
        kwargs = from_name(m)
        allowed = _params_of(cls, kwargs)
        for item in filter(None, query.split("&")):
            key, eq, value = item.partition("=")
            if not eq or not key:
                raise InvalidParameterError(f"Malformed metric spec {metric!r}: expected name?parameter=value&..., "
                                            f"got {item!r}.")
            if key not in allowed:
                raise InvalidParameterError(f"Unknown parameter {key!r} in metric spec {metric!r}; {name} takes "
                                            f"{', '.join(allowed) or 'no parameters'}.")
            kwargs[key] = _parse_value(value)
        return cls(**kwargs)
    raise InvalidParameterError(f"Unknown metric {metric!r}. Known: {', '.join(available_metrics())}.")


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
