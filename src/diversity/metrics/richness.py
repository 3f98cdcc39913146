"""Lexical richness of single completions, averaged over a set: the
moving-average type-token ratio (MATTR).

This module is the worked example of ``docs/architecture.md``: a new metric is
one class (what it reads, its parameters, how it computes a value per group)
registered with ``@register``, one thin public function, and a metric card.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.corpus import Corpus
from ..core.evaluate import evaluate
from ..core.metric import Computed, Metric
from ..core.options import Options, with_options
from ..core.params import Int, Param
from ..core.registry import register
from ..core.result import DiversityResult
from ..text.ngrams import TokenizedTexts

__all__ = ["MATTR", "mattr", "mattr_per_text"]


def mattr_per_text(tt: TokenizedTexts, window: int) -> np.ndarray:
    """MATTR of every text, vectorised over all texts at once (NaN for a text without tokens).

    A token at position i (previous occurrence of its type in the same text
    at p(i), or -1) is new in the windows that start in
    [max(p(i) + 1, i - w + 1, 0), min(i, L - w)], so the sum over windows of
    their type counts is a sum over tokens: no loop over windows.
    """
    L = tt.lengths
    n_texts = len(L)
    out = np.full(n_texts, np.nan)
    if len(tt.ids) == 0:
        return out
    text = np.repeat(np.arange(n_texts, dtype=np.int64), L)
    pos = np.arange(len(tt.ids), dtype=np.int64) - np.repeat(tt.offsets[:-1], L)
    order = np.lexsort((pos, tt.ids, text))  # by text, then type, then position
    same = np.zeros(len(order), dtype=bool)
    same[1:] = (text[order][1:] == text[order][:-1]) & (tt.ids[order][1:] == tt.ids[order][:-1])
    prev = np.full(len(order), -1, dtype=np.int64)
    prev[order[1:][same[1:]]] = pos[order[:-1][same[1:]]]
    Lt = L[text]
    long = Lt > window
    lo = np.maximum(np.maximum(prev + 1, pos - window + 1), 0)
    hi = np.minimum(pos, Lt - window)
    contrib = np.where(long, np.maximum(hi - lo + 1, 0), (prev < 0).astype(np.int64))
    sums = np.bincount(text, weights=contrib, minlength=n_texts)
    with np.errstate(invalid="ignore", divide="ignore"):
        windowed = sums / window / (L - window + 1)
        whole = sums / L  # texts no longer than the window: the type-token ratio of the text
    return np.where(L == 0, np.nan, np.where(L > window, windowed, whole))


@register
class MATTR(Metric):
    """Moving-average type-token ratio; see :func:`mattr`."""

    name, func = "mattr", "mattr"
    params = (Param("window", Int(1), 50, "Window length in tokens; recorded as ``win:``."),)
    uses_tokens = True
    references = ("covington2010cutting",)
    length_sensitive = True  # a text no longer than the window scores its type-token ratio, which falls with length

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("win", self.window)]

    def compute(self, corpus: Corpus) -> Computed:
        lengths = corpus.tokens.lengths
        within = np.bincount(corpus.group_of_item, weights=((lengths > 0) & (lengths <= self.window)),
                             minlength=corpus.n_groups)
        texts = np.bincount(corpus.group_of_item, weights=(lengths > 0), minlength=corpus.n_groups)
        return Computed(corpus.group_mean(mattr_per_text(corpus.tokens, self.window)),
                        {"n_within_window": within, "n_with_tokens": texts})

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        within = float(np.sum(extras.get("n_within_window", [])))
        total = float(np.sum(extras.get("n_with_tokens", [])))
        return {"share_within_window": within / total if total else float("nan")}

    def length_note(self, result: Any) -> str | None:
        share = (result.details or {}).get("share_within_window")
        if share is None or share != share:
            return None
        return (f"{share:.0%} of the completions are no longer than the {self.window}-token window, where MATTR is "
                "the type-token ratio (length-sensitive)")


@with_options("text", "aggregate", "ci")
def mattr(samples: Any, window: int = 50, *, options: Options) -> DiversityResult:
    r"""Moving-average type-token ratio (MATTR), averaged over the completions of a set.

    For a completion of :math:`L` tokens and a window of :math:`w` tokens,

    .. math::

        \mathrm{MATTR}_w(s) = \frac{1}{L - w + 1} \sum_{j=0}^{L-w} \frac{|\mathrm{types}(s_{j..j+w-1})|}{w}
        \quad (L > w), \qquad \mathrm{MATTR}_w(s) = \frac{|\mathrm{types}(s)|}{L} \quad (L \le w),

    the mean type-token ratio of every window of w consecutive tokens (the
    type-token ratio of the whole completion when it is no longer than the
    window, as the ``lexical-diversity`` package does). The value of a set is
    the mean over its completions. Computed for all completions at once in
    O(tokens log tokens), without a loop over windows.

    Unlike the type-token ratio and distinct-n, MATTR does not fall as
    completions get longer (for completions longer than the window): it is the
    standard length-robust measure of the lexical richness of one text
    (McCarthy & Jarvis 2010). It measures repetition *within* completions, not
    diversity *across* them: a model that writes the same rich answer every
    time scores high.

    Higher is more diverse; range (0, 1].

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    window : int, default 50
        Window length w in tokens; recorded as ``win:``.
    <<SHARED>>

    Returns
    -------
    DiversityResult

    References
    ----------
    M. A. Covington, J. D. McFall. Cutting the Gordian Knot: The
    Moving-Average Type-Token Ratio (MATTR). Journal of Quantitative
    Linguistics 17(2), 2010. P. M. McCarthy, S. Jarvis. MTLD, vocd-D, and
    HD-D: A validation study of sophisticated approaches to lexical diversity
    assessment. Behavior Research Methods 42(2), 2010.

    Examples
    --------
    >>> mattr(["a b a b", "a b c"], window=2).value  # windows: 1, 1, 1 -> 1; and 1, 1 -> 1
    1.0
    >>> round(mattr(["a a b a"], window=3).value, 4)  # windows a a b (2/3), a b a (2/3)
    0.6667
    """
    return evaluate([MATTR(window)], options, samples=samples)[0]
