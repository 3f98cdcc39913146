"""Lexical (syntactic) diversity: distinct-n, EAD, n-gram entropy, unique
fraction, compression ratio.

Every function takes one set of completions (a sequence of strings) or
completions grouped by prompt (a mapping ``prompt -> strings`` or a sequence
of sequences) and returns a :class:`~diversity.DiversityResult`. Grouped input
is aggregated ``"per-prompt"`` (mean of within-prompt values, with a
bootstrap CI over prompts; the default) or ``"pooled"`` (all completions as
one set: across-input diversity in the sense of Kirk et al. 2024).

All token-level metrics share one definition of an n-gram: ``n`` consecutive
tokens of one completion (n-grams never cross from one completion into the
next), tokens from the named tokenizer (default ``unicode``), case kept
unless ``lowercase=True``. Each result's ``details`` carries the length
statistics (mean and std tokens per completion), because length drives these
numbers: distinct-n falls and entropy rises as completions get longer.
"""

from __future__ import annotations

import gzip
import math
import re
from typing import Any, Literal, Sequence, Union

import numpy as np

from ._engine import Corpus, Metric, evaluate, make_options
from ._result import DiversityResult
from ._errors import InvalidParameterError
from ._validate import fill_doc, check_bool, check_choice, check_int, check_real
from .tokenize import Tokenizer

__all__ = [
    "Distinct", "EAD", "NgramEntropy", "UniqueFraction", "CompressionRatio",
    "distinct_n", "ead", "ngram_entropy", "unique_fraction", "compression_ratio",
]


class Distinct(Metric):
    """distinct-n (Li et al. 2016); see :func:`distinct_n`."""

    higher_is_more_diverse = True

    def __init__(self, n: int = 2, *, variant: Literal["set", "per-completion"] = "set") -> None:
        self.n = check_int(n, "n", "distinct_n")
        self.variant = check_choice(variant, "variant", "distinct_n", ("set", "per-completion"))
        self.name = f"distinct-{self.n}"
        self.key = self.name if self.variant == "set" else f"{self.name}[per-completion]"
        self.undefined_reason = f"no completion has {self.n} or more tokens, so there is no {self.n}-gram"

    def fields(self, corpus: Corpus):
        return [("var", self.variant)]

    def group_values(self, corpus: Corpus) -> np.ndarray:
        if self.variant == "set":
            t = corpus.totals(self.n, "group")
            return _ratio(t.unique, t.total)
        t = corpus.totals(self.n, "text")
        return corpus.group_mean(_ratio(t.unique, t.total))


class EAD(Metric):
    """Expectation-adjusted distinct-n (Liu et al. 2022); see :func:`ead`."""

    higher_is_more_diverse = True

    def __init__(self, n: int = 2, *, vocab_size: int | None = None) -> None:
        self.n = check_int(n, "n", "ead")
        self.vocab_size = None if vocab_size is None else check_int(vocab_size, "vocab_size", "ead", low=2)
        self.name = self.key = f"ead-{self.n}"
        self.undefined_reason = f"no completion has {self.n} or more tokens, so there is no {self.n}-gram"

    def _vocab(self, corpus: Corpus) -> int:
        v = self.vocab_size if self.vocab_size is not None else corpus.tokenizer.vocab_size
        if v is None:
            raise InvalidParameterError(
                f"ead needs vocab_size: the tokenizer {corpus.tokenizer.spec!r} has no fixed vocabulary. "
                "Pass vocab_size= (for example the vocabulary size of the model that generated the text) "
                "or use an 'hf:<path>' tokenizer."
            )
        return v

    def fields(self, corpus: Corpus):
        return [("V", self._vocab(corpus))]

    def group_values(self, corpus: Corpus) -> np.ndarray:
        v = self._vocab(corpus)
        t = corpus.totals(self.n, "group")
        c = t.total.astype(np.float64)
        # V * (1 - ((V-1)/V)**C), written with expm1/log1p so it stays exact for large V
        expected = -v * np.expm1(c * math.log1p(-1.0 / v))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(t.total > 0, t.unique / np.where(expected > 0, expected, 1.0), np.nan)


class NgramEntropy(Metric):
    """Shannon entropy of the n-gram distribution; see :func:`ngram_entropy`."""

    higher_is_more_diverse = True

    def __init__(self, n: int = 1, *, base: float = 2.0, normalize: bool = False) -> None:
        self.n = check_int(n, "n", "ngram_entropy")
        self.base = check_real(base, "base", "ngram_entropy", low=0.0, low_open=True)
        if self.base == 1.0 or math.isinf(self.base):
            raise InvalidParameterError(
                f"The 'base' parameter of ngram_entropy must be a float in (0, inf) other than 1. Got {base!r} instead.")
        self.normalize = check_bool(normalize, "normalize", "ngram_entropy")
        self.name = f"ngram-entropy-{self.n}"
        self.key = self.name if not normalize else f"{self.name}[normalized]"
        self.undefined_reason = (f"fewer than 2 {self.n}-grams, so the maximum entropy is 0" if normalize
                                 else f"no completion has {self.n} or more tokens, so there is no {self.n}-gram")

    def fields(self, corpus: Corpus):
        base = "e" if self.base == math.e else f"{self.base:g}"
        return [("base", base), ("norm", self.normalize)]

    def group_values(self, corpus: Corpus) -> np.ndarray:
        t = corpus.totals(self.n, "group")
        h = t.entropy(self.base)
        if not self.normalize:
            return h
        with np.errstate(invalid="ignore", divide="ignore"):
            hmax = np.log(t.total.astype(np.float64)) / math.log(self.base)
            return np.where(t.total >= 2, h / np.where(hmax > 0, hmax, 1.0), np.nan)


