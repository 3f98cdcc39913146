"""Self-repetition (Salkar et al. 2022, as in Shaib et al.'s ``diversity``
package): how many of a completion's n-grams recur in the other completions
of its set, on a log scale."""

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
from ..text.ngrams import ngram_codes, select_keys

__all__ = ["SelfRepetition", "self_repetition", "self_repetition_per_text"]


def self_repetition_per_text(corpus: Corpus, n: int) -> np.ndarray:
    """Per completion: ln(1 + sum over its distinct n-grams g of (d_g - 1)), d_g the number of
    completions of the same set that contain g (0 for a completion with fewer than n tokens)."""
    tt = corpus.tokens
    n_texts = len(tt.lengths)
    codes, mask = ngram_codes(tt, n)
    owners = select_keys(corpus.token_keys("text"), mask)
    out = np.zeros(n_texts)
    if not len(codes):
        return out
    # distinct (completion, n-gram) pairs, then the number of completions of the set holding each n-gram
    pairs = np.unique(np.stack([owners, codes], axis=1), axis=0)
    text, code = pairs[:, 0], pairs[:, 1]
    group = corpus.group_of_item[text]
    _, inverse, doc_freq = np.unique(np.stack([group, code], axis=1), axis=0, return_inverse=True,
                                     return_counts=True)
    others = doc_freq[inverse.ravel()] - 1
    out += np.bincount(text, weights=others.astype(np.float64), minlength=n_texts)
    return np.log1p(out)


@register
class SelfRepetition(Metric):
    """Self-repetition (Salkar et al. 2022); see :func:`self_repetition`."""

    name, func = "self-repetition-{n}", "self_repetition"
    params = (Param("n", Int(1), 4, "N-gram order.", in_name=True),)
    uses_tokens = True
    per_completion = True
    higher_is_more_diverse = False
    references = ("salkar2022self", "shaib2024standardizing")
    length_sensitive = True  # more n-grams per completion, more chances to recur elsewhere
    undefined_reason = "the set has no completion"

    def compute(self, corpus: Corpus) -> Computed:
        per_text = corpus.memo(("self-repetition", self.n), lambda: self_repetition_per_text(corpus, self.n))
        per_group = [per_text[corpus.group_slice(g)] for g in range(corpus.n_groups)]
        values = np.array([p.mean() if len(p) else np.nan for p in per_group])
        return Computed(values, {"per_completion": per_group})

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        parts = extras.get("per_completion", [])
        return {"per_completion": tuple(float(x) for p in parts for x in p)}


@with_options("text", "aggregate", "ci")
def self_repetition(samples: Any, n: int = 4, *, options: Options) -> DiversityResult:
    r"""Self-repetition: how much of each completion's n-grams recur in the other completions.

    .. math::

        \mathrm{SR}_n(S) = \frac{1}{|S|} \sum_{s \in S}
            \ln\Big(1 + \sum_{g \in G_n(s)} \big(d_g - 1\big)\Big)

    with :math:`G_n(s)` the set of distinct n-grams of completion :math:`s`
    and :math:`d_g` the number of completions of :math:`S` that contain
    :math:`g` (so :math:`d_g - 1` counts the *other* completions holding it).
    A completion with fewer than n tokens contributes :math:`\ln 1 = 0`.
    This is ``self_repetition_score(texts, n)`` of Shaib et al.'s
    ``diversity`` package (PyPI ``diversity`` 0.3) with its whitespace
    tokenization (``tokenizer="whitespace"``; tests match it to 1e-12);
    here the tokenizer is the named one.

    Lower is more diverse; range [0, ln(1 + (|S| - 1) · max_s |G_n(s)|)],
    natural logarithm. Grows with |S| (more other completions to repeat) and
    with completion length (more n-grams each): compare at equal k and
    similar lengths.

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    n : int, default 4
        N-gram order (in the name: ``self-repetition-4``).
    <<SHARED>>

    Returns
    -------
    DiversityResult
        ``details["per_completion"]`` holds each completion's
        :math:`\ln(1 + \cdot)` term.

    References
    ----------
    N. Salkar, T. Trikalinos, B. C. Wallace, A. Nenkova. Self-Repetition in
    Abstractive Neural Summarizers. AACL-IJCNLP 2022. arXiv:2210.08145.
    C. Shaib, J. Barrow, J. Sun, A. F. Siu, B. C. Wallace, A. Nenkova.
    Standardizing the Measurement of Text Diversity: A Tool and a Comparative
    Analysis of Scores. 2024. arXiv:2403.00553.

    Examples
    --------
    >>> r = self_repetition(["a b c", "a b d", "x y z"], n=2)
    >>> [round(x, 4) for x in r.details["per_completion"]]  # "a b" is shared by the first two
    [0.6931, 0.6931, 0.0]
    >>> round(r.value, 4)
    0.4621
    """
    return evaluate([SelfRepetition(n)], options, samples=samples)[0]
