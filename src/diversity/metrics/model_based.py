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

__all__ = ["TokenEntropy", "token_entropy", "BranchingFactor", "branching_factor", "topk_entropy_bits",
           "full_entropy_bits"]


def topk_entropy_bits(logprobs: np.ndarray, top_k: int) -> np.ndarray:
    """Entropy in bits of each row's ``top_k`` largest log-probabilities, renormalised to sum to 1."""
    lp = np.sort(logprobs, axis=1)[:, ::-1][:, :top_k]
    m = lp.max(axis=1, keepdims=True)
    w = np.exp(lp - m)
    p = w / w.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=1)
    return np.maximum(h, 0.0)


def full_entropy_bits(logits: np.ndarray) -> np.ndarray:
    """Entropy in bits of softmax(logits) for each row (numerically stable)."""
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return np.maximum(-(np.exp(logp) * logp).sum(axis=1) / math.log(2), 0.0)


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


@register
class BranchingFactor(TokenEntropy):
    """Branching factor; see :func:`branching_factor`."""

    name, func = "branching-factor", "branching_factor"
    params = (Param("top_k", Optional(Int(1)), 5, "Candidates per position (renormalised); ``None``: the full "
                    "distribution (logits)."),
              Param("min_samples", Int(1), 4, "Positions reached by fewer generations of a prompt are left out."),
              Param("horizon", Optional(Int(1)), None, "Only the first ``horizon`` positions; ``None``: all."))
    references = ("yang2025branching", "mohammadi2024creativity")
    undefined_reason = "fewer than min_samples generations reach the first position"

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("cand", f"top{self.top_k}-renorm" if self.top_k else "full"), ("unit", "nats"),
                ("est", "chain-rule"), ("min", self.min_samples), ("horizon", self.horizon or "all")]

    def compute(self, corpus: Corpus) -> Computed:
        values, profiles, positions = [], [], []
        for g in range(corpus.n_groups):
            gens = corpus.group_rows(corpus.logprobs, g)
            h = [self._entropies(x, f"logprobs[{corpus.keys[g]!r}][{i}]") * math.log(2) for i, x in enumerate(gens)]
            mean_h = position_means(h, self.min_samples, self.horizon)
            values.append(float(math.exp(mean_h.mean())) if len(mean_h) else math.nan)
            profiles.append([float(math.exp(v)) for v in mean_h])
            positions.append(len(mean_h))
        return Computed(np.array(values), {"profile": profiles, "n_positions": positions})

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        profiles = [p for p in extras.get("profile", []) if p]
        depth = max((len(p) for p in profiles), default=0)
        profile, support = [], []
        for t in range(depth):
            at = [p[t] for p in profiles if len(p) > t]
            profile.append(float(np.mean(at)))
            support.append(len(at))
        return {"profile": profile, "profile_prompts": support,
                "n_positions": int(sum(extras.get("n_positions", [])))}


def position_means(entropies: list[np.ndarray], min_samples: int, horizon: int | None) -> np.ndarray:
    r"""Mean entropy at each position over the generations that reach it:
    :math:`\bar h_t = \frac{1}{n_t}\sum_{i:\,L_i \ge t} h^{(i)}_t`, for the positions
    t = 1..T with :math:`n_t \ge` ``min_samples`` (n_t never grows with t, so
    these are a prefix), cut at ``horizon``."""
    lengths = np.array([len(h) for h in entropies], dtype=np.int64)
    depth = int(lengths.max()) if len(lengths) else 0
    if horizon is not None:
        depth = min(depth, horizon)
    if depth == 0:
        return np.empty(0)
    reach = (lengths[None, :] > np.arange(depth)[:, None]).sum(axis=1)  # n_t for t = 1..depth
    depth = int(np.searchsorted(-reach, -min_samples, side="right"))  # positions with n_t >= min_samples
    if depth == 0:
        return np.empty(0)
    sums = np.zeros(depth)
    for h in entropies:
        m = min(len(h), depth)
        sums[:m] += h[:m]
    return sums / reach[:depth]


