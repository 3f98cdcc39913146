"""Diversity of categorical attributes: how widely generated values (names,
ages, genders, nationalities of generated personas...) spread.

arXiv 2406.05587's persona experiment reports only frequency tables; these
indices turn them into numbers with CIs. Values are compared as strings
(``str(value)``), exactly: normalise spelling and case before, if needed.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from typing import Any, Literal, Mapping, Sequence

import numpy as np

from ._engine import Corpus, Metric, evaluate, make_options
from ._errors import InvalidParameterError
from ._hill import hill_number
from ._result import DiversityResult
from ._validate import check_choice, check_real

__all__ = ["AttributeDiversity", "attribute_diversity", "hill_number"]

MEASURES = ("entropy", "richness", "gini-simpson", "inverse-simpson", "hill")


class AttributeDiversity(Metric):
    """Diversity of categorical values; see :func:`attribute_diversity`."""

    higher_is_more_diverse = True
    uses_tokens = False

    def __init__(self, measure: str = "entropy", *, q: float = 1.0, base: float = 2.0) -> None:
        self.measure = check_choice(measure, "measure", "attribute_diversity", MEASURES)
        self.q = check_real(q, "q", "attribute_diversity", low=0.0)
        self.base = check_real(base, "base", "attribute_diversity", low=0.0, low_open=True)
        if self.base == 1.0:
            raise InvalidParameterError("The 'base' parameter of attribute_diversity must be a float in (0, inf) other than 1. Got 1 instead.")
        self.name = self.key = f"attribute-{measure}" if measure != "hill" else f"attribute-hill-q{self.q:g}"

    def fields(self, corpus: Corpus):
        if self.measure == "entropy":
            return [("base", "e" if self.base == math.e else f"{self.base:g}")]
        if self.measure == "hill":
            return [("q", "inf" if math.isinf(self.q) else f"{self.q:g}")]
        return []

    def _value(self, values: Sequence[str]) -> float:
        counts = np.array(list(Counter(values).values()), dtype=np.float64)
        p = counts / counts.sum()
        if self.measure == "entropy":
            return float(max(0.0, -(p * np.log(p)).sum()) / math.log(self.base))
        if self.measure == "richness":
            return float(len(counts))
        if self.measure == "gini-simpson":
            return float(1.0 - (p**2).sum())
        if self.measure == "inverse-simpson":
            return float(1.0 / (p**2).sum())
        return hill_number(counts, self.q)

    def group_values(self, corpus: Corpus) -> np.ndarray:
        return np.array([self._value(s) for s in corpus.sets])

    def details(self, corpus: Corpus) -> dict[str, Any]:
        if corpus.n_groups != 1:
            return {}
        top = Counter(corpus.sets[0]).most_common(10)
        return {"n_categories": len(set(corpus.sets[0])), "top": tuple((v, c) for v, c in top)}


def _as_category(x: Any, where: str) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, bool) or isinstance(x, numbers.Integral):
        return str(x)
    if isinstance(x, numbers.Real):
        if math.isnan(float(x)):
            raise ValueError(f"{where} is a missing value (NaN); drop or label missing values explicitly.")
        return str(x)
    if x is None:
        raise TypeError(f"{where} is None; drop or label missing values explicitly (e.g. 'unknown').")
    raise TypeError(f"{where} must be a string or number, got {type(x).__name__}.")


def _stringify(values: Any) -> Any:
    if isinstance(values, (str, bytes)):
        raise TypeError("values is a single string, not a sequence of categorical values.")
    if isinstance(values, Mapping):
        return {k: [_as_category(v, f"values[{k!r}][{i}]") for i, v in enumerate(vs)] for k, vs in values.items()}
    items = list(values)
    if items and all(isinstance(v, (list, tuple)) for v in items):
        return [[_as_category(v, f"values[{g}][{i}]") for i, v in enumerate(vs)] for g, vs in enumerate(items)]
    return [_as_category(v, f"values[{i}]") for i, v in enumerate(items)]


def attribute_diversity(values: Any, measure: Literal["entropy", "richness", "gini-simpson", "inverse-simpson",
                                                         "hill"] = "entropy", *,
                        q: float = 1.0, base: float = 2.0, aggregate: Literal["per-prompt", "pooled"] | None = None,
                        ci: bool | None = None, ci_level: float = 0.95, n_resamples: int = 10_000,
                        ci_method: str = "percentile", seed: int = 0) -> DiversityResult:
    r"""Diversity of a categorical attribute over generated samples.

    With :math:`p_v` the share of value v among the n values:

    - ``"entropy"`` (default): :math:`H = -\sum_v p_v \log_b p_v`, bits for
      ``base=2``; range [0, log_b n]. Plug-in estimate (biased low for small n).
    - ``"richness"``: the number of distinct values.
    - ``"gini-simpson"``: :math:`1 - \sum_v p_v^2`, the probability that two
      draws (with replacement) differ; range [0, 1).
    - ``"inverse-simpson"``: :math:`1 / \sum_v p_v^2` (Hill number q = 2).
    - ``"hill"``: the Hill number of order ``q`` (effective number of
      categories; q = 0 richness, 1 exp-entropy, 2 inverse Simpson).

    Higher is more diverse for every measure. All depend on the number of
    samples: compare at equal n.

    Parameters
    ----------
    values : sequence of str/int, or mapping/sequence of sequences
        One set of values (e.g. the nationalities of 100 generated personas),
        or values grouped by prompt (CIs bootstrap over prompts). ``None`` and
        NaN are errors: label missing values explicitly.
    measure : {"entropy", "richness", "gini-simpson", "inverse-simpson", "hill"}
    q : float, default 1.0
        Order of the Hill number (``measure="hill"``).
    base : float, default 2
        Logarithm base of the entropy.
    aggregate, ci, ci_level, n_resamples, ci_method, seed
        As in :func:`diversity.distinct_n`.

    Returns
    -------
    DiversityResult
        For a single set, ``details["top"]`` lists the 10 most common values.

    References
    ----------
    M. O. Hill. Diversity and Evenness: A Unifying Notation and Its
    Consequences. Ecology 54(2), 1973. E. H. Simpson. Measurement of
    Diversity. Nature 163, 1949. B. Mohammadi. Creativity Has Left the Chat.
    2024. arXiv:2406.05587 (the persona experiment).

    Examples
    --------
    >>> attribute_diversity(["US", "US", "CN", "MX"]).value
    1.5
    >>> attribute_diversity(["US", "US", "CN", "MX"], "richness").value
    3.0
    """
    metric = AttributeDiversity(measure, q=q, base=base)
    opts = make_options("attribute_diversity", tokenizer="unicode", lowercase=False, aggregate=aggregate, ci=ci,
                        ci_level=ci_level, n_resamples=n_resamples, ci_method=ci_method, seed=seed)
    return evaluate([metric], _stringify(values), opts, "attribute_diversity", texts_are_data=False)[0]
