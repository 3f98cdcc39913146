"""Homogenization by embedding similarity: Padmakumar & He's mean pairwise
similarity with the cosine similarity of sentence embeddings in place of
BERTScore (whose model cannot be installed offline)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.corpus import Corpus
from ..core.evaluate import evaluate
from ..core.metric import Computed
from ..core.options import Options, with_options
from ..core.registry import register
from ..core.result import DiversityResult
from .semantic import VectorMetric

__all__ = ["EmbeddingHomogenization", "embedding_homogenization"]


@register
class EmbeddingHomogenization(VectorMetric):
    """Mean pairwise cosine similarity of embeddings; see :func:`embedding_homogenization`."""

    name, func = "embedding-homogenization", "embedding_homogenization"
    higher_is_more_diverse = False
    references = ("padmakumar2024homogenization", "reimers2019sentence")
    undefined_reason = "a prompt needs at least 2 completions to form a pair"

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("sim", "cosine")]

    def compute(self, corpus: Corpus) -> Computed:
        k = corpus.sizes.astype(np.float64)
        s = np.add.reduceat(corpus.unit_embeddings, corpus.offsets[:-1], axis=0) if corpus.n_items else \
            np.zeros((corpus.n_groups, 1))
        sq = np.einsum("ij,ij->i", s, s)
        with np.errstate(invalid="ignore", divide="ignore"):
            # mean over pairs i != j of u_i . u_j = (|sum u|^2 - k) / (k (k - 1))
            return Computed(np.where(k >= 2, (sq - k) / (k * (k - 1)), np.nan))


@with_options("aggregate", "ci")
def embedding_homogenization(samples: Any = None, *, embeddings: Any = None, embedder: Any = None,
                             options: Options) -> DiversityResult:
    r"""Homogenization by embedding similarity: the mean pairwise cosine similarity of a set.

    .. math::

        \mathrm{Hom}_{\mathrm{emb}}(S) = \binom{k}{2}^{-1} \sum_{i < j} \cos(x_i, x_j)
            = \frac{\lVert \sum_i u_i \rVert^2 - k}{k(k-1)}

    with :math:`x_i` the embedding of completion i and :math:`u_i` its unit
    vector (computed in O(k d)). Padmakumar & He (2023) define homogenization
    as the mean pairwise similarity of a set and use ROUGE-L, BLEU (see
    :func:`~diversity.homogenization`) and BERTScore. BERTScore needs
    ``roberta-large`` from the Hugging Face hub, which no package on PyPI
    ships, so this is the embedding-similarity form, named as such: cosine
    similarity of sentence embeddings (all-MiniLM-L6-v2 by default, recorded
    as ``emb:``), not BERTScore's greedy token matching. It equals
    ``1 - mean_pairwise_distance(...)`` with cosine distance; it is offered
    under this name so that a homogenization table can report it beside the
    ROUGE-L and BLEU forms.

    Lower is more diverse; range [-1, 1] (in practice about [0, 1] for
    sentence embeddings, where unrelated texts already score 0.1-0.2: report
    the between-prompt floor, ``mean_pairwise_distance(...).details``, beside
    it). Not comparable across encoders.

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    <<EMBED>>
    <<SHARED>>

    Returns
    -------
    DiversityResult
        NaN (with a warning) for a prompt with one completion.

    References
    ----------
    V. Padmakumar, H. He. Does Writing with Language Models Reduce Content
    Diversity? ICLR 2024. arXiv:2309.05196. N. Reimers, I. Gurevych.
    Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks. EMNLP
    2019. arXiv:1908.10084.

    Examples
    --------
    >>> import numpy as np
    >>> embedding_homogenization(embeddings=np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])).value
    0.3333333333333333
    """
    return evaluate([EmbeddingHomogenization()], options, samples=samples, embeddings=embeddings,
                    embedder=embedder)[0]