@with_options("aggregate", "ci")
def branching_factor(logprobs: Any = None, *, logits: Any = None, top_k: int = 5, min_samples: int = 4,
                     horizon: int | None = None, options: Options) -> DiversityResult:
    r"""Branching factor: the effective number of plausible next tokens along a
    generation (arXiv 2506.17871).

    For a prompt x with sampled generations i = 1..M of lengths :math:`L_i`,
    let :math:`h^{(i)}_t` be the entropy in nats of generation i's next-token
    distribution at position t (the ``top_k`` largest log-probabilities
    renormalised, or the softmax of full ``logits``), and
    :math:`\bar h_t = \frac{1}{n_t}\sum_{i:\,L_i\ge t} h^{(i)}_t` its mean over
    the :math:`n_t` generations that reach position t. With T the last position
    such that :math:`n_t \ge` ``min_samples`` (and :math:`T \le` ``horizon``),

    .. math:: \mathrm{BF}(x) = \exp\Big(\frac{1}{T}\sum_{t=1}^{T} \bar h_t\Big).

    :math:`\frac{1}{T}\sum_t \bar h_t` is the chain-rule (Monte Carlo)
    estimate of the output's entropy per token, :math:`H(Y_{1:T}\mid x)/T`:
    BF is the size of a uniform choice with the same entropy per step. It
    lies between 1 (deterministic) and ``top_k`` (or the vocabulary size).
    ``.value`` averages BF(x) over prompts, as the paper does.
    ``details["profile"]`` is the position profile: at each t the mean over
    prompts of :math:`\exp(\bar h_t)` (``details["profile_prompts"]``: how
    many prompts reach t); alignment narrows the first positions most.

    The authors' code switches, past 50 positions, to the per-token negative
    log-likelihood of the sampled tokens (equal in expectation by the
    asymptotic equipartition property); that estimator needs the sampled
    token's log-probability, which a top-k list does not carry, so this
    function uses the chain-rule estimate at every length (their
    ``entropy_only`` mode). Their code likewise drops positions reached by 3
    or fewer samples (``min_samples=4``). BF falls with position, so compare
    models at a common ``horizon`` when their lengths differ.

    Higher is more diverse.

    Parameters
    ----------
    logprobs : generations, or mapping/sequence of them per prompt
        As for :func:`token_entropy`: per generation a sequence of positions,
        per position at least ``top_k`` log-probabilities (or a
        ``{token: logprob}`` dict).
    logits : same structure with full-vocabulary logits per position
        Instead of ``logprobs``.
    top_k : int, default 5
    min_samples : int, default 4
        Positions reached by fewer generations of a prompt are left out; a
        prompt with fewer generations has no value (NaN, with a warning).
    horizon : int or None, default None
        Use only the first ``horizon`` positions.
    <<SHARED>>

    Returns
    -------
    DiversityResult

    References
    ----------
    C. Yang and A. Holtzman. How Alignment Shrinks the Generative Horizon.
    2025. arXiv:2506.17871.

    B. Mohammadi. Creativity Has Left the Chat: The Price of Debiasing
    Language Models. 2024. arXiv:2406.05587 (its experiment 3, next-token
    entropy of base vs aligned models).

    Examples
    --------
    >>> import math
    >>> coin = [math.log(0.5), math.log(0.5)]         # two equal candidates: 1 bit
    >>> sure = [0.0, -1e9]                            # one certain candidate
    >>> gen = [coin, sure]                            # BF = exp((ln 2 + 0) / 2) = sqrt(2)
    >>> round(branching_factor([gen] * 4, top_k=2).value, 6)
    1.414214
    """
    if (logprobs is None) == (logits is None):
        raise InvalidParameterError("branching_factor needs exactly one of logprobs= or logits=.")
    metric = BranchingFactor(top_k if logprobs is not None else None, min_samples, horizon)
    return evaluate([metric], options, logprobs=logprobs if logprobs is not None else logits)[0]
