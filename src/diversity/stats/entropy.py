"""Shannon entropy and Hill numbers: the one implementation used by every
metric (n-gram entropy, attribute diversity, semantic entropy, token entropy,
the Vendi score)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..core.errors import InvalidParameterError
from ..core.params import Real, check


def hill_number(weights: Sequence[float] | np.ndarray, q: float) -> float:
    r"""Hill number (effective number of categories) of order q.

    .. math:: {}^qD = \Big(\sum_i p_i^q\Big)^{1/(1-q)},\quad {}^1D = e^{H},\quad {}^\infty D = 1/\max_i p_i

    with :math:`p` the non-negative ``weights`` (counts or eigenvalues)
    normalised to sum to 1; zero weights are ignored. q = 0 is richness,
    q = 1 the exponential of Shannon entropy, q = 2 the inverse Simpson index.

    >>> hill_number([5, 5], 1)
    2.0
    """
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"hill_number needs numeric weights, got {weights!r}.") from None
    if w.ndim != 1 or not np.isfinite(w).all() or (w < 0).any() or not (w > 0).any():
        raise InvalidParameterError("hill_number needs a 1-D array of finite, non-negative weights with at least "
                                    f"one positive weight, got {weights!r}.")
    q = check(q, "q", "hill_number", Real(0.0))
    p = w[w > 0] / w[w > 0].sum()
    if q == 0:
        return float(len(p))
    if q == 1:
        return float(np.exp(-(p * np.log(p)).sum()))
    if math.isinf(q):
        return float(1.0 / p.max())
    return float((p**q).sum() ** (1.0 / (1.0 - q)))


def entropy_from_counts(counts: np.ndarray, base: float = 2.0) -> float:
    """Shannon entropy of the distribution given by non-negative counts (or
    probabilities), in units of ``log base``: :math:`-\\sum_i p_i \\log_b p_i`."""
    c = np.asarray(counts, dtype=np.float64)
    c = c[c > 0]
    if len(c) == 0:
        return math.nan
    total = c.sum()
    return entropy_from_sums(total, float((c * np.log(c)).sum()), base)


def entropy_from_sums(total, sum_clogc, base: float = 2.0):
    """Entropy from the sufficient statistics ``total = sum c`` and
    ``sum_clogc = sum c ln c`` (vectorised; NaN where total is 0):
    :math:`H = \\ln C - \\frac{1}{C}\\sum c \\ln c`, in units of ``log base``."""
    total = np.asarray(total, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.log(total) - np.asarray(sum_clogc, dtype=np.float64) / total
    h = np.where(total > 0, np.maximum(h, 0.0), np.nan) / math.log(base)
    return float(h) if h.ndim == 0 else h


def chao_shen_entropy(counts: Sequence[float] | np.ndarray, base: float = 2.0) -> float:
    r"""Coverage-adjusted (Chao–Shen) estimate of Shannon entropy from counts.

    With n the number of observations, :math:`f_1` the number of values seen
    once and :math:`\hat C = 1 - f_1/n` the Good–Turing sample coverage
    (:math:`f_1 = n - 1` when every value is a singleton, so that
    :math:`\hat C > 0`), each share is shrunk to :math:`\tilde p_i = \hat C c_i/n`
    and weighted by the Horvitz–Thompson inverse of its inclusion
    probability:

    .. math:: \hat H_{CS} = -\sum_i \frac{\tilde p_i \log_b \tilde p_i}{1 - (1 - \tilde p_i)^n}.

    Unlike the plug-in estimate it is not capped at :math:`\log_b n`: when
    most values are seen once it estimates the unseen part of the
    distribution, so two samples where every value is distinct are not
    reported as equal at their ceiling. It is still an estimate from few
    observations (high variance for small n). NaN for no observations.

    References
    ----------
    A. Chao and T.-J. Shen. Nonparametric estimation of Shannon's index of
    diversity when there are unseen species in sample. Environmental and
    Ecological Statistics 10, 2003.

    >>> round(chao_shen_entropy([5, 5]), 6)   # full coverage: the plug-in value, corrected a little
    1.000978
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1 or not np.isfinite(c).all() or (c < 0).any():
        raise InvalidParameterError(f"chao_shen_entropy needs a 1-D array of finite, non-negative counts, got "
                                    f"{counts!r}.")
    c = c[c > 0]
    n = c.sum()
    if n == 0:
        return math.nan
    f1 = float((c == 1).sum())
    if f1 == n:
        f1 = n - 1
    coverage = 1.0 - f1 / n
    pa = coverage * c / n
    la = 1.0 - (1.0 - pa) ** n
    return float(-(pa * np.log(pa) / la).sum() / math.log(base))
