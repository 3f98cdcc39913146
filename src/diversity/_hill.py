"""Hill numbers: the effective number of categories of a distribution, shared
by attribute diversity (category counts) and the Vendi score (eigenvalues)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ._errors import InvalidParameterError
from ._validate import check_real


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
    check_real(q, "q", "hill_number", low=0.0)
    p = w[w > 0] / w[w > 0].sum()
    if q == 0:
        return float(len(p))
    if q == 1:
        return float(np.exp(-(p * np.log(p)).sum()))
    if math.isinf(q):
        return float(1.0 / p.max())
    return float((p**q).sum() ** (1.0 / (1.0 - q)))
