"""Lexical (syntactic) diversity from n-gram counts: distinct-n, EAD and
n-gram entropy.

All token-level metrics share one definition of an n-gram: ``n`` consecutive
tokens of one completion (n-grams never cross from one completion into the
next), tokens from the named tokenizer (default ``unicode``), case kept
unless ``lowercase=True``. Each result's ``details`` carries the length
statistics (mean and std tokens per completion), because length drives these
numbers: distinct-n falls and entropy rises as completions get longer.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from ..core.corpus import Corpus
from ..core.errors import InvalidParameterError
from ..core.evaluate import evaluate
from ..core.metric import Computed, Metric
from ..core.options import Options, with_options
from ..core.params import Bool, Choice, Int, Optional, Param, Real
from ..core.registry import register
from ..core.result import DiversityResult
from ..stats.entropy import entropy_from_sums

__all__ = ["Distinct", "EAD", "NgramEntropy", "distinct_n", "ead", "ngram_entropy"]

_NO_NGRAM = "no completion has {n} or more tokens, so there is no {n}-gram"
_N = Param("n", Int(1), 2, "N-gram order.", in_name=True)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


@register
class Distinct(Metric):
    """distinct-n (Li et al. 2016); see :func:`distinct_n`."""

    name, func = "distinct-{n}", "distinct_n"
    params = (_N, Param("variant", Choice(("set", "per-completion")), "set", "Recorded as ``var:``."))
    uses_tokens = True
    references = ("li2016diversity",)
    length_sensitive = True  # unique/total n-grams falls as completions get longer

    @property
    def undefined_reason(self) -> str:  # type: ignore[override]
        return _NO_NGRAM.format(n=self.n)

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("var", self.variant)]

    def statistics(self) -> tuple[str, ...] | None:
        return (f"ngrams-{self.n}",) if self.variant == "set" else None

    def compute(self, corpus: Corpus) -> Computed:
        if self.variant == "set":
            t = corpus.totals(self.n, "group")
            return Computed(_ratio(t.unique, t.total))
        t = corpus.totals(self.n, "text")
        return Computed(corpus.group_mean(_ratio(t.unique, t.total)))


@register
class EAD(Metric):
    """Expectation-adjusted distinct-n (Liu et al. 2022); see :func:`ead`."""

    name, func = "ead-{n}", "ead"
    params = (_N, Param("vocab_size", Optional(Int(2)), None,
                        "V; default: the tokenizer's vocabulary (``hf:`` tokenizers); recorded as ``V:``."))
    uses_tokens = True
    references = ("liu2022rethinking",)
    length_sensitive = True  # with k·L << V the expectation is about N: EAD is then distinct-n

    @property
    def undefined_reason(self) -> str:  # type: ignore[override]
        return _NO_NGRAM.format(n=self.n)

    def vocab(self, tokenizer: Any) -> int:
        v = self.vocab_size if self.vocab_size is not None else tokenizer.vocab_size
        if v is None:
            raise InvalidParameterError(
                f"ead needs vocab_size: the tokenizer {tokenizer.spec!r} has no fixed vocabulary. Pass "
                "vocab_size= (for example the vocabulary size of the model that generated the text; spec "
                f"'ead-{self.n}?vocab_size=32000') or use an 'hf:<path>' tokenizer.")
        return v

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("V", self.vocab(ctx.tokenizer))]

    def statistics(self) -> tuple[str, ...]:
        return (f"ngrams-{self.n}",)

    def compute(self, corpus: Corpus) -> Computed:
        v = self.vocab(corpus.tokenizer)
        t = corpus.totals(self.n, "group")
        c = t.total.astype(np.float64)
        # V * (1 - ((V-1)/V)**C), written with expm1/log1p so it stays exact for large V
        expected = -v * np.expm1(c * math.log1p(-1.0 / v))
        with np.errstate(invalid="ignore", divide="ignore"):
            return Computed(np.where(t.total > 0, t.unique / np.where(expected > 0, expected, 1.0), np.nan))


@register
class NgramEntropy(Metric):
    """Shannon entropy of the n-gram distribution; see :func:`ngram_entropy`."""

    name, func = "ngram-entropy-{n}", "ngram_entropy"
    params = (Param("n", Int(1), 1, "N-gram order.", in_name=True),
              Param("base", Real(0.0, low_open=True, exclude=(1.0, math.inf)), 2.0,
                    "Logarithm base (2: bits, e: nats); recorded as ``base:``."),
              Param("normalize", Bool(), False, "Divide by the largest possible entropy; recorded as ``norm:``."))
    uses_tokens = True
    references = ("zhang2018generating", "gehrmann2021gem")
    length_sensitive = True  # entropy of the pooled n-grams rises with their number

    @property
    def undefined_reason(self) -> str:  # type: ignore[override]
        return (f"fewer than 2 {self.n}-grams, so the maximum entropy is 0" if self.normalize
                else _NO_NGRAM.format(n=self.n))

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("base", "e" if self.base == math.e else f"{self.base:g}"), ("norm", self.normalize)]

    def statistics(self) -> tuple[str, ...]:
        return (f"ngrams-{self.n}",)

    def compute(self, corpus: Corpus) -> Computed:
        t = corpus.totals(self.n, "group")
        h = entropy_from_sums(t.total, t.sum_clogc, self.base)
        if not self.normalize:
            return Computed(h)
        with np.errstate(invalid="ignore", divide="ignore"):
            hmax = np.log(t.total.astype(np.float64)) / math.log(self.base)
            return Computed(np.where(t.total >= 2, h / np.where(hmax > 0, hmax, 1.0), np.nan))


def _one(metric: Metric, samples: Any, options: Options) -> DiversityResult:
    return evaluate([metric], options, samples=samples)[0]


@with_options("text", "aggregate", "ci")
def distinct_n(samples: Any, n: int = 2, *, variant: Literal["set", "per-completion"] = "set",
               options: Options) -> DiversityResult:
    r"""distinct-n: the fraction of n-grams in a set that are unique.

    .. math::

        \mathrm{distinct}_n(S) = \frac{|\{g : g \text{ an } n\text{-gram of some } s \in S\}|}
                                      {\sum_{s \in S} \max(0, |s| - n + 1)}

    Distinct n-grams over n-gram occurrences, counted over the whole set
    (``variant="set"``, Li et al. 2016). N-grams never cross completion
    boundaries. ``variant="per-completion"`` instead averages the ratio of each
    completion with at least n tokens (a measure of repetition *within* texts).

    Higher is more diverse; range (0, 1]. Falls as completions get longer and
    as the set grows: compare only at equal k and similar lengths (see
    :func:`ead` for a length-adjusted version).

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
        One set of completions, or completions grouped by prompt.
    n : int, default 2
        N-gram order.
    variant : {"set", "per-completion"}, default "set"
        Recorded as ``var:``.
    <<SHARED>>

    Returns
    -------
    DiversityResult
        NaN (with :class:`~diversity.UndefinedMetricWarning`) where no
        completion has n tokens.

    References
    ----------
    J. Li, M. Galley, C. Brockett, J. Gao, B. Dolan. A Diversity-Promoting
    Objective Function for Neural Conversation Models. NAACL 2016.
    arXiv:1510.03055.

    Examples
    --------
    >>> r = distinct_n(["the cat sat", "the cat ran"], n=2)
    >>> r.value  # bigrams: the cat, cat sat, the cat, cat ran -> 3 unique / 4
    0.75
    >>> r.signature
    'distinct-2|var:set|tok:unicode-v2|lc:no|agg:none|k:2|v:0.3.0'
    """
    return _one(Distinct(n, variant=variant), samples, options)


@with_options("text", "aggregate", "ci")
def ead(samples: Any, n: int = 2, *, vocab_size: int | None = None, options: Options) -> DiversityResult:
    r"""Expectation-adjusted distinct-n (EAD).

    .. math::

        \mathrm{EAD}_n(S) = \frac{U_n}{V\left[1 - \left(\frac{V-1}{V}\right)^{C_n}\right]}

    with :math:`U_n` the distinct n-grams of the set, :math:`C_n` the n-gram
    occurrences, and :math:`V` the vocabulary size: the denominator is the
    expected number of distinct types when :math:`C_n` tokens are drawn
    uniformly from :math:`V` types. As in the reference implementation the
    same :math:`V` is used for every n. Dividing by the expectation instead of
    by :math:`C_n` removes most of distinct-n's length bias.

    Higher is more diverse; range (0, ~1] (it can exceed 1 slightly for very
    short sets). ``V`` must be stated: it defaults to the tokenizer's
    vocabulary (``hf:`` tokenizers) and must be given otherwise. One popular
    implementation hard-codes GPT-2's 50257 for every tokenizer; we record
    ``V:`` in the signature instead.

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    n : int, default 2
    vocab_size : int or None
        V; recorded as ``V:``.
    <<SHARED>>

    Returns
    -------
    DiversityResult

    References
    ----------
    S. Liu, S. Sabour, Y. Zheng, P. Ke, X. Zhu, M. Huang. Rethinking and
    Refining the Distinct Metric. ACL 2022. arXiv:2202.13587.

    Examples
    --------
    >>> round(ead(["the cat sat", "the cat ran"], n=2, vocab_size=10).value, 4)
    0.8723
    """
    return _one(EAD(n, vocab_size=vocab_size), samples, options)


@with_options("text", "aggregate", "ci")
def ngram_entropy(samples: Any, n: int = 1, *, base: float = 2.0, normalize: bool = False,
                  options: Options) -> DiversityResult:
    r"""Shannon entropy of the pooled n-gram distribution of a set.

    .. math::

        H_n(S) = -\sum_g p_g \log_b p_g, \qquad p_g = c_g / C_n

    with :math:`c_g` the count of n-gram :math:`g` in the set and :math:`C_n`
    all n-gram occurrences (GEM-metrics style; in bits for ``base=2``).
    ``normalize=True`` divides by :math:`\log_b C_n`, the largest entropy
    :math:`C_n` occurrences can have (all distinct), giving a value in [0, 1].

    Higher is more diverse; range [0, log_b C_n]. Rises with the size of the
    set and the length of completions (more occurrences allow more types).

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    n : int, default 1
    base : float, default 2
        Logarithm base (2: bits, e: nats); recorded as ``base:``.
    normalize : bool, default False
        Recorded as ``norm:``.
    <<SHARED>>

    Returns
    -------
    DiversityResult

    References
    ----------
    C. E. Shannon. A Mathematical Theory of Communication. 1948. As a
    generation-diversity metric: S. Gehrmann et al., The GEM Benchmark, 2021
    (arXiv:2102.01672); Y. Zhang et al., Generating Informative and Diverse
    Conversational Responses via Adversarial Information Maximization, 2018
    (arXiv:1809.05972).

    Examples
    --------
    >>> ngram_entropy(["a b", "a c"], n=1).value  # p = (1/2, 1/4, 1/4)
    1.5
    """
    return _one(NgramEntropy(n, base=base, normalize=normalize), samples, options)
