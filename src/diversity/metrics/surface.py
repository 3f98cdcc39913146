"""Diversity of whole texts: the fraction of distinct completions and the gzip
compression ratio. Neither tokenizes."""

from __future__ import annotations

import gzip
import math
from typing import Any, Literal, Sequence

import numpy as np

from ..core.corpus import Corpus
from ..core.evaluate import evaluate
from ..core.metric import Computed, Metric
from ..core.options import Options, with_options
from ..core.params import Choice, Int, Param
from ..core.registry import register
from ..core.result import DiversityResult
from ..text.normalize import NORMALIZERS

__all__ = ["UniqueFraction", "CompressionRatio", "unique_fraction", "compression_ratio"]

_NORMALIZERS = NORMALIZERS


@register
class UniqueFraction(Metric):
    """Fraction of distinct completions; see :func:`unique_fraction`."""

    name, func = "unique-fraction", "unique_fraction"
    params = (Param("normalize", Choice(tuple(_NORMALIZERS)), "whitespace", "Recorded as ``norm:``."),)
    references = ("zhang2025noveltybench",)
    length_sensitive = True  # long answers rarely repeat verbatim

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("norm", self.normalize)]

    def compute(self, corpus: Corpus) -> Computed:
        return Computed(corpus.distinct_text_counts(self.normalize) / corpus.sizes)

    def statistics(self) -> tuple[str, ...]:
        return (f"distinct-texts-{self.normalize}",)


@register
class CompressionRatio(Metric):
    """gzip compression ratio; see :func:`compression_ratio`."""

    name, func = "compression-ratio", "compression_ratio"
    params = (Param("level", Int(1, 9), 9, "gzip level; recorded as ``comp:gzip-<level>``."),
              Param("order", Choice(("sorted", "given")), "sorted",
                    "Join order; recorded as ``join:space-sorted`` or ``join:space``."))
    higher_is_more_diverse = False
    releases_gil = True  # zlib works outside the GIL: computed in a second thread beside other metrics
    references = ("shaib2024standardizing",)
    length_sensitive = True  # gzip finds more repeats in more text
    order_dependent = property(lambda self: self.order == "given")  # type: ignore[assignment]
    undefined_reason = "every completion is empty"

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("comp", f"gzip-{self.level}"), ("join", "space" if self.order == "given" else "space-sorted")]

    def compute(self, corpus: Corpus) -> Computed:
        sets = (corpus.group_texts(g) for g in range(corpus.n_groups))
        return Computed(np.array([_compression_ratio(sorted(s) if self.order == "sorted" else s, self.level)
                                  for s in sets]))


def _compression_ratio(texts: Sequence[str], level: int) -> float:
    if not any(texts):
        return math.nan
    raw = " ".join(texts).encode("utf-8")
    # compressed once; mtime=0 and no file name make the output byte-for-byte reproducible
    return len(raw) / len(gzip.compress(raw, compresslevel=level, mtime=0))


@with_options("aggregate", "ci")
def unique_fraction(samples: Any, *,
                    normalize: Literal["exact", "whitespace", "casefold-whitespace"] = "whitespace",
                    options: Options) -> DiversityResult:
    r"""Fraction of distinct completions in a set.

    .. math::

        \mathrm{UF}(S) = |\{\nu(s) : s \in S\}| \,/\, |S|

    where :math:`\nu` normalises a text: ``"exact"`` (identity),
    ``"whitespace"`` (runs of whitespace become one space, ends stripped;
    default) or ``"casefold-whitespace"`` (also Unicode case folding).
    Exact duplicates are the first thing an aligned model produces.

    Completions that are empty or whitespace only are non-answers and are
    left out (they would otherwise count as one more distinct answer).

    Higher is more diverse; range [1/|S|, 1]. Undefined (NaN) for a set of
    empty completions.

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    normalize : {"exact", "whitespace", "casefold-whitespace"}
        Recorded as ``norm:``.
    <<SHARED>>

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
    return evaluate([UniqueFraction(normalize=normalize)], options, samples=samples)[0]


@with_options("aggregate", "ci")
def compression_ratio(samples: Any, *, level: int = 9, order: Literal["sorted", "given"] = "sorted",
                      options: Options) -> DiversityResult:
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
    <<SHARED>>

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
    return evaluate([CompressionRatio(level=level, order=order)], options, samples=samples)[0]
