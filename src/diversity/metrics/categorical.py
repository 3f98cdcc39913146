"""Diversity of categorical attributes: how widely generated values (names,
ages, genders, nationalities of generated personas...) spread.

arXiv 2406.05587's persona experiment reports only frequency tables; these
indices turn them into numbers with CIs. Values are compared as strings
(``str(value)``), exactly, unless ``normalize=`` names one of the versioned
rules of :func:`normalize_value` (case, whitespace, punctuation, and a
synonym map for gender and nationality), which the signature records.
"""

from __future__ import annotations

import math
import re
import unicodedata
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
from ..stats.entropy import chao_shen_entropy, entropy_from_counts, hill_number

__all__ = ["AttributeDiversity", "attribute_diversity", "hill_number", "MEASURES", "normalize_value",
           "NORMALIZATION_RULES", "GENDER_SYNONYMS", "NATIONALITY_SYNONYMS"]

MEASURES = ("entropy", "entropy-chao-shen", "richness", "gini-simpson", "inverse-simpson", "hill")

#: Rule -> the version the signature records (``norm-v`` field); bump it when a rule or a map changes.
NORMALIZATION_RULES = {"text": "text-v1", "gender": "gender-v1", "nationality": "nationality-v1"}

#: Gender spellings (after the text rule) -> the category counted.
GENDER_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(("m", "male", "man", "men", "boy", "masculine", "he", "he/him", "mr", "cis male", "cis man",
                     "gentleman", "guy"), "male"),
    **dict.fromkeys(("f", "female", "woman", "women", "girl", "feminine", "she", "she/her", "ms", "mrs", "miss",
                     "cis female", "cis woman", "femal", "lady"), "female"),
    **dict.fromkeys(("non-binary", "nonbinary", "non binary", "nb", "enby", "genderqueer", "they/them"),
                    "non-binary"),
}

_COUNTRIES = {  # demonym: other spellings (country names, abbreviations)
    "american": ("us", "usa", "united states", "united states of america", "america", "u s", "u s a", "americans"),
    "british": ("uk", "united kingdom", "great britain", "britain", "briton"),
    "english": ("england",), "scottish": ("scotland", "scot"), "welsh": ("wales",), "irish": ("ireland",),
    "canadian": ("canada",), "mexican": ("mexico",), "brazilian": ("brazil",),
    "argentinian": ("argentina", "argentine"), "colombian": ("colombia",), "chilean": ("chile",),
    "peruvian": ("peru",), "chinese": ("china", "prc"), "indian": ("india",), "japanese": ("japan",),
    "korean": ("korea", "south korea", "south korean"), "vietnamese": ("vietnam",), "thai": ("thailand",),
    "filipino": ("philippines", "philippine", "filipina"), "indonesian": ("indonesia",),
    "malaysian": ("malaysia",), "pakistani": ("pakistan",), "bangladeshi": ("bangladesh",),
    "iranian": ("iran", "persian"), "turkish": ("turkey", "turkiye"), "israeli": ("israel",),
    "saudi": ("saudi arabia", "saudi arabian"), "egyptian": ("egypt",), "nigerian": ("nigeria",),
    "kenyan": ("kenya",), "ghanaian": ("ghana",), "ethiopian": ("ethiopia",),
    "south african": ("south africa",), "german": ("germany",), "french": ("france",), "italian": ("italy",),
    "spanish": ("spain",), "portuguese": ("portugal",), "dutch": ("netherlands", "holland"),
    "swedish": ("sweden",), "norwegian": ("norway",), "danish": ("denmark",), "finnish": ("finland",),
    "polish": ("poland",), "russian": ("russia",), "ukrainian": ("ukraine",), "greek": ("greece",),
    "swiss": ("switzerland",), "australian": ("australia",), "new zealander": ("new zealand", "kiwi"),
}
#: Nationality spellings (after the text rule) -> the demonym counted.
NATIONALITY_SYNONYMS: dict[str, str] = {alt: dem for dem, alts in _COUNTRIES.items() for alt in (dem,) + alts}


