"""Semantic diversity: dispersion of completions in embedding space, the
Vendi score, and semantic equivalence classes.

Every function takes texts (embedded once with the default or a given
embedder, see :mod:`diversity.embed`) or precomputed ``embeddings=`` (one
2-D array per set; then no model is needed), grouped like the lexical
metrics. Cosine geometry works on rows scaled to unit length.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from ._engine import Corpus, Metric, evaluate, make_options
from ._hill import hill_number
from ._result import DiversityResult
from ._errors import MemoryLimitError
from ._validate import fill_doc, check_choice, check_real, memory_limit

__all__ = [
    "MeanPairwiseDistance", "CentroidDistance", "RemoteClique", "Chamfer", "VendiScore", "SemanticClusters",
    "SemanticEntropy", "mean_pairwise_distance", "centroid_distance", "remote_clique", "chamfer", "vendi_score",
    "semantic_clusters", "semantic_entropy", "vendi_from_eigenvalues",
]

_BLOCK = 2048
_PAIRS_UNDEFINED = "a prompt needs at least 2 completions to form a pair"


class _Semantic(Metric):
    uses_tokens = False
    uses_embeddings = True
    higher_is_more_diverse = True


class MeanPairwiseDistance(_Semantic):
    """Mean distance over pairs i != j; see :func:`mean_pairwise_distance`."""

    undefined_reason = _PAIRS_UNDEFINED

    def __init__(self, metric: Literal["cosine", "euclidean"] = "cosine", *, _name: str = "mean-pairwise-distance"):
        self.metric = check_choice(metric, "metric", _name.replace("-", "_"), ("cosine", "euclidean"))
        self.name = self.key = _name if metric == "cosine" else f"{_name}[euclidean]"

    def fields(self, corpus: Corpus):
        return [("dist", self.metric)]

    def group_values(self, corpus: Corpus) -> np.ndarray:
        k = corpus.sizes.astype(np.float64)
        if self.metric == "cosine":
            s = np.add.reduceat(corpus.unit_embeddings, corpus.offsets[:-1], axis=0)
            sq = np.einsum("ij,ij->i", s, s)
            with np.errstate(invalid="ignore", divide="ignore"):
                # mean over i != j of 1 - u_i.u_j, with sum_{i != j} u_i.u_j = |sum u|^2 - k
                return np.where(k >= 2, 1.0 - (sq - k) / (k * (k - 1)), np.nan)
        x = corpus.embeddings
        return np.array([_mean_euclidean(corpus.group_rows(x, g)) for g in range(corpus.n_groups)])


class RemoteClique(MeanPairwiseDistance):
    """Remote-clique diversity; see :func:`remote_clique`."""

    def __init__(self, metric: Literal["cosine", "euclidean"] = "cosine"):
        super().__init__(metric, _name="remote-clique")


def _scaled(x: np.ndarray) -> tuple[np.ndarray, float]:
    """``x / s`` and ``s`` (the largest magnitude), so that squares neither overflow nor underflow."""
    s = float(np.abs(x).max()) if x.size else 0.0
    return (x / s, s) if s > 0 else (x, 1.0)


def _mean_euclidean(x: np.ndarray) -> float:
    k = len(x)
    if k < 2:
        return math.nan
    x, s = _scaled(x)
    return s * _mean_euclidean_unscaled(x)


def _mean_euclidean_unscaled(x: np.ndarray) -> float:
    k = len(x)
    sq = np.einsum("ij,ij->i", x, x)
    total = 0.0
    for lo in range(0, k, _BLOCK):
        blk = x[lo:lo + _BLOCK]
        d2 = sq[lo:lo + _BLOCK, None] + sq[None, :] - 2.0 * blk @ x.T
        rows = np.arange(len(blk))
        d2[rows, lo + rows] = 0.0  # exactly 0 on the diagonal (round-off would add sqrt(eps))
        total += np.sqrt(np.maximum(d2, 0.0)).sum()
    return total / (k * (k - 1))


class CentroidDistance(_Semantic):
    """Mean distance to the centroid; see :func:`centroid_distance`."""

    undefined_reason = "the unit vectors cancel out: the centroid has no direction"

    def __init__(self, metric: Literal["cosine", "euclidean"] = "cosine"):
        self.metric = check_choice(metric, "metric", "centroid_distance", ("cosine", "euclidean"))
        self.name = self.key = "centroid-distance" if metric == "cosine" else "centroid-distance[euclidean]"

    def fields(self, corpus: Corpus):
        return [("dist", self.metric)]

    def group_values(self, corpus: Corpus) -> np.ndarray:
        k = corpus.sizes.astype(np.float64)
        if self.metric == "cosine":
            s = np.add.reduceat(corpus.unit_embeddings, corpus.offsets[:-1], axis=0)
            norm = np.linalg.norm(s, axis=1)
            # mean_i 1 - cos(u_i, c) with c = s / k is 1 - |s| / k
            return np.where(norm > 1e-12 * k, 1.0 - norm / k, np.nan)
        x = corpus.embeddings
        out = []
        for g in range(corpus.n_groups):
            r, s = _scaled(corpus.group_rows(x, g))
            out.append(s * float(np.linalg.norm(r - r.mean(axis=0), axis=1).mean()))
        return np.array(out)


class Chamfer(_Semantic):
    """Mean distance to the nearest other completion; see :func:`chamfer`."""

    undefined_reason = _PAIRS_UNDEFINED

    def __init__(self, metric: Literal["cosine", "euclidean"] = "cosine"):
        self.metric = check_choice(metric, "metric", "chamfer", ("cosine", "euclidean"))
        self.name = self.key = "chamfer" if metric == "cosine" else "chamfer[euclidean]"

    def fields(self, corpus: Corpus):
        return [("dist", self.metric)]

    def group_values(self, corpus: Corpus) -> np.ndarray:
        x = corpus.unit_embeddings if self.metric == "cosine" else corpus.embeddings
        return np.array([_chamfer(corpus.group_rows(x, g), self.metric) for g in range(corpus.n_groups)])


def _chamfer(x: np.ndarray, metric: str) -> float:
    k = len(x)
    if k < 2:
        return math.nan
    s = 1.0
    if metric == "euclidean":
        x, s = _scaled(x)
    return s * _chamfer_unscaled(x, metric)


def _chamfer_unscaled(x: np.ndarray, metric: str) -> float:
    k = len(x)
    sq = np.einsum("ij,ij->i", x, x)
    nearest = np.empty(k)
    for lo in range(0, k, _BLOCK):
        blk = x[lo:lo + _BLOCK]
        g = blk @ x.T
        rows = np.arange(len(blk))
        if metric == "cosine":
            g[rows, lo + rows] = -np.inf  # exclude the point itself
            nearest[lo:lo + _BLOCK] = 1.0 - g.max(axis=1)
        else:
            d2 = sq[lo:lo + _BLOCK, None] + sq[None, :] - 2.0 * g
            d2[rows, lo + rows] = np.inf
            nearest[lo:lo + _BLOCK] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return float(nearest.mean())


def vendi_from_eigenvalues(eigenvalues: np.ndarray, q: float = 1.0) -> float:
    r"""exp of the order-q Rényi entropy of the normalised eigenvalues.

    .. math:: \mathrm{VS}_q = \Big(\sum_i \lambda_i^q\Big)^{1/(1-q)},\quad
              \mathrm{VS}_1 = \exp\Big(-\sum_i \lambda_i \ln \lambda_i\Big),\quad
              \mathrm{VS}_\infty = 1 / \max_i \lambda_i

    Eigenvalues below the numerical rank tolerance (``max λ · n · eps``) and
    negative round-off are treated as 0.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    lam = np.where(lam > lam.max() * len(lam) * np.finfo(np.float64).eps, lam, 0.0)
    return hill_number(lam, q)  # the Vendi score is the Hill number of the kernel's spectrum


