"""Next-token entropy: how spread the model's next-token distribution is
while it generates (arXiv 2406.05587's "average LLM entropy").

Input is what generation APIs return: for each generated position, the
log-probabilities of the top candidates (transformers ``output_scores``,
OpenAI-compatible ``logprobs.top_logprobs``), or full logits.
"""

from __future__ import annotations

import math
from typing import Any, Literal, Mapping

import numpy as np

from ._errors import InvalidParameterError
from ._engine import Corpus, Metric, evaluate, make_options
from ._result import DiversityResult
from ._validate import Groups, check_int

__all__ = ["token_entropy", "topk_entropy_bits", "full_entropy_bits"]


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
    lse = np.log(np.exp(z).sum(axis=1, keepdims=True))
    logp = z - lse
    p = np.exp(logp)
    return np.maximum(-(p * logp).sum(axis=1) / math.log(2), 0.0)


def _positions(gen: Any, where: str, top_k: int | None) -> np.ndarray:
    """One generation -> (positions, candidates) float array."""
    if isinstance(gen, (str, bytes)) or not hasattr(gen, "__iter__"):
        raise TypeError(f"{where} must be a generation: a sequence of positions, each a sequence of "
                        f"log-probabilities; got {type(gen).__name__}.")
    rows = []
    for j, pos in enumerate(gen):
        if pos is None or isinstance(pos, (str, bytes)) or not (isinstance(pos, Mapping) or hasattr(pos, "__iter__")):
            raise TypeError(f"{where}[{j}] must be a sequence of log-probabilities (or a {{token: logprob}} "
                            f"mapping); got {type(pos).__name__}.")
        if isinstance(pos, Mapping):  # OpenAI style {token: logprob}
            vals = list(pos.values())
        else:
            vals = list(pos) if not isinstance(pos, np.ndarray) else pos.tolist()
        if any(v is None or isinstance(v, (str, bytes, bool)) for v in vals):
            bad = next(v for v in vals if v is None or isinstance(v, (str, bytes, bool)))
            raise TypeError(f"{where}[{j}] must hold numbers (log-probabilities or logits), got {bad!r}.")
        try:
            arr = np.asarray(vals, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{where}[{j}] must hold numbers (log-probabilities or logits).") from None
        if arr.ndim != 1 or len(arr) == 0:
            raise ValueError(f"{where}[{j}] must be a non-empty list of numbers.")
        if np.isnan(arr).any() or np.isposinf(arr).any():
            raise ValueError(f"{where}[{j}] contains NaN or +inf.")
        if top_k is not None and len(arr) < top_k:
            raise ValueError(f"{where}[{j}] has {len(arr)} candidates, fewer than top_k={top_k}; "
                             "request at least top_k log-probabilities per position.")
        rows.append(arr)
    if not rows:
        return np.empty((0, top_k or 1))
    width = min(len(r) for r in rows) if top_k is None else top_k
    if top_k is None and any(len(r) != len(rows[0]) for r in rows):
        raise ValueError(f"{where}: logits must have the same vocabulary size at every position.")
    return np.stack([np.sort(r)[::-1][:width] if top_k is not None else r for r in rows])


class TokenEntropy(Metric):
    higher_is_more_diverse = True
    uses_tokens = False
    undefined_reason = "no generated position"

    def __init__(self, top_k: int | None, per_position: list[np.ndarray]):
        self.top_k = top_k
        self._per_generation = per_position  # entropies of every generation, in input order
        self.name = self.key = f"token-entropy-top{top_k}" if top_k else "token-entropy-full"

    def fields(self, corpus: Corpus):
        return [("cand", f"top{self.top_k}-renorm" if self.top_k else "full"), ("unit", "bits"),
                ("avg", "positions")]

    def group_values(self, corpus: Corpus) -> np.ndarray:
        out = []
        for g in range(corpus.n_groups):
            lo, hi = corpus.offsets[g], corpus.offsets[g + 1]
            h = np.concatenate(self._per_generation[lo:hi]) if hi > lo else np.empty(0)
            out.append(float(h.mean()) if len(h) else math.nan)
        return np.array(out)

    def details(self, corpus: Corpus):
        n = sum(len(h) for h in self._per_generation)
        return {"n_positions": int(n), "max_bits": math.log2(self.top_k) if self.top_k else None}


def token_entropy(logprobs: Any = None, *, logits: Any = None, top_k: int = 5,
                  aggregate: Literal["per-prompt", "pooled"] | None = None, ci: bool | None = None,
                  ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile",
                  seed: int = 0) -> DiversityResult:
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
    aggregate, ci, ci_level, n_resamples, ci_method, seed
        As in :func:`diversity.distinct_n`.

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
    data = logprobs if logprobs is not None else logits
    k = check_int(top_k, "top_k", "token_entropy") if logprobs is not None else None
    name = "logprobs" if logprobs is not None else "logits"
    if isinstance(data, Mapping):
        keys, sets, grouped = tuple(data.keys()), [list(v) for v in data.values()], True
    else:
        items = list(data)
        is_grouped = bool(items) and _depth(items) == 4
        keys = tuple(range(len(items))) if is_grouped else (0,)
        sets = [list(v) for v in items] if is_grouped else [items]
        grouped = is_grouped
    if not sets or any(len(s) == 0 for s in sets):
        raise ValueError(f"{name}: every set needs at least one generation.")
    per_gen = []
    for key, gens in zip(keys, sets):
        for i, gen in enumerate(gens):
            where = f"{name}[{key!r}][{i}]" if grouped else f"{name}[{i}]"
            pos = _positions(gen, where, k)
            per_gen.append(topk_entropy_bits(pos, k) if k else full_entropy_bits(pos))
    groups = Groups(keys=keys, sets=tuple(("",) * len(s) for s in sets), grouped=grouped)
    opts = make_options("token_entropy", tokenizer="unicode", lowercase=False, aggregate=aggregate, ci=ci,
                        ci_level=ci_level, n_resamples=n_resamples, ci_method=ci_method, seed=seed)
    return evaluate([TokenEntropy(k, per_gen)], groups, opts, "token_entropy", texts_are_data=False)[0]


def _depth(x: Any) -> int:
    d = 0
    while isinstance(x, (list, tuple, np.ndarray)) and len(x) and not isinstance(x, Mapping):
        d += 1
        x = x[0]
    if isinstance(x, Mapping):
        d += 1
    return d
