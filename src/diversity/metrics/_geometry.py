"""Geometry kernels of the semantic metrics: blocked exact pairwise distances
(scaled so squares neither overflow nor underflow), the Vendi score from a
spectrum, and agglomerative clustering."""

from __future__ import annotations

import math

import numpy as np

from ..stats.entropy import hill_number

_BLOCK = 2048


def scaled(x: np.ndarray) -> tuple[np.ndarray, float]:
    """``x / s`` and ``s`` (the largest magnitude), so that squares neither overflow nor underflow."""
    s = float(np.abs(x).max()) if x.size else 0.0
    return (x / s, s) if s > 0 else (x, 1.0)


def mean_euclidean(x: np.ndarray) -> float:
    k = len(x)
    if k < 2:
        return math.nan
    x, s = scaled(x)
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



def chamfer_distance(x: np.ndarray, metric: str) -> float:
    k = len(x)
    if k < 2:
        return math.nan
    s = 1.0
    if metric == "euclidean":
        x, s = scaled(x)
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



def cluster_labels(u: np.ndarray, threshold: float, linkage: str) -> np.ndarray:
    if len(u) == 1:
        return np.zeros(1, dtype=np.int64)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, metric="cosine",
                                    linkage=linkage)
    return model.fit_predict(u).astype(np.int64)