class VendiScore(_Semantic):
    """The Vendi score (Friedman & Dieng 2023); see :func:`vendi_score`."""

    accepts_kernel = True

    def __init__(self, q: float = 1.0):
        if isinstance(q, str) and q in ("inf", "infinity"):
            q = math.inf
        self.q = check_real(q, "q", "vendi_score", low=0.0, low_open=True)
        self.name = self.key = "vendi" if self.q == 1.0 else f"vendi-q{self.q:g}"

    def fields(self, corpus: Corpus):
        return [("q", "inf" if math.isinf(self.q) else f"{self.q:g}"),
                ("kernel" if corpus.kernels is not None else "sim", "given" if corpus.kernels is not None else "cosine")]

    def group_values(self, corpus: Corpus) -> np.ndarray:
        out = []
        for g in range(corpus.n_groups):
            if corpus.kernels is not None:
                K = corpus.kernels[g]
                lam = np.linalg.eigvalsh(K / len(K))
            else:
                u = corpus.group_rows(corpus.unit_embeddings, g)
                n, d = u.shape
                # the nonzero eigenvalues of U U^T / n (n x n) are those of U^T U / n (d x d)
                lam = np.linalg.eigvalsh(u.T @ u / n if n > d else u @ u.T / n)
            out.append(vendi_from_eigenvalues(lam, self.q))
        return np.array(out)