#: Values that give no value (counted as unparsed under the gender and nationality rules).
_NO_ANSWER = frozenset(("unknown", "not known", "not specified", "unspecified", "n a", "na", "none", "null"))
#: Words of the persona form: a gender or nationality containing one echoes a label ("full name"), not a value.
_LABEL_WORDS = frozenset(("name", "age", "gender", "nationality", "occupation"))


def _text_rule(value: Any) -> str | None:
    v = unicodedata.normalize("NFKC", str(value))
    v = re.sub(r"\\[A-Za-z]+", " ", v)  # LaTeX commands (\textbf, \mathrm...)
    v = v.casefold().replace(".", "")  # "U.S.A." -> "usa"
    v = re.sub(r"[^\w\s'/-]|_", " ", v)  # other punctuation, markup, braces, $ -> space
    v = re.sub(r"\s+", " ", v).strip(" '/-")
    return v if re.search(r"[^\W\d_]", v) else None  # no letter at all: not a value


def normalize_value(value: Any, rule: str) -> str | None:
    """A categorical value as it is counted under ``rule``; ``None`` when it is no valid value (unparsed).

    ``"text"`` (``text-v1``): Unicode NFKC, LaTeX commands and markup
    (``\\cmd``, ``$``, ``{}``, ``*``, ``_``) removed, case-folded, full stops
    dropped (``U.S.A.`` -> ``usa``), other punctuation as spaces, whitespace
    collapsed; a value without a letter (``"23"``, ``"--"``) is ``None``.
    ``"gender"`` (``gender-v1``): the text rule, then :data:`GENDER_SYNONYMS`
    (``m``/``man``/``men`` -> ``male``, ``woman``/``women``/``f`` ->
    ``female``...); a value listing one category several times
    (``"male, male"``) is that category, and so is a value that starts with
    a gender word of 3 letters or more and names no other category
    (``"female fresh graduate"``, not ``"female or male"``); other
    values of two or more characters are kept as written
    (``"transfemale"``); a single other letter, digits, non-answers
    (``"unknown"``, ``"not known"``, ``"n/a"``, ``"none"``) and echoes of the
    form's labels (a value containing ``name``, ``age``, ``gender``,
    ``nationality`` or ``occupation``: ``"full name"``) are ``None``. ``"nationality"`` (``nationality-v1``): the text rule, then
    :data:`NATIONALITY_SYNONYMS` (country names and abbreviations to the
    demonym: ``USA``, ``United States``, ``America`` -> ``american``); a gender
    given as a nationality (``"Male"``), digits, non-answers and label echoes
    are ``None``; other values are kept.

    Examples
    --------
    >>> [normalize_value(v, "gender") for v in ("M", "Woman", "women", "male, male", "23", " Male. ")]
    ['male', 'female', 'female', 'male', None, 'male']
    >>> [normalize_value(v, "nationality") for v in ("USA", "American", "United States", "male", "Indian")]
    ['american', 'american', 'american', None, 'indian']
    """
    if rule not in NORMALIZATION_RULES:
        raise InvalidParameterError(f"The 'rule' parameter of normalize_value must be one of "
                                    f"{', '.join(map(repr, NORMALIZATION_RULES))}; got {rule!r}.")
    v = _text_rule(value)
    if v is None or rule == "text":
        return v
    if rule == "gender":
        if re.search(r"\d", v):
            return None
        parts = {_text_rule(p) for p in re.split(r"[,;&]|\s+and\s+|\s+or\s+", str(value), flags=re.I)}
        parts = {GENDER_SYNONYMS.get(p, p) for p in parts if p}
        if len(parts) == 1:
            v = next(iter(parts))
        words = v.split(" ")
        named = {GENDER_SYNONYMS[w] for w in words if len(w) >= 3 and w in GENDER_SYNONYMS}
        if v not in GENDER_SYNONYMS and len(words[0]) >= 3 and words[0] in GENDER_SYNONYMS and len(named) == 1:
            v = words[0]  # "female fresh graduate", "female Occupation: ...": the one gender word it starts with
        v = GENDER_SYNONYMS.get(v, v)
        if v in _NO_ANSWER or _LABEL_WORDS & set(v.split(" ")):
            return None
        return v if v in GENDER_SYNONYMS.values() or len(v) >= 2 else None
    if v in GENDER_SYNONYMS or v in _NO_ANSWER or _LABEL_WORDS & set(v.split(" ")) or re.search(r"\d", v):
        return None
    return NATIONALITY_SYNONYMS.get(v, v)


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
                    "Logarithm base of the entropy (``measure='entropy'`` or ``'entropy-chao-shen'`` only)."),
              Param("normalize", Choice(("none",) + tuple(NORMALIZATION_RULES)), "none",
                    "Rule applied to every value before counting (:func:`normalize_value`); invalid values are "
                    "left out and counted in ``details['unparsed']``."))
    input = "values"
    length_sensitive = False  # categorical values, not texts
    references = ("hill1973diversity", "simpson1949measurement", "chao2003nonparametric", "mohammadi2024creativity")

    def validate(self) -> None:
        if self.q != 1.0 and self.measure != "hill":
            raise InvalidParameterError(f"The 'q' parameter of attribute_diversity applies to measure='hill' only; "
                                        f"got q={self.q:g} with measure={self.measure!r}.")
        if self.base != 2.0 and not self.measure.startswith("entropy"):
            raise InvalidParameterError(f"The 'base' parameter of attribute_diversity applies to measure='entropy' "
                                        f"only; got base={self.base:g} with measure={self.measure!r}.")

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        own: list[tuple[str, Any]] = []
        if self.measure.startswith("entropy"):
            own = [("base", "e" if self.base == math.e else f"{self.base:g}")]
        if self.measure == "hill":
            own = [("q", "inf" if math.isinf(self.q) else f"{self.q:g}")]
        if self.normalize != "none":
            own.append(("vnorm", NORMALIZATION_RULES[self.normalize]))
        return own

    def _value(self, counts: np.ndarray) -> float:
        if not len(counts):
            return math.nan
        p = counts / counts.sum()
        if self.measure == "entropy":
            return entropy_from_counts(counts, self.base)
        if self.measure == "entropy-chao-shen":
            return chao_shen_entropy(counts, self.base)
        if self.measure == "richness":
            return float(len(counts))
        if self.measure == "gini-simpson":
            return float(1.0 - (p**2).sum())
        if self.measure == "inverse-simpson":
            return float(1.0 / (p**2).sum())
        return hill_number(counts, self.q)

    def compute(self, corpus: Corpus) -> Computed:
        counters, unparsed = [], []
        for g in range(corpus.n_groups):
            vals = corpus.group_rows(corpus.values, g)
            if self.normalize != "none":
                got = [normalize_value(v, self.normalize) for v in vals]
                unparsed.append(sum(v is None for v in got))
                vals = [v for v in got if v is not None]
            else:
                unparsed.append(0)
            counters.append(Counter(vals))
        values = [self._value(np.array(list(c.values()), dtype=np.float64)) for c in counters]
        distinct = [sum(c.values()) >= 2 and len(c) == sum(c.values()) for c in counters]
        return Computed(np.array(values), {"counts": counters, "unparsed": unparsed, "all_distinct": distinct})

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        counters = extras.get("counts", [])
        out: dict[str, Any] = {"unparsed": int(sum(extras.get("unparsed", []))),
                               "groups_all_distinct": int(sum(extras.get("all_distinct", [])))}
        if len(counters) == 1:
            out.update(n_categories=len(counters[0]), top=tuple(counters[0].most_common(10)))
        return out


