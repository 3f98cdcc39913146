"""Next-token entropy and branching factor: how spread the model's
next-token distribution is while it generates (arXiv 2406.05587's "average
LLM entropy"; arXiv 2506.17871's branching factor).

Input is what generation APIs return: for each generated position, the
log-probabilities of the top candidates (transformers ``output_scores``,
OpenAI-compatible ``logprobs.top_logprobs``), or full logits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.corpus import Corpus
from ..core.errors import InvalidParameterError
from ..core.evaluate import evaluate
from ..core.metric import Computed, Metric
from ..core.options import Options, with_options
from ..core.params import Int, Optional, Param
from ..core.registry import register
from ..core.result import DiversityResult

__all__ = ["TokenEntropy", "token_entropy", "BranchingFactor", "branching_factor", "TopKBranchingFactor",
           "topk_branching_factor", "topk_entropy_bits", "full_entropy_bits", "AUTHORS_NLL_AFTER", "AUTHORS_QUANTILE"]  # the branching factor lives in .branching and is re-exported here


def topk_entropy_bits(logprobs: np.ndarray, top_k: int) -> np.ndarray:
    """Entropy in bits of each row's ``top_k`` largest log-probabilities, renormalised to sum to 1."""
    lp = np.sort(logprobs, axis=1)[:, ::-1][:, :top_k]
    m = lp.max(axis=1, keepdims=True)
    if len(m) and not np.isfinite(m).all():
        raise ValueError(f"logprobs: a position has all of its top {top_k} log-probabilities -inf.")
    w = np.exp(lp - m)
    p = w / w.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0).sum(axis=1)
    return np.maximum(h, 0.0)


def full_entropy_bits(logits: np.ndarray) -> np.ndarray:
    """Entropy in bits of softmax(logits) for each row (numerically stable).

    ``-inf`` logits (tokens a logits processor filtered out, as in Hugging
    Face's processed scores) have probability 0 and add nothing; a row whose
    logits are all ``-inf`` is an error."""
    m = logits.max(axis=1, keepdims=True)
    if len(m) and not np.isfinite(m).all():
        raise ValueError("logits: a position has every logit -inf (no token can be sampled there).")
    z = logits - m
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        plogp = np.where(np.isfinite(logp), np.exp(logp) * logp, 0.0)
    return np.maximum(-plogp.sum(axis=1) / math.log(2), 0.0)


@register
class TokenEntropy(Metric):
    """Average next-token entropy; see :func:`token_entropy`."""

    name, func = "token-entropy", "token_entropy"
    params = (Param("top_k", Optional(Int(1)), 5, "Candidates per position (renormalised); ``None``: the full "
                    "distribution (logits)."),)
    input = "logprobs"
    references = ("mohammadi2024creativity",)
    undefined_reason = "no generated position"

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("cand", f"top{self.top_k}-renorm" if self.top_k else "full"), ("unit", "bits"),
                ("avg", "positions")]

    def _entropies(self, gen: np.ndarray, where: str) -> np.ndarray:
        if self.top_k is None:
            return full_entropy_bits(gen)
        if gen.shape[0] and gen.shape[1] < self.top_k:
            raise ValueError(f"{where} has {gen.shape[1]} candidates at some position, fewer than "
                             f"top_k={self.top_k}; request at least top_k log-probabilities per position.")
        return topk_entropy_bits(gen, self.top_k) if gen.shape[0] else np.empty(0)

    def compute(self, corpus: Corpus) -> Computed:
        values, positions = [], []
        for g in range(corpus.n_groups):
            gens = corpus.group_rows(corpus.logprobs, g)
            h = [self._entropies(x, f"logprobs[{corpus.keys[g]!r}][{i}]") for i, x in enumerate(gens)]
            h = np.concatenate(h) if h else np.empty(0)
            values.append(float(h.mean()) if len(h) else math.nan)
            positions.append(len(h))
        return Computed(np.array(values), {"n_positions": positions})

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        return {"n_positions": int(sum(extras.get("n_positions", []))),
                "max_bits": math.log2(self.top_k) if self.top_k else None}


@with_options("aggregate", "ci")
def token_entropy(logprobs: Any = None, *, logits: Any = None, top_k: int = 5, options: Options) -> DiversityResult:
    r"""Average next-token entropy over generated positions, in bits.

    With ``logprobs``: at each position the ``top_k`` largest
    log-probabilities are renormalised, :math:`p_i = e^{\ell_i}/\sum_{j \le k}
    e^{\ell_j}`, and :math:`H = -\sum_i p_i \log_2 p_i` (at most
    :math:`\log_2 k`, 2.32 bits for k = 5), as in arXiv 2406.05587. With
    ``logits`` (full vocabulary): the exact entropy of the softmax.
    ``.value`` is the mean over all generated positions of the set (of each
    prompt, then the mean over prompts).

    Higher is more diverse (a less peaked next-token distribution).

    Parameters
    ----------
    logprobs : generations, or mapping/sequence of them per prompt
        A generation is a sequence of positions; a position is a sequence of
        log-probabilities (or a ``{token: logprob}`` dict, as OpenAI-compatible
        endpoints return) with at least ``top_k`` entries.
    logits : same structure with full-vocabulary logits per position
        Instead of ``logprobs``.
    top_k : int, default 5
    <<SHARED>>

    Returns
    -------
    DiversityResult

    References
    ----------
    B. Mohammadi. Creativity Has Left the Chat: The Price of Debiasing
    Language Models. 2024. arXiv:2406.05587.

    Examples
    --------
    >>> import math
    >>> gen = [[math.log(0.5), math.log(0.5), -1e9, -1e9, -1e9]]  # one position, two equal candidates
    >>> token_entropy([gen]).value
    1.0
    """
    if (logprobs is None) == (logits is None):
        raise InvalidParameterError("token_entropy needs exactly one of logprobs= or logits=.")
    metric = TokenEntropy(top_k if logprobs is not None else None)
    return evaluate([metric], options, logprobs=logprobs if logprobs is not None else logits)[0]


from .branching import (AUTHORS_NLL_AFTER, AUTHORS_QUANTILE, BranchingFactor, TopKBranchingFactor,  # noqa: E402
                        branching_factor, topk_branching_factor)