class _Clusters(_Semantic):
    def __init__(self, threshold: float, linkage: str, func: str):
        self.threshold = check_real(threshold, "threshold", func, low=0.0, high=2.0, low_open=True)
        self.linkage = check_choice(linkage, "linkage", func, ("average", "complete", "single"))

    def fields(self, corpus: Corpus):
        return [("thr", f"{self.threshold:g}"), ("link", self.linkage), ("dist", "cosine")]

    def labels(self, corpus: Corpus) -> list[np.ndarray]:
        k = int(corpus.sizes.max()) if corpus.n_groups else 0
        need = k * (k - 1) // 2 * 8 * 2  # the condensed distance matrix and the linkage's copy
        if need > memory_limit():
            raise MemoryLimitError(
                f"{self.name}: agglomerative clustering of a set of {k:,} completions needs about "
                f"{need / 2**30:.1f} GiB for its pairwise distances (limit {memory_limit() / 2**30:.1f} GiB, "
                "DIVERSITY_MEMORY_LIMIT). Cluster a sample of the completions, or split the set by prompt; "
                "mean-pairwise-distance and vendi scale linearly in the set size.")
        key = ("clusters", self.threshold, self.linkage)
        return corpus.memo(key, lambda: [_cluster(corpus.group_rows(corpus.unit_embeddings, g), self.threshold,
                                                  self.linkage) for g in range(corpus.n_groups)])

    def details(self, corpus: Corpus) -> dict[str, Any]:
        sizes = [tuple(sorted(np.bincount(lab).tolist(), reverse=True)) for lab in self.labels(corpus)]
        return {"cluster_sizes": tuple(sizes)}


def _cluster(u: np.ndarray, threshold: float, linkage: str) -> np.ndarray:
    if len(u) == 1:
        return np.zeros(1, dtype=np.int64)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, metric="cosine",
                                    linkage=linkage)
    return model.fit_predict(u).astype(np.int64)


class SemanticClusters(_Clusters):
    """Number of semantic equivalence classes; see :func:`semantic_clusters`."""

    name = key = "semantic-clusters"

    def __init__(self, threshold: float = 0.25, *, linkage: str = "average"):
        super().__init__(threshold, linkage, "semantic_clusters")

    def group_values(self, corpus: Corpus) -> np.ndarray:
        # the number of distinct labels (equivalence classes), not the largest label index
        return np.array([float(len(np.unique(lab))) for lab in self.labels(corpus)])


