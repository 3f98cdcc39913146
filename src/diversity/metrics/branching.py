"""Branching factor (arXiv 2506.17871) as its authors compute it, and the
top-k renormalised form beside it; re-exported by :mod:`.model_based`.

Input is what generation backends record: per generated position the
full-distribution entropy and the sampled token's log-probability (local
models), full logits, or the top-k log-probabilities a served endpoint
returns.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from ..core.corpus import Corpus
from ..core.errors import InvalidParameterError
from ..core.evaluate import evaluate
from ..core.metric import Computed
from ..core.options import Options, with_options
from ..core.params import Choice, Int, Optional, Param, Real
from ..core.registry import register
from ..core.result import DiversityResult
from .model_based import TokenEntropy, full_entropy_bits

__all__ = ["BranchingFactor", "branching_factor", "TopKBranchingFactor", "topk_branching_factor", "AUTHORS_NLL_AFTER",
           "AUTHORS_QUANTILE"]
#: The authors' switch from entropy to the sampled tokens' NLL (``DEFAULT_ASYMPTOTIC_LIMIT`` in their code).
AUTHORS_NLL_AFTER = 50
#: The authors' cut of each prompt at this quantile of its outputs' lengths (``q`` of their
#: ``condense_arrays_with_inconsistent_lengths``).
AUTHORS_QUANTILE = 0.95

_SOURCES = ("logprobs", "logits", "entropy", "entropy-nll")


def _generation_entropies(metric: Any, x: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """One generation's per-position entropies in nats, and its sampled tokens' log-probabilities (or None)."""
    if metric.source == "entropy":
        return x[:, 0], None
    if metric.source == "entropy-nll":
        return x[:, 0], x[:, 1]
    if metric.source == "logits":
        return (full_entropy_bits(x) if len(x) else np.empty(0)) * math.log(2), None
    return metric._entropies(x, where) * math.log(2), None


def _prompt_estimate(h: list[np.ndarray], l: list[np.ndarray] | None, *, min_samples: int, horizon: int | None,
                     quantile: float | None, nll_after: int | None) -> tuple[float, list[float], list[float], bool]:
    r"""One prompt's branching factor, its per-position profile and its cumulative curve.

    Returns ``(BF, [exp(h̄_t)], [exp(c_t)], whether BF came from the NLL)``; see :func:`branching_factor`."""
    lengths = np.array([len(x) for x in h], dtype=np.int64)
    depth = int(lengths.max()) if len(lengths) else 0
    if quantile is not None and len(lengths):
        depth = min(depth, int(np.quantile(lengths, quantile)))
    if horizon is not None:
        depth = min(depth, horizon)
    if depth <= 0:
        return math.nan, [], [], False
    reach = (lengths[None, :] > np.arange(depth)[:, None]).sum(axis=1)  # n_t for t = 1..depth
    depth = int(np.searchsorted(-reach, -min_samples, side="right"))  # positions with n_t >= min_samples
    if depth == 0:
        return math.nan, [], [], False
    sums = np.zeros(depth)
    for x in h:
        m = min(len(x), depth)
        sums[:m] += x[:m]
    mean_h = sums / reach[:depth]
    t = np.arange(1, depth + 1)
    log_curve = np.cumsum(mean_h) / t  # mean per-token entropy of the prefix 1..t
    use_nll = nll_after is not None and l is not None
    if use_nll:
        nll = np.zeros(depth)
        for x in l:
            m = min(len(x), depth)
            nll[:m] += -np.cumsum(x[:m]) / t[:m]  # the sample's mean per-token NLL of its prefix 1..t
        nll /= reach[:depth]
        log_curve = np.where(t <= nll_after, log_curve, nll)
    from_nll = bool(use_nll and depth > nll_after)  # type: ignore[operator]
    return (float(math.exp(log_curve[-1])), [float(v) for v in np.exp(mean_h)], [float(v) for v in np.exp(log_curve)],
            from_nll)


def _mean_by_position(curves: list[list[float]]) -> tuple[list[float], list[int]]:
    depth = max((len(c) for c in curves), default=0)
    mean, support = [], []
    for t in range(depth):
        at = [c[t] for c in curves if len(c) > t]
        mean.append(float(np.mean(at)))
        support.append(len(at))
    return mean, support


@register
class BranchingFactor(TokenEntropy):
    """Branching factor as its authors define it; see :func:`branching_factor`."""

    name, func = "branching-factor", "branching_factor"
    params = (Param("top_k", Optional(Int(1)), 5, "Candidates per position, renormalised (``source='logprobs'`` "
                    "only: the top-k form served endpoints allow)."),
              Param("min_samples", Int(1), 4, "Positions reached by fewer generations of a prompt are left out."),
              Param("horizon", Optional(Int(1)), None, "Only the first ``horizon`` positions; ``None``: all."),
              Param("quantile", Optional(Real(0.0, 1.0, low_open=True)), AUTHORS_QUANTILE,
                    "Each prompt cut at this quantile of its outputs' lengths; ``None``: not cut."),
              Param("nll_after", Optional(Int(1)), AUTHORS_NLL_AFTER,
                    "Past this many positions, the sampled tokens' mean NLL replaces the mean entropy (when the "
                    "sampled tokens' log-probabilities are given); ``None``: entropy at every length."),
              Param("source", Choice(_SOURCES), "logprobs",
                    "What each position holds: top-k log-probabilities, full logits, a recorded full-distribution "
                    "entropy (nats), or that entropy and the sampled token's log-probability."))
    references = ("yang2025branching", "mohammadi2024creativity")
    undefined_reason = "fewer than min_samples generations reach the first position (after the quantile cut)"

    def validate(self) -> None:
        if self.source != "logprobs" and self.top_k != 5:
            raise InvalidParameterError(f"The 'top_k' parameter of branching_factor applies to log-probability lists "
                                        f"only; got top_k={self.top_k} with source={self.source!r}.")
        if self.source == "logprobs" and self.top_k is None:
            raise InvalidParameterError("The 'top_k' parameter of branching_factor must be an int for top-k "
                                        "log-probabilities; pass logits= for the full distribution.")

    def _distribution(self) -> str:
        return f"top{self.top_k}-renorm" if self.source == "logprobs" else "full"

    def _estimator(self) -> str:
        return f"entropy-then-nll>{self.nll_after}" if self.source == "entropy-nll" and self.nll_after else "entropy"

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("cand", self._distribution()), ("unit", "nats"), ("est", self._estimator()),
                ("cut", "none" if self.quantile is None else f"q{self.quantile:g}"), ("min", self.min_samples),
                ("horizon", self.horizon or "all")]

    def _settings(self) -> dict[str, Any]:
        return {"min_samples": self.min_samples, "horizon": self.horizon, "quantile": self.quantile,
                "nll_after": self.nll_after if self.source == "entropy-nll" else None}

    def compute(self, corpus: Corpus) -> Computed:
        values, profiles, curves, positions, nll = [], [], [], [], []
        for g in range(corpus.n_groups):
            gens = corpus.group_rows(corpus.logprobs, g)
            pairs = [_generation_entropies(self, x, f"logprobs[{corpus.keys[g]!r}][{i}]") for i, x in enumerate(gens)]
            h = [p[0] for p in pairs]
            lp = [p[1] for p in pairs] if self.source == "entropy-nll" else None
            v, prof, curve, from_nll = _prompt_estimate(h, lp, **self._settings())
            values.append(v)
            profiles.append(prof)
            curves.append(curve)
            positions.append(len(prof))
            nll.append(from_nll)
        return Computed(np.array(values), {"profile": profiles, "cumulative": curves, "n_positions": positions,
                                           "from_nll": nll})

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        profile, support = _mean_by_position([p for p in extras.get("profile", []) if p])
        cumulative, _ = _mean_by_position([c for c in extras.get("cumulative", []) if c])
        dist = (f"top-{self.top_k} log-probabilities renormalised (what a served endpoint returns; not the full "
                "next-token distribution the authors use, and at most top_k)" if self.source == "logprobs"
                else "full next-token distribution")
        return {"profile": profile, "profile_prompts": support, "cumulative": cumulative,
                "n_positions": int(sum(extras.get("n_positions", []))),
                "prompts_from_nll": int(sum(extras.get("from_nll", []))), "distribution": dist}


@register
class TopKBranchingFactor(BranchingFactor):
    """The top-k renormalised, chain-rule branching factor; see :func:`topk_branching_factor`."""

    name, func = "branching-factor-topk", "topk_branching_factor"
    params = (Param("top_k", Int(1), 5, "Candidates per position (renormalised)."),
              Param("min_samples", Int(1), 4, "Positions reached by fewer generations of a prompt are left out."),
              Param("horizon", Optional(Int(1)), None, "Only the first ``horizon`` positions; ``None``: all."))
    source, quantile, nll_after = "logprobs", None, None
    undefined_reason = "fewer than min_samples generations reach the first position"

    def validate(self) -> None:
        pass

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("cand", f"top{self.top_k}-renorm"), ("unit", "nats"), ("est", "chain-rule"),
                ("min", self.min_samples), ("horizon", self.horizon or "all")]


def _scalar_sets(data: Any, name: str) -> tuple[tuple, list[list[np.ndarray]], bool]:
    """Per-position numbers (an entropy or a log-probability per position): one set of generations, or sets per
    prompt (a mapping, or a sequence of sets)."""
    def gen(x: Any, where: str) -> np.ndarray:
        if isinstance(x, (str, bytes, Mapping)) or not hasattr(x, "__iter__"):
            raise TypeError(f"{where} must be a generation: a sequence of numbers, one per position; got "
                            f"{type(x).__name__}.")
        try:
            arr = np.asarray(list(x), dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{where} must hold numbers, one per position.") from None
        if arr.ndim != 1:
            raise ValueError(f"{where} must be a flat sequence of numbers, one per position.")
        return arr

    if data is None or isinstance(data, (str, bytes)):
        raise TypeError(f"{name} must be generations (sequences of numbers, one per position).")
    if isinstance(data, Mapping):
        keys, sets, grouped = tuple(data.keys()), [list(v) for v in data.values()], True
    else:
        items = list(data)
        first = items[0] if items else None
        grouped = bool(items) and hasattr(first, "__iter__") and not isinstance(first, (str, bytes)) and any(
            hasattr(y, "__iter__") and not isinstance(y, (str, bytes)) for y in first)
        keys = tuple(range(len(items))) if grouped else (0,)
        sets = [list(v) for v in items] if grouped else [items]
    if not sets or any(len(s) == 0 for s in sets):
        raise ValueError(f"{name}: every set needs at least one generation.")
    out = [[gen(x, f"{name}[{k!r}][{i}]" if grouped else f"{name}[{i}]") for i, x in enumerate(s)]
           for k, s in zip(keys, sets)]
    return keys, out, grouped


def _records(entropy_sets: list[list[np.ndarray]], keys: tuple, grouped: bool, token_logprobs: Any) -> Any:
    """Positions as ``[h]`` or ``[h, log p(sampled token)]`` rows (h >= 0 >= log p: the rows stay in this order
    when the log-probability input sorts each row in decreasing order)."""
    for k, s in zip(keys, entropy_sets):
        for i, h in enumerate(s):
            if not np.isfinite(h).all() or (h < -1e-9).any():
                raise ValueError(f"entropies[{k!r}][{i}] must hold finite entropies >= 0 (nats), got "
                                 f"{h[~np.isfinite(h) | (h < -1e-9)][0]!r}.")
    if token_logprobs is not None:
        tkeys, tsets, tgrouped = _scalar_sets(token_logprobs, "token_logprobs")
        if tgrouped != grouped or tuple(tkeys) != tuple(keys):
            raise ValueError("token_logprobs must have the same prompts, in the same order, as the entropies.")
        for k, s, t in zip(keys, entropy_sets, tsets):
            if len(s) != len(t) or any(len(a) != len(b) for a, b in zip(s, t)):
                raise ValueError(f"token_logprobs[{k!r}] must have one log-probability per generated position, as "
                                 "many generations and positions as the entropies.")
            for i, x in enumerate(t):
                if not np.isfinite(x).all() or (x > 1e-9).any():
                    raise ValueError(f"token_logprobs[{k!r}][{i}] must hold finite log-probabilities <= 0.")
        rows = [[np.stack([np.maximum(h, 0.0), np.minimum(x, 0.0)], axis=1) for h, x in zip(s, t)]
                for s, t in zip(entropy_sets, tsets)]
    else:
        rows = [[np.maximum(h, 0.0)[:, None] for h in s] for s in entropy_sets]
    rows = [[r if len(r) else np.empty((0, 1)) for r in s] for s in rows]
    return dict(zip(keys, rows)) if grouped else rows[0]


@with_options("aggregate", "ci")
def branching_factor(logprobs: Any = None, *, logits: Any = None, entropies: Any = None, token_logprobs: Any = None,
                     top_k: int = 5, min_samples: int = 4, horizon: int | None = None,
                     quantile: float | None = AUTHORS_QUANTILE, nll_after: int | None = AUTHORS_NLL_AFTER,
                     options: Options) -> DiversityResult:
    r"""Branching factor: the effective number of plausible next tokens along a
    generation, as Yang & Holtzman (arXiv 2506.17871) define and compute it.

    For a prompt x with sampled generations i = 1..M of lengths :math:`L_i`,
    let :math:`h^{(i)}_t` be the entropy in nats of the next-token
    distribution generation i was sampled from at position t, and
    :math:`\ell^{(i)}_t` the log-probability of the token it sampled there.
    The prompt is cut at :math:`T_q = \lfloor Q_q(L_1..L_M) \rfloor`
    positions (the ``quantile`` q of the lengths, linear interpolation;
    their 95th percentile), and further at the first position reached by
    fewer than ``min_samples`` generations (:math:`n_t \ge 4`: their "more
    than 3") and at ``horizon``; call the result T. With

    .. math:: \bar h_t = \frac{1}{n_t}\sum_{i:\,L_i\ge t} h^{(i)}_t, \qquad
              \bar\ell_t = \frac{1}{n_t}\sum_{i:\,L_i\ge t} \frac{1}{t}\sum_{s\le t} \ell^{(i)}_s,

    the cumulative curve is :math:`c_t = \frac{1}{t}\sum_{s\le t}\bar h_s`
    (chain-rule estimate of the entropy per token of the first t tokens)
    for :math:`t \le` ``nll_after`` and :math:`c_t = -\bar\ell_t` (the
    sampled tokens' mean NLL, equal in expectation by the asymptotic
    equipartition property, and lower-variance for long outputs) past it, and

    .. math:: \mathrm{BF}(x) = \exp(c_T).

    ``.value`` averages BF(x) over prompts, as the paper does.
    ``details["cumulative"]``: at each t the mean over prompts of
    :math:`\exp(c_t)` (their BF curve); ``details["profile"]``: the mean over
    prompts of :math:`\exp(\bar h_t)`, the per-position branching factor
    (``details["profile_prompts"]``: how many prompts reach t). Alignment
    narrows the first positions most.

    The distribution matters: the published values use the full next-token
    distribution (``entropies=``, as :class:`~diversity.generation.TransformersBackend`
    records it at sampling time, or ``logits=``). ``logprobs=`` holds only
    the top-k candidates a served endpoint returns; their renormalised entropy
    caps BF at ``top_k`` and is much lower than the published values (the
    signature says ``cand:top5-renorm`` and ``details["distribution"]`` says
    so). The NLL switch needs ``token_logprobs=``; without them the entropy
    is used at every length (signature ``est:entropy``).

    Higher is more diverse. BF falls with position: compare models at a
    common ``horizon`` when their lengths differ.

    Parameters
    ----------
    logprobs : generations, or mapping/sequence of them per prompt
        Per generation a sequence of positions, per position at least
        ``top_k`` log-probabilities (or a ``{token: logprob}`` dict).
    logits : same structure with full-vocabulary logits per position
        ``-inf`` logits (filtered tokens) count as probability 0.
    entropies : generations of per-position entropies (nats)
        The full next-token distribution's entropy, one number per position
        (the ``entropy`` column the transformers backend writes).
    token_logprobs : same structure as ``entropies`` (or ``logits``)
        The sampled token's log-probability per position (the
        ``token_logprobs`` column); enables the NLL switch.
    top_k : int, default 5
        ``logprobs`` only.
    min_samples : int, default 4
        Positions reached by fewer generations of a prompt are left out; a
        prompt with fewer generations has no value (NaN, with a warning).
    horizon : int or None, default None
        Use only the first ``horizon`` positions.
    quantile : float in (0, 1] or None, default 0.95
        Cut each prompt at this quantile of its outputs' lengths (``None``:
        no cut).
    nll_after : int or None, default 50
        Switch to the sampled tokens' NLL past this many positions (with
        ``token_logprobs``).
    <<SHARED>>

    Returns
    -------
    DiversityResult

    See Also
    --------
    topk_branching_factor : the top-k renormalised chain-rule form (no cut, no NLL).

    References
    ----------
    C. Yang and A. Holtzman. How Alignment Shrinks the Generative Horizon.
    2025. arXiv:2506.17871 (code: github.com/yangalan123/LLMBranchingFactor).

    B. Mohammadi. Creativity Has Left the Chat: The Price of Debiasing
    Language Models. 2024. arXiv:2406.05587 (its experiment 3, next-token
    entropy of base vs aligned models).

    Examples
    --------
    >>> import math
    >>> gen = [math.log(2), 0.0]                      # a fair coin, then a certain token (nats)
    >>> round(branching_factor(entropies=[gen] * 4).value, 6)   # exp((ln 2 + 0) / 2)
    1.414214
    """
    given = [n for n, x in (("logprobs", logprobs), ("logits", logits), ("entropies", entropies)) if x is not None]
    if len(given) != 1:
        raise InvalidParameterError("branching_factor needs exactly one of logprobs=, logits= or entropies=.")
    common = dict(min_samples=min_samples, horizon=horizon, quantile=quantile, nll_after=nll_after)
    if logprobs is not None:
        if token_logprobs is not None:
            raise InvalidParameterError("branching_factor: token_logprobs= goes with entropies= or logits= (the "
                                        "full distribution), not with top-k logprobs=.")
        metric = BranchingFactor(top_k, source="logprobs", **common)
        return evaluate([metric], options, logprobs=logprobs)[0]
    if logits is not None and token_logprobs is None:
        return evaluate([BranchingFactor(source="logits", **common)], options, logprobs=logits)[0]
    if logits is not None:
        from ..core.inputs import as_logprob_groups

        keys, sets, grouped = as_logprob_groups(logits, "logits")
        ent = [[full_entropy_bits(x) * math.log(2) if len(x) else np.empty(0) for x in s] for s in sets]
    else:
        keys, ent, grouped = _scalar_sets(entropies, "entropies")
    data = _records(ent, keys, grouped, token_logprobs)
    source = "entropy-nll" if token_logprobs is not None else "entropy"
    return evaluate([BranchingFactor(source=source, **common)], options, logprobs=data)[0]


@with_options("aggregate", "ci")
def topk_branching_factor(logprobs: Any, *, top_k: int = 5, min_samples: int = 4, horizon: int | None = None,
                          options: Options) -> DiversityResult:
    r"""Branching factor of the renormalised top-k next-token distribution,
    chain-rule estimate at every length, no length cut.

    :math:`\mathrm{BF}(x) = \exp(\frac{1}{T}\sum_{t\le T}\bar h_t)` with
    :math:`\bar h_t` the mean over the generations reaching t of the entropy
    (nats) of the ``top_k`` largest log-probabilities renormalised, T the
    last position reached by ``min_samples`` generations (at most
    ``horizon``). It lies in [1, ``top_k``]: the top-5 form of arXiv
    2406.05587's next-token entropy, put on the branching-factor scale. It is
    *not* the published branching factor (:func:`branching_factor`, full
    distribution, 95th-percentile cut, NLL past 50 positions), which is
    several times larger on the same generations.

    Higher is more diverse.

    Parameters
    ----------
    logprobs : generations, or mapping/sequence of them per prompt
        Per position at least ``top_k`` log-probabilities.
    top_k : int, default 5
    min_samples : int, default 4
    horizon : int or None, default None
    <<SHARED>>

    Returns
    -------
    DiversityResult

    References
    ----------
    C. Yang and A. Holtzman. How Alignment Shrinks the Generative Horizon.
    2025. arXiv:2506.17871. B. Mohammadi. Creativity Has Left the Chat.
    2024. arXiv:2406.05587 (the top-5 next-token entropy).

    Examples
    --------
    >>> import math
    >>> coin = [math.log(0.5), math.log(0.5)]         # two equal candidates: 1 bit
    >>> sure = [0.0, -1e9]                            # one certain candidate
    >>> round(topk_branching_factor([[coin, sure]] * 4, top_k=2).value, 6)
    1.414214
    """
    metric = TopKBranchingFactor(top_k, min_samples, horizon)
    return evaluate([metric], options, logprobs=logprobs)[0]
