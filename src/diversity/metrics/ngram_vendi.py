"""The n-gram Vendi score (Friedman & Dieng 2023, as in the ``vendi-score``
package's ``ngram_vendi_score``): the Vendi score of the mean of the cosine
kernels of n-gram count vectors, orders 1 to ``max_n``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.corpus import Corpus
from ..core.data import memory_limit
from ..core.errors import MemoryLimitError
from ..core.evaluate import evaluate
from ..core.metric import Computed, Metric
from ..core.options import Options, with_options
from ..core.params import Int, Param, Real
from ..core.registry import register
from ..core.result import DiversityResult
from ..text.ngrams import ngram_codes, select_keys

__all__ = ["NgramVendi", "ngram_vendi_score", "ngram_kernels"]


class _Order(Real):  # q: a positive float, or "inf" in specs
    def parse(self, text: str) -> Any:
        return math.inf if text.lower() in ("inf", "infinity") else super().parse(text)


def ngram_kernels(corpus: Corpus, max_n: int) -> list[np.ndarray]:
    """Per group, the mean over n = 1..max_n of the cosine kernels of the completions' n-gram count
    vectors (a completion with fewer than n tokens has a zero vector, hence a 0 row for that order)."""
    from scipy import sparse

    k_max = int(corpus.sizes.max()) if corpus.n_groups else 0
    need = 3 * 8 * k_max * k_max  # the k x k kernel, one order's product and the eigen-decomposition's copy
    if need > memory_limit():
        raise MemoryLimitError(
            f"ngram_vendi_score builds a k x k kernel: a set of {k_max:,} completions needs about "
            f"{need / 2**30:.1f} GiB (limit {memory_limit() / 2**30:.1f} GiB, DIVERSITY_MEMORY_LIMIT); score the "
            "completions per prompt (aggregate='per-prompt-mean') or in smaller sets.")
    tt = corpus.tokens
    n_texts = len(tt.lengths)
    text_keys = corpus.token_keys("text")
    kernels = [np.zeros((k, k)) for k in corpus.sizes.tolist()]
    for n in range(1, max_n + 1):
        codes, mask = ngram_codes(tt, n)
        owners = select_keys(text_keys, mask)
        _, cols = np.unique(codes, return_inverse=True)
        x = sparse.csr_matrix((np.ones(len(codes)), (owners, cols.ravel())),
                              shape=(n_texts, int(cols.max()) + 1 if len(cols) else 1))
        x.sum_duplicates()
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        x = sparse.diags(np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 0.0)) @ x
        for g, kernel in enumerate(kernels):
            rows = x[corpus.group_slice(g)]
            kernel += (rows @ rows.T).toarray()
    return [k / max_n for k in kernels]


def _vendi_unnormalised(eigenvalues: np.ndarray, q: float) -> float:
    """exp of the order-q entropy of the eigenvalues of K/N *as they are* (not rescaled to sum to 1,
    exactly as ``vendi_score.vendi.score_K``): their sum is the mean diagonal of K, below 1 when a
    completion has no n-gram of some order."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if not len(lam) or lam.max() <= 0:
        return math.nan
    p = lam[lam > lam.max() * len(lam) * np.finfo(np.float64).eps]
    if q == 1:
        return float(np.exp(-(p * np.log(p)).sum()))
    if math.isinf(q):
        return float(1.0 / p.max())
    return float(np.exp(np.log((p**q).sum()) / (1.0 - q)))


@register
class NgramVendi(Metric):
    """The n-gram Vendi score; see :func:`ngram_vendi_score`."""

    name, func = "ngram-vendi", "ngram_vendi_score"
    params = (Param("max_n", Int(1), 4, "Highest n-gram order; the kernels of orders 1..max_n are averaged "
                    "(``ngrams:1-<max_n>``)."),
              Param("q", _Order(0.0, low_open=True), 1.0, "Order; ``math.inf`` (or ``'inf'``) for the "
                    "min-entropy limit; recorded as ``q:``."))
    uses_tokens = True
    references = ("friedman2023vendi",)
    length_sensitive = True  # longer completions share more n-grams with each other, at every order
    undefined_reason = "no completion has a token"

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("ngrams", f"1-{self.max_n}"), ("q", "inf" if math.isinf(self.q) else f"{self.q:g}")]

    def compute(self, corpus: Corpus) -> Computed:
        kernels = corpus.memo(("ngram-kernels", self.max_n), lambda: ngram_kernels(corpus, self.max_n))
        out = [_vendi_unnormalised(np.linalg.eigvalsh(K / len(K)), self.q) if len(K) else math.nan
               for K in kernels]
        return Computed(np.array(out, dtype=np.float64))


@with_options("text", "aggregate", "ci")
def ngram_vendi_score(samples: Any, *, max_n: int = 4, q: float = 1.0, options: Options) -> DiversityResult:
    r"""The n-gram Vendi score: the effective number of distinct completions by n-gram overlap.

    .. math::

        K = \frac{1}{N_{\max}} \sum_{n=1}^{N_{\max}} \hat X_n \hat X_n^\top, \qquad
        \mathrm{VS}_q(S) = \Big(\sum_i \lambda_i^q\Big)^{1/(1-q)}, \quad
        \mathrm{VS}_1(S) = \exp\Big(-\sum_i \lambda_i \ln \lambda_i\Big)

    with :math:`\hat X_n` the k x (distinct n-grams) matrix of n-gram counts
    of the k completions, each row scaled to unit length (a completion with
    fewer than n tokens keeps a zero row), and :math:`\lambda_i` the
    eigenvalues of :math:`K/k` (:math:`\mathrm{VS}_\infty = 1/\max_i \lambda_i`).
    This is ``vendi_score.text_utils.ngram_vendi_score(texts, ns=[1..max_n],
    tokenizer=...)`` of the ``vendi-score`` package (tests match it to 1e-9
    with the same tokenizer; that package's default tokenizer is nltk's
    ``word_tokenize``, ours the named ``tokenizer``). As there, the
    eigenvalues are not rescaled: when a completion has fewer than
    ``max_n`` tokens its diagonal entry is below 1, the eigenvalues sum to
    less than 1 and the value is no longer an exact effective number.

    Higher is more diverse; range [1, k] when every completion has at least
    ``max_n`` tokens (1: identical n-gram profiles; k: no n-gram shared).
    Grows with k and, at a fixed k, falls as completions get longer (long
    texts share more function-word n-grams): compare at equal k and length.

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    max_n : int, default 4
        Highest n-gram order (``ngrams:1-<max_n>``).
    q : float, default 1
        Order of the entropy (``q:``); ``math.inf`` for the min-entropy limit.
    <<SHARED>>

    Returns
    -------
    DiversityResult
        NaN (with a warning) for a set with no token.

    References
    ----------
    D. Friedman, A. B. Dieng. The Vendi Score: A Diversity Evaluation Metric
    for Machine Learning. TMLR 2023. arXiv:2210.02410.

    Examples
    --------
    >>> round(ngram_vendi_score(["a b c d", "a b c d", "w x y z"]).value, 4)  # two distinct profiles, 2:1
    1.8899
    """
    return evaluate([NgramVendi(max_n=max_n, q=q)], options, samples=samples)[0]