class SemanticEntropy(_Clusters):
    """Entropy of the semantic cluster sizes; see :func:`semantic_entropy`."""

    name = key = "semantic-entropy"

    def __init__(self, threshold: float = 0.25, *, linkage: str = "average"):
        super().__init__(threshold, linkage, "semantic_entropy")

    def fields(self, corpus: Corpus):
        return super().fields(corpus) + [("base", "2")]

    def group_values(self, corpus: Corpus) -> np.ndarray:
        out = []
        for lab in self.labels(corpus):
            p = np.bincount(lab) / len(lab)
            p = p[p > 0]
            out.append(float(max(0.0, -(p * np.log2(p)).sum())))
        return np.array(out)


_SEM_DOC = """
    samples : sequence of str, or mapping/sequence of sequences of str, optional
        Texts to embed (with ``embedder``).
    embeddings : array (n, d), or mapping/sequence of arrays, optional
        Precomputed embeddings instead of (or aligned with) ``samples``;
        recorded as ``emb:precomputed``.
    embedder : Embedder or None
        Default: :class:`~diversity.embed.SentenceTransformerEmbedder` with
        all-MiniLM-L6-v2 (``emb:<model>@<weights hash>|maxlen:256``).
    aggregate, ci, ci_level, n_resamples, ci_method, seed
        As in :func:`diversity.distinct_n`.
"""


def _run_semantic(metric: Metric, samples, func, embeddings, embedder, aggregate, ci, ci_level, n_resamples,
                  ci_method, seed, kernel=None) -> DiversityResult:
    opts = make_options(func, tokenizer="unicode", lowercase=False, aggregate=aggregate, ci=ci, ci_level=ci_level,
                        n_resamples=n_resamples, ci_method=ci_method, seed=seed)
    return evaluate([metric], samples, opts, func, embeddings=embeddings, embedder=embedder, kernel=kernel)[0]


@fill_doc(_SEM_DOC)
def mean_pairwise_distance(samples: Any = None, *, embeddings: Any = None, embedder: Any = None,
                           metric: Literal["cosine", "euclidean"] = "cosine",
                           aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
                           ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
                           seed: int = 0) -> DiversityResult:
    r"""Mean distance between the embeddings of two different completions.

    .. math::

        \mathrm{MPD}(S) = \frac{1}{k(k-1)} \sum_{i \ne j} \big(1 - \cos(x_i, x_j)\big)
                        = 1 - \frac{\lVert \sum_i u_i \rVert^2 - k}{k(k-1)}

    with :math:`u_i = x_i / \lVert x_i \rVert`: computed in O(k d) through the
    sum of unit vectors (exact to round-off; a test compares it with the
    brute-force k x k value). ``metric="euclidean"``: mean Euclidean distance
    over pairs, blocked exact computation, O(k² d).

    Higher is more diverse; cosine range [0, 2] (in practice [0, 1] for
    sentence embeddings). Outputs that fall into a few tight clusters
    (2406.05587's "attractor states") give low values.

    Parameters
    ----------
    metric : {"cosine", "euclidean"}
        Recorded as ``dist:``.
    <<COMMON>>
    Returns
    -------
    DiversityResult
        NaN (with a warning) for a prompt with one completion.

    References
    ----------
    Mean pairwise embedding distance as a diversity measure: e.g. G. Tevet,
    J. Berant, Evaluating the Evaluation of Diversity in Natural Language
    Generation, EACL 2021 (arXiv:2004.02990); R. Kirk et al., Understanding the
    Effects of RLHF on LLM Generalisation and Diversity, ICLR 2024
    (arXiv:2310.06452).

    Examples
    --------
    >>> import numpy as np
    >>> mean_pairwise_distance(embeddings=np.array([[1.0, 0.0], [0.0, 1.0]])).value
    1.0
    """
    return _run_semantic(MeanPairwiseDistance(metric), samples, "mean_pairwise_distance", embeddings, embedder,
                         aggregate, ci, ci_level, n_resamples, ci_method, seed)