_WS = re.compile(r"\s+")
_NORMALIZERS = {
    "exact": lambda s: s,
    "whitespace": lambda s: _WS.sub(" ", s).strip(),
    "casefold-whitespace": lambda s: _WS.sub(" ", s).strip().casefold(),
}


class UniqueFraction(Metric):
    """Fraction of distinct completions; see :func:`unique_fraction`."""

    name = key = "unique-fraction"
    higher_is_more_diverse = True
    uses_tokens = False

    def __init__(self, *, normalize: Literal["exact", "whitespace", "casefold-whitespace"] = "whitespace") -> None:
        self.normalize = check_choice(normalize, "normalize", "unique_fraction", tuple(_NORMALIZERS))

    def fields(self, corpus: Corpus):
        return [("norm", self.normalize)]

    def group_values(self, corpus: Corpus) -> np.ndarray:
        f = _NORMALIZERS[self.normalize]
        return np.array([len({f(t) for t in s}) / len(s) for s in corpus.sets])


class CompressionRatio(Metric):
    """gzip compression ratio; see :func:`compression_ratio`."""

    name = key = "compression-ratio"
    higher_is_more_diverse = False
    uses_tokens = False
    undefined_reason = "every completion is empty"

    def __init__(self, *, level: int = 9, order: Literal["sorted", "given"] = "sorted") -> None:
        self.level = check_int(level, "level", "compression_ratio", low=1)
        if self.level > 9:
            raise InvalidParameterError(
                f"The 'level' parameter of compression_ratio must be an int in the range [1, 9]. Got {level!r} instead.")
        self.order = check_choice(order, "order", "compression_ratio", ("sorted", "given"))

    def fields(self, corpus: Corpus):
        return [("comp", f"gzip-{self.level}"), ("join", "space" if self.order == "given" else "space-sorted")]

    def group_values(self, corpus: Corpus) -> np.ndarray:
        return np.array([_compression_ratio(sorted(s) if self.order == "sorted" else s, self.level)
                         for s in corpus.sets])


def _compression_ratio(texts: Sequence[str], level: int) -> float:
    if not any(texts):
        return math.nan
    raw = " ".join(texts).encode("utf-8")
    # compressed once; mtime=0 and no file name make the output byte-for-byte reproducible
    return len(raw) / len(gzip.compress(raw, compresslevel=level, mtime=0))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


_COMMON_DOC = """
    tokenizer : str or Tokenizer, default "unicode"
        Tokenizer name (see :mod:`diversity.tokenize`), recorded as ``tok:``.
    lowercase : bool, default False
        Lowercase before tokenizing; recorded as ``lc:``.
    aggregate : {"per-prompt", "pooled"} or None
        For grouped samples: mean of per-prompt values (default) or one pooled
        set. Ignored for a single set (``agg:none``).
    ci : bool or None
        Bootstrap CI over prompts. Default: on for per-prompt aggregation over
        2+ prompts, off otherwise. A CI for a single or pooled set is an error.
    ci_level, n_resamples, ci_method, seed
        Confidence level, bootstrap resamples, scipy method
        (``"percentile"``, ``"BCa"``, ``"basic"``) and RNG seed.
"""


def _run(metric: Metric, samples: Any, func: str, tokenizer, lowercase, aggregate, ci, ci_level,
         n_resamples, ci_method, seed) -> DiversityResult:
    opts = make_options(func, tokenizer=tokenizer, lowercase=lowercase, aggregate=aggregate, ci=ci,
                        ci_level=ci_level, n_resamples=n_resamples, ci_method=ci_method, seed=seed)
    return evaluate([metric], samples, opts, func)[0]


