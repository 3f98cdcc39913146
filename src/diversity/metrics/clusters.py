"""Semantic equivalence classes: the number of classes among the completions
and the entropy of the completions over them (agglomerative clustering of
embeddings)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..core.corpus import Corpus
from ..core.data import memory_limit
from ..core.errors import MemoryLimitError
from ..core.evaluate import evaluate
from ..core.metric import Computed
from ..core.options import Options, with_options
from ..core.params import Choice, Param, Real
from ..core.registry import register
from ..core.result import DiversityResult
from ..stats.entropy import entropy_from_counts
from ._geometry import cluster_labels
from .semantic import VectorMetric

__all__ = ["SemanticClusters", "SemanticEntropy", "semantic_clusters", "semantic_entropy", "semantic_cluster_labels"]


def semantic_cluster_labels(embeddings: Any, threshold: float = 0.25, linkage: str = "average") -> np.ndarray:
    """The cluster of each row of one set's embeddings, as :func:`semantic_clusters` forms them
    (agglomerative, cosine distance, merging stops at ``threshold``); labels are 0..c-1.

    Examples
    --------
    >>> semantic_cluster_labels([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0]]).tolist()
    [0, 0, 1]
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError("semantic_cluster_labels needs a non-empty 2-D array of finite embeddings")
    if linkage not in ("average", "complete", "single") or not 0 < threshold <= 2:
        raise ValueError(f"linkage must be average, complete or single and threshold in (0, 2]; got "
                         f"{linkage!r}, {threshold!r}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("semantic_cluster_labels: a zero vector has no direction")
    return cluster_labels(x / norms, threshold, linkage)

_PARAMS = (Param("threshold", Real(0.0, 2.0, low_open=True), 0.25, "Cosine distance at which merging stops; "
                 "recorded as ``thr:``."),
           Param("linkage", Choice(("average", "complete", "single")), "average", "Recorded as ``link:``."))


class _Clusters(VectorMetric):
    params = _PARAMS

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("thr", f"{self.threshold:g}"), ("link", self.linkage), ("dist", "cosine")]

    def labels(self, corpus: Corpus) -> list[np.ndarray]:
        k = int(corpus.sizes.max()) if corpus.n_groups else 0
        need = k * (k - 1) // 2 * 8 * 2  # the condensed distance matrix and the linkage's copy
        if need > memory_limit():
            raise MemoryLimitError(
                f"{self.spec}: agglomerative clustering of a set of {k:,} completions needs about "
                f"{need / 2**30:.1f} GiB for its pairwise distances (limit {memory_limit() / 2**30:.1f} GiB, "
                "DIVERSITY_MEMORY_LIMIT). Cluster a sample of the completions, or split the set by prompt; "
                "mean-pairwise-distance and vendi scale linearly in the set size.")
        return corpus.memo(("clusters", self.threshold, self.linkage), lambda: [
            cluster_labels(corpus.group_rows(corpus.unit_embeddings, g), self.threshold, self.linkage)
            for g in range(corpus.n_groups)])

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        return {"cluster_sizes": tuple(extras.get("cluster_sizes", []))}

    def _sizes(self, labels: list[np.ndarray]) -> list[tuple[int, ...]]:
        return [tuple(sorted(np.bincount(lab).tolist(), reverse=True)) for lab in labels]


@register
class SemanticClusters(_Clusters):
    """Number of semantic equivalence classes; see :func:`semantic_clusters`."""

    name, func = "semantic-clusters", "semantic_clusters"
    references = ("zhang2025noveltybench",)

    def compute(self, corpus: Corpus) -> Computed:
        labels = self.labels(corpus)
        # the number of distinct labels (equivalence classes), not the largest label index
        return Computed(np.array([float(len(np.unique(lab))) for lab in labels]),
                        {"cluster_sizes": self._sizes(labels)})


@register
class SemanticEntropy(_Clusters):
    """Entropy of the semantic cluster sizes; see :func:`semantic_entropy`."""

    name, func = "semantic-entropy", "semantic_entropy"
    references = ("kuhn2023semantic",)

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return super().fields(ctx) + [("base", "2")]

    def compute(self, corpus: Corpus) -> Computed:
        labels = self.labels(corpus)
        return Computed(np.array([entropy_from_counts(np.bincount(lab), 2.0) for lab in labels]),
                        {"cluster_sizes": self._sizes(labels)})


@with_options("aggregate", "ci")
def semantic_clusters(samples: Any = None, *, embeddings: Any = None, embedder: Any = None, threshold: float = 0.25,
                      linkage: Literal["average", "complete", "single"] = "average", options: Options) -> DiversityResult:
    r"""Number of semantic equivalence classes among the completions ("semantic distinct-k").

    Completions are partitioned by agglomerative clustering of their unit
    embeddings (scikit-learn ``AgglomerativeClustering``, cosine distance,
    ``linkage`` (default average), merging stops at distance ``threshold``):
    two clusters merge only while their average cosine distance is below
    ``threshold``. The value is the number of classes, counted as distinct
    labels (NoveltyBench's shipped summary reports the largest label index,
    one less). ``details["cluster_sizes"]`` lists each prompt's class sizes.

    The default threshold 0.25 (cosine similarity 0.75) merges close
    paraphrases under all-MiniLM-L6-v2 and keeps different content apart; it
    is a convention, recorded as ``thr:``: compare only at equal thresholds
    and models.

    Higher is more diverse; range [1, k].

    Parameters
    ----------
    threshold : float in (0, 2], default 0.25
    linkage : {"average", "complete", "single"}
    <<EMBED>>
    <<SHARED>>

    Returns
    -------
    DiversityResult

    References
    ----------
    Y. Zhang, H. Diddee, S. Holm, et al. NoveltyBench: Evaluating Language
    Models for Humanlike Diversity. 2025. arXiv:2504.05228.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0]])
    >>> semantic_clusters(embeddings=x).value
    2.0
    """
    return evaluate([SemanticClusters(threshold, linkage=linkage)], options, samples=samples, embeddings=embeddings,
                    embedder=embedder)[0]


@with_options("aggregate", "ci")
def semantic_entropy(samples: Any = None, *, embeddings: Any = None, embedder: Any = None, threshold: float = 0.25,
                     linkage: Literal["average", "complete", "single"] = "average", options: Options) -> DiversityResult:
    r"""Shannon entropy (bits) of the distribution of completions over semantic classes.

    .. math:: H(S) = -\sum_c \frac{|c|}{k} \log_2 \frac{|c|}{k}

    over the classes c of :func:`semantic_clusters` (same rule and
    threshold). A discrete semantic-entropy analogue in the spirit of Kuhn et
    al. (2023), who cluster by bidirectional entailment; here the equivalence
    is embedding proximity, named in the signature.

    Higher is more diverse; range [0, log2 k].

    Parameters
    ----------
    threshold : float in (0, 2], default 0.25
    linkage : {"average", "complete", "single"}
    <<EMBED>>
    <<SHARED>>

    Returns
    -------
    DiversityResult

    References
    ----------
    L. Kuhn, Y. Gal, S. Farquhar. Semantic Uncertainty: Linguistic Invariances
    for Uncertainty Estimation in Natural Language Generation. ICLR 2023.
    arXiv:2302.09664.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [0.0, 1.0]])
    >>> semantic_entropy(embeddings=x).value
    1.0
    """
    return evaluate([SemanticEntropy(threshold, linkage=linkage)], options, samples=samples, embeddings=embeddings,
                    embedder=embedder)[0]