@fill_doc(_SEM_DOC)
def remote_clique(samples: Any = None, *, embeddings: Any = None, embedder: Any = None,
                  metric: Literal["cosine", "euclidean"] = "cosine",
                  aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
                  ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
                  seed: int = 0) -> DiversityResult:
    r"""Remote-clique diversity: the mean over completions of their mean distance to the *other* completions.

    .. math::

        \mathrm{RC}(S) = \frac{1}{k}\sum_i \frac{1}{k-1}\sum_{j \ne i} d(x_i, x_j)

    With every row mean taken over the same k - 1 others this equals
    :func:`mean_pairwise_distance` (a test checks it); it is offered under
    its own name because papers report it so. The ``diversity`` PyPI package
    averages each row over all k entries, its own zero distance included,
    which shrinks the value by (k - 1)/k (0.8x for k = 5).

    Higher is more diverse. NaN for a prompt with one completion.

    Parameters
    ----------
    metric : {"cosine", "euclidean"}
    <<COMMON>>
    Returns
    -------
    DiversityResult

    References
    ----------
    S. R. Cox, Y. Wang, A. Abdul, C. von der Weth, B. Y. Lim. Directed
    Diversity: Leveraging Language Embedding Distances for Collective
    Creativity in Crowd Ideation. CHI 2021. doi:10.1145/3411764.3445782.

    Examples
    --------
    >>> import numpy as np
    >>> remote_clique(embeddings=np.eye(3)).value
    1.0
    """
    return _run_semantic(RemoteClique(metric), samples, "remote_clique", embeddings, embedder, aggregate, ci,
                         ci_level, n_resamples, ci_method, seed)


@fill_doc(_SEM_DOC)
def centroid_distance(samples: Any = None, *, embeddings: Any = None, embedder: Any = None,
                      metric: Literal["cosine", "euclidean"] = "cosine",
                      aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
                      ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
                      seed: int = 0) -> DiversityResult:
    r"""Mean distance of the completions to their centroid (dispersion).

    .. math::

        \mathrm{CD}(S) = \frac{1}{k}\sum_i \big(1 - \cos(u_i, \bar u)\big)
                       = 1 - \frac{\lVert \sum_i u_i \rVert}{k}

    (cosine, on unit vectors :math:`u_i`, centroid :math:`\bar u`; O(k d)).
    ``metric="euclidean"``: mean Euclidean distance to the mean embedding.

    Higher is more diverse; cosine range [0, 1]; 0 for one completion or
    identical ones. NaN (with a warning) when the unit vectors sum to zero.

    Parameters
    ----------
    metric : {"cosine", "euclidean"}
    <<COMMON>>
    Returns
    -------
    DiversityResult

    References
    ----------
    Distance to the centroid as embedding dispersion: e.g. Y. Du, M. Kiela,
    "Diversity of thought": see also Kirk et al. 2024 (arXiv:2310.06452) for
    embedding-based per-input and across-input diversity.

    Examples
    --------
    >>> import numpy as np
    >>> centroid_distance(embeddings=np.array([[1.0, 0.0], [1.0, 0.0]])).value
    0.0
    """
    return _run_semantic(CentroidDistance(metric), samples, "centroid_distance", embeddings, embedder, aggregate,
                         ci, ci_level, n_resamples, ci_method, seed)


@fill_doc(_SEM_DOC)
def chamfer(samples: Any = None, *, embeddings: Any = None, embedder: Any = None,
            metric: Literal["cosine", "euclidean"] = "cosine",
            aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
            ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
            seed: int = 0) -> DiversityResult:
    r"""Chamfer diversity: the mean distance of each completion to its nearest *other* completion.

    .. math::

        \mathrm{CH}(S) = \frac{1}{k}\sum_i \min_{j \ne i} d(x_i, x_j)

    The diagonal (each point's zero distance to itself) is excluded. Blocked
    exact computation, O(k² d) time, O(2048 k) memory.

    Higher is more diverse; a set with any two near-duplicates scores low for
    those two. NaN for a prompt with one completion.

    Parameters
    ----------
    metric : {"cosine", "euclidean"}
    <<COMMON>>
    Returns
    -------
    DiversityResult

    References
    ----------
    Cox et al., Directed Diversity, CHI 2021 (doi:10.1145/3411764.3445782).

    Examples
    --------
    >>> import numpy as np
    >>> chamfer(embeddings=np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])).value
    0.3333333333333333
    """
    return _run_semantic(Chamfer(metric), samples, "chamfer", embeddings, embedder, aggregate, ci, ci_level,
                         n_resamples, ci_method, seed)