@fill_doc(_COMMON_DOC)
def distinct_n(samples: Any, n: int = 2, *, variant: Literal["set", "per-completion"] = "set",
               tokenizer: Union[str, Tokenizer] = "unicode", lowercase: bool = False,
               aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
               ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
               seed: int = 0) -> DiversityResult:
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
    <<COMMON>>
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
    'distinct-2|var:set|tok:unicode-v2|lc:no|agg:none|k:2|v:0.2.0'
    """
    return _run(Distinct(n, variant=variant), samples, "distinct_n", tokenizer, lowercase, aggregate, ci,
                ci_level, n_resamples, ci_method, seed)


@fill_doc(_COMMON_DOC)
def ead(samples: Any, n: int = 2, *, vocab_size: int | None = None,
        tokenizer: Union[str, Tokenizer] = "unicode", lowercase: bool = False,
        aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
        ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
        seed: int = 0) -> DiversityResult:
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
    <<COMMON>>
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
    return _run(EAD(n, vocab_size=vocab_size), samples, "ead", tokenizer, lowercase, aggregate, ci,
                ci_level, n_resamples, ci_method, seed)


@fill_doc(_COMMON_DOC)
def ngram_entropy(samples: Any, n: int = 1, *, base: float = 2.0, normalize: bool = False,
                  tokenizer: Union[str, Tokenizer] = "unicode", lowercase: bool = False,
                  aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
                  ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
                  seed: int = 0) -> DiversityResult:
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
    <<COMMON>>
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
    return _run(NgramEntropy(n, base=base, normalize=normalize), samples, "ngram_entropy", tokenizer,
                lowercase, aggregate, ci, ci_level, n_resamples, ci_method, seed)


def unique_fraction(samples: Any, *, normalize: Literal["exact", "whitespace", "casefold-whitespace"] = "whitespace",
                    aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
                    ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
                    seed: int = 0) -> DiversityResult:
    r"""Fraction of distinct completions in a set.

    .. math::

        \mathrm{UF}(S) = |\{\nu(s) : s \in S\}| \,/\, |S|

    where :math:`\nu` normalises a text: ``"exact"`` (identity),
    ``"whitespace"`` (runs of whitespace become one space, ends stripped;
    default) or ``"casefold-whitespace"`` (also Unicode case folding).
    Exact duplicates are the first thing an aligned model produces.

    Higher is more diverse; range [1/|S|, 1]. Defined for every non-empty set.

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    normalize : {"exact", "whitespace", "casefold-whitespace"}
        Recorded as ``norm:``.
    aggregate, ci, ci_level, n_resamples, ci_method, seed
        As in :func:`distinct_n`.

    Returns
    -------
    DiversityResult

    References
    ----------
    The share of unique generations is used as "distinct outputs" e.g. in
    Y. Zhang et al., NoveltyBench, 2025 (arXiv:2504.05228), with a semantic
    rather than string equivalence.

    Examples
    --------
    >>> unique_fraction(["Yes.", "yes.", "Yes. ", "No."]).value
    0.75
    """
    metric = UniqueFraction(normalize=normalize)
    return _run(metric, samples, "unique_fraction", "unicode", False, aggregate, ci, ci_level,
                n_resamples, ci_method, seed)


def compression_ratio(samples: Any, *, level: int = 9, order: Literal["sorted", "given"] = "sorted",
                      aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
                      ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
                      seed: int = 0) -> DiversityResult:
    r"""gzip compression ratio of the joined completions.

    .. math::

        \mathrm{CR}(S) = \frac{|b|}{|\mathrm{gzip}(b)|}, \qquad
        b = \mathrm{utf8}(s_1 \,\text{" "}\, s_2 \,\text{" "} \cdots s_N)

    The completions are put in a canonical order (sorted by code point, so the
    value does not depend on the order in which they are listed;
    ``order="given"`` keeps the input order, as Shaib et al.'s reference
    package does), joined with single spaces (as that package does), encoded
    as UTF-8 and compressed **once** with gzip at
    ``level`` (RFC 1952 container: 18 bytes of header and trailer, no file
    name, mtime 0). The ``diversity`` PyPI package compresses the
    already-compressed bytes a second time, which lowers the ratio (a test in
    our suite shows the difference).

    Lower is more diverse (higher = more repetitive); range roughly (0, ∞).
    Short sets score low because the fixed 18-byte container dominates; the
    ratio grows with set size even at constant diversity, so compare at equal
    k and length.

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    level : int, default 9
        gzip level (1-9); recorded as ``comp:gzip-<level>``.
    order : {"sorted", "given"}, default "sorted"
        Join order; recorded as ``join:space-sorted`` or ``join:space``.
    aggregate, ci, ci_level, n_resamples, ci_method, seed
        As in :func:`distinct_n`.

    Returns
    -------
    DiversityResult
        NaN (with a warning) when every completion is empty or whitespace
        (such completions are left out of the join).

    References
    ----------
    C. Shaib, J. Barrow, J. Sun, A. F. Siu, B. C. Wallace, A. Nenkova.
    Standardizing the Measurement of Text Diversity: A Tool and a Comparative
    Analysis of Scores. 2024. arXiv:2403.00553.

    Examples
    --------
    >>> round(compression_ratio(["to be or not to be"] * 20).value, 3)
    9.244
    """
    metric = CompressionRatio(level=level, order=order)
    return _run(metric, samples, "compression_ratio", "unicode", False, aggregate, ci, ci_level,
                n_resamples, ci_method, seed)