@with_options("aggregate", "ci")
def attribute_diversity(values: Any, measure: Literal["entropy", "entropy-chao-shen", "richness", "gini-simpson",
                                                         "inverse-simpson", "hill"] = "entropy", *,
                        q: float = 1.0, base: float = 2.0,
                        normalize: Literal["none", "text", "gender", "nationality"] = "none",
                        options: Options) -> DiversityResult:
    r"""Diversity of a categorical attribute over generated samples.

    With :math:`p_v` the share of value v among the n values:

    - ``"entropy"`` (default): :math:`H = -\sum_v p_v \log_b p_v`, bits for
      ``base=2``; range [0, log_b n]. Plug-in estimate (biased low for small n).
    - ``"entropy-chao-shen"``: the coverage-adjusted estimate of the same
      entropy (:func:`~diversity.stats.entropy.chao_shen_entropy`), not capped
      at log_b n: where most values are seen once (names, occupations) the
      plug-in entropy sits at its ceiling log_b n on both sides of a
      comparison, this one still estimates how many values lie unseen.
    - ``"richness"``: the number of distinct values.
    - ``"gini-simpson"``: :math:`1 - \sum_v p_v^2`, the probability that two
      draws (with replacement) differ; range [0, 1).
    - ``"inverse-simpson"``: :math:`1 / \sum_v p_v^2` (Hill number q = 2).
    - ``"hill"``: the Hill number of order ``q`` (effective number of
      categories; q = 0 richness, 1 exp-entropy, 2 inverse Simpson).

    Higher is more diverse for every measure. All depend on the number of
    samples: compare at equal n. ``details["groups_all_distinct"]`` counts
    the sets where every value is distinct: there the plug-in entropy is
    log_b n and the richness n whatever the model, so a comparison of them
    measures n, not diversity (report the ceiling, or use
    ``"entropy-chao-shen"``).

    Parameters
    ----------
    values : sequence of str/int, or mapping/sequence of sequences
        One set of values (e.g. the nationalities of 100 generated personas),
        or values grouped by prompt (CIs bootstrap over prompts). ``None`` and
        NaN are errors: label missing values explicitly.
    measure : {"entropy", "entropy-chao-shen", "richness", "gini-simpson", "inverse-simpson", "hill"}
    q : float, default 1.0
        Order of the Hill number (``measure="hill"``).
    base : float, default 2
        Logarithm base of the entropy.
    normalize : {"none", "text", "gender", "nationality"}, default "none"
        Rule of :func:`normalize_value` applied to every value before
        counting (recorded with its version in the signature, ``vnorm``);
        values the rule rejects (a number as a gender) are left out and
        counted in ``details["unparsed"]``.
    <<SHARED>>

    Returns
    -------
    DiversityResult
        For a single set, ``details["top"]`` lists the 10 most common values.

    References
    ----------
    M. O. Hill. Diversity and Evenness: A Unifying Notation and Its
    Consequences. Ecology 54(2), 1973. E. H. Simpson. Measurement of
    Diversity. Nature 163, 1949. A. Chao and T.-J. Shen. Nonparametric
    estimation of Shannon's index of diversity when there are unseen species
    in sample. Environ. Ecol. Stat. 10, 2003. B. Mohammadi. Creativity Has
    Left the Chat. 2024. arXiv:2406.05587 (the persona experiment).

    Examples
    --------
    >>> attribute_diversity(["US", "US", "CN", "MX"]).value
    1.5
    >>> attribute_diversity(["US", "US", "CN", "MX"], "richness").value
    3.0
    >>> attribute_diversity(["USA", "American", "United States", "Mexico"], "richness",
    ...                     normalize="nationality").value
    2.0
    """
    return evaluate([AttributeDiversity(measure, q=q, base=base, normalize=normalize)], options, values=values)[0]