@fill_doc(_SEM_DOC)
def vendi_score(samples: Any = None, *, embeddings: Any = None, kernel: Any = None, embedder: Any = None,
                q: float = 1.0, aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
                ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
                seed: int = 0) -> DiversityResult:
    r"""The Vendi score: the effective number of distinct completions.

    .. math::

        \mathrm{VS}_q(K) = \exp\Big(\frac{1}{1-q}\ln \sum_i \lambda_i^q\Big),\qquad
        \mathrm{VS}_1 = \exp\Big(-\sum_i \lambda_i \ln \lambda_i\Big),\qquad
        \mathrm{VS}_\infty = 1/\max_i \lambda_i

    with :math:`\lambda_i` the eigenvalues of :math:`K/k` for a similarity
    kernel K with unit diagonal (from texts or embeddings: the cosine kernel
    :math:`K = U U^\top` of unit vectors). It equals k for k orthogonal
    items and 1 for k identical ones. For k > d the eigenvalues come from the
    d x d matrix :math:`U^\top U / k` (same nonzero spectrum), O(k d² + d³),
    instead of the k x k kernel. Eigenvalues below the numerical rank
    tolerance are treated as 0.

    Higher is more diverse; range [1, k]. ``q`` in (0, ∞] weights rare (q<1)
    or common (q>1) directions; recorded as ``q:``.

    Parameters
    ----------
    kernel : square array, or mapping/sequence of them, optional
        A precomputed symmetric similarity matrix with unit diagonal
        (``kernel:given``), instead of samples or embeddings.
    q : float, default 1.0
        Order; ``math.inf`` (or ``"inf"``) for the min-entropy limit.
    <<COMMON>>
    Returns
    -------
    DiversityResult

    References
    ----------
    D. Friedman, A. B. Dieng. The Vendi Score: A Diversity Evaluation Metric
    for Machine Learning. TMLR 2023. arXiv:2210.02410. A. P. Pasarkar,
    A. B. Dieng. Cousins of the Vendi Score. 2023. arXiv:2310.12952 (order q).

    Examples
    --------
    >>> import numpy as np
    >>> K = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> vendi_score(kernel=K).value
    2.1573004833739833
    """
    return _run_semantic(VendiScore(q), samples, "vendi_score", embeddings, embedder, aggregate, ci, ci_level,
                         n_resamples, ci_method, seed, kernel=kernel)


@fill_doc(_SEM_DOC)
def semantic_clusters(samples: Any = None, *, embeddings: Any = None, embedder: Any = None,
                      threshold: float = 0.25, linkage: Literal["average", "complete", "single"] = "average",
                      aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
                      ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
                      seed: int = 0) -> DiversityResult:
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
    <<COMMON>>
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
    return _run_semantic(SemanticClusters(threshold, linkage=linkage), samples, "semantic_clusters", embeddings,
                         embedder, aggregate, ci, ci_level, n_resamples, ci_method, seed)


@fill_doc(_SEM_DOC)
def semantic_entropy(samples: Any = None, *, embeddings: Any = None, embedder: Any = None,
                     threshold: float = 0.25, linkage: Literal["average", "complete", "single"] = "average",
                     aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
                     ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
                     seed: int = 0) -> DiversityResult:
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
    <<COMMON>>
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
    return _run_semantic(SemanticEntropy(threshold, linkage=linkage), samples, "semantic_entropy", embeddings,
                         embedder, aggregate, ci, ci_level, n_resamples, ci_method, seed)
