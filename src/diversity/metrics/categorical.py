"""Diversity of categorical attributes: how widely generated values (names,
ages, genders, nationalities of generated personas...) spread.

arXiv 2406.05587's persona experiment reports only frequency tables; these
indices turn them into numbers with CIs. Values are compared as strings
(``str(value)``), exactly: normalise spelling and case before, if needed.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Literal

import numpy as np

from ..core.corpus import Corpus
from ..core.errors import InvalidParameterError
from ..core.evaluate import evaluate
from ..core.metric import Computed, Metric
from ..core.options import Options, with_options
from ..core.params import Choice, Param, Real
from ..core.registry import register
from ..core.result import DiversityResult
from ..stats.entropy import entropy_from_counts, hill_number

__all__ = ["AttributeDiversity", "attribute_diversity", "hill_number", "MEASURES"]

MEASURES = ("entropy", "richness", "gini-simpson", "inverse-simpson", "hill")


class _Order(Real):
    def parse(self, text: str) -> Any:
        return math.inf if text.lower() in ("inf", "infinity") else super().parse(text)


@register
class AttributeDiversity(Metric):
    """Diversity of categorical values; see :func:`attribute_diversity`."""

    name, func = "attribute-{measure}", "attribute_diversity"
    params = (Param("measure", Choice(MEASURES), "entropy", "The diversity index.", in_name=True),
              Param("q", _Order(0.0), 1.0, "Order of the Hill number (``measure='hill'`` only)."),
              Param("base", Real(0.0, low_open=True, exclude=(1.0, math.inf)), 2.0,
                    "Logarithm base of the entropy (``measure='entropy'`` only)."))
    input = "values"
    references = ("hill1973diversity", "simpson1949measurement", "mohammadi2024creativity")

    def validate(self) -> None:
        if self.q != 1.0 and self.measure != "hill":
            raise InvalidParameterError(f"The 'q' parameter of attribute_diversity applies to measure='hill' only; "
                                        f"got q={self.q:g} with measure={self.measure!r}.")
        if self.base != 2.0 and self.measure != "entropy":
            raise InvalidParameterError(f"The 'base' parameter of attribute_diversity applies to measure='entropy' "
                                        f"only; got base={self.base:g} with measure={self.measure!r}.")

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        if self.measure == "entropy":
            return [("base", "e" if self.base == math.e else f"{self.base:g}")]
        if self.measure == "hill":
            return [("q", "inf" if math.isinf(self.q) else f"{self.q:g}")]
        return []

    def _value(self, counts: np.ndarray) -> float:
        p = counts / counts.sum()
        if self.measure == "entropy":
            return entropy_from_counts(counts, self.base)
        if self.measure == "richness":
            return float(len(counts))
        if self.measure == "gini-simpson":
            return float(1.0 - (p**2).sum())
        if self.measure == "inverse-simpson":
            return float(1.0 / (p**2).sum())
        return hill_number(counts, self.q)

    def compute(self, corpus: Corpus) -> Computed:
        counters = [Counter(corpus.group_rows(corpus.values, g)) for g in range(corpus.n_groups)]
        vals = [self._value(np.array(list(c.values()), dtype=np.float64)) for c in counters]
        return Computed(np.array(vals), {"counts": counters})

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        counters = extras.get("counts", [])
        if len(counters) != 1:
            return {}
        return {"n_categories": len(counters[0]), "top": tuple(counters[0].most_common(10))}


@with_options("aggregate", "ci")
def attribute_diversity(values: Any, measure: Literal["entropy", "richness", "gini-simpson", "inverse-simpson",
                                                         "hill"] = "entropy", *,
                        q: float = 1.0, base: float = 2.0, options: Options) -> DiversityResult:
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
    <<SHARED>>

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
    return evaluate([AttributeDiversity(measure, q=q, base=base)], options, values=values)[0]
