r"""Attractor strength: how often generations pushed off course come back to
the outputs the model gives when left alone (the "attractor states" of
arXiv 2406.05587, as a number).

For each prompt there are two sets: ``unperturbed`` completions (sampled
normally) and ``perturbed`` ones (sampled after a perturbation of the
generation: a forced prefix from another prompt's completion, a random token
at some position, an off-distribution first sentence; see
:class:`diversity.generation.Prompt` ``prefix``). The unperturbed
completions are clustered exactly as :func:`diversity.semantic_clusters`
does; a perturbed continuation *returns* when it would join one of those
clusters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from .._version import __version__
from ..core.data import as_groups
from ..core.errors import InvalidParameterError, UndefinedMetricWarning
from ..core.result import ConfidenceInterval
from ..core.signature import Signature
from ..stats.bootstrap import bootstrap_mean_ci
from ..stats.seeding import canonical_order
from ._geometry import cluster_labels
from ..core.errors import warn as _warn_user
from .attractor_threshold import CALIBRATION_QUANTILE, ThresholdCalibration, _sets, calibrate_threshold

__all__ = ["AttractorResult", "attractor_strength", "attractor_curve", "returns_to_clusters", "calibrate_threshold",
           "ThresholdCalibration", "CALIBRATION_QUANTILE"]

_LINKAGES = ("average", "complete", "single")

@dataclass(frozen=True)
class AttractorResult:
    """Attractor strength of one model on a set of prompts.

    Attributes
    ----------
    value : float
        Mean over prompts of the return rate R(x) (higher = a stronger
        attractor = *less* diverse).
    per_group, groups : tuple
        R(x) per prompt, with the prompt keys.
    chance_rate : float
        Mean over prompts of R0(x), the leave-one-out return rate of the
        unperturbed completions themselves (what R(x) is read against: a
        model whose own samples rarely join each other's clusters cannot
        return often either).
    nearest_similarity : float
        Mean over prompts of the mean, over perturbed continuations, of the
        cosine similarity to the nearest unperturbed completion.
    per_group_similarity : tuple
        That similarity per prompt.
    details : mapping
        ``per_group_chance_rate`` (R0 per prompt), ``chance_similarity``
        (mean over prompts of the mean, over unperturbed completions, of the
        cosine similarity to the nearest *other* unperturbed completion: what
        ``nearest_similarity`` is read against) and
        ``per_group_chance_similarity``.
    ci : ConfidenceInterval or None
        Bootstrap interval of ``value`` over prompts (2 prompts or more).
    signature : Signature
    n_unperturbed, n_perturbed : int
    """

    value: float
    per_group: tuple[float, ...]
    groups: tuple[Hashable, ...]
    chance_rate: float
    nearest_similarity: float
    per_group_similarity: tuple[float, ...]
    signature: Signature
    n_unperturbed: int
    n_perturbed: int
    ci: ConfidenceInterval | None = None
    higher_is_more_diverse: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        ci = f" [{self.ci.low:.4g}, {self.ci.high:.4g}]" if self.ci else ""
        return (f"<attractor-strength = {self.value:.4g}{ci} (chance {self.chance_rate:.4g}, nearest similarity "
                f"{self.nearest_similarity:.4g}); {self.signature}>")


def _linkage_distance(d: np.ndarray, labels: np.ndarray, n_clusters: int, linkage: str) -> np.ndarray:
    """Distance from each row's item to each cluster under ``linkage``: (rows, clusters)."""
    out = np.empty((d.shape[0], n_clusters))
    for c in range(n_clusters):
        block = d[:, labels == c]
        out[:, c] = block.mean(axis=1) if linkage == "average" else (
            block.max(axis=1) if linkage == "complete" else block.min(axis=1))
    return out


def returns_to_clusters(reference: np.ndarray, probes: np.ndarray, threshold: float, linkage: str) -> np.ndarray:
    """For unit vectors ``probes``, whether each would join one of the clusters of
    the unit vectors ``reference`` (agglomerative, cosine distance, ``linkage``,
    stopping at ``threshold``): its ``linkage`` distance to some cluster is at
    most ``threshold``."""
    labels = cluster_labels(reference, threshold, linkage)
    d = np.clip(1.0 - probes @ reference.T, 0.0, 2.0)
    return (_linkage_distance(d, labels, int(labels.max()) + 1, linkage) <= threshold).any(axis=1)


def attractor_strength(unperturbed: Any = None, perturbed: Any = None, *, embeddings: Any = None,
                       embedder: Any = None, threshold: float | str | ThresholdCalibration = "auto",
                       calibration_quantile: float = CALIBRATION_QUANTILE, linkage: str = "average",
                       perturbation: str = "unspecified", position: int | None = None, size: int | None = None,
                       continuation_tokens: int | None = None, confidence_level: float = 0.95, n_resamples: int = 10_000, method: str = "percentile",
                       random_state: int = 0) -> AttractorResult:
    r"""Attractor strength: the fraction of perturbed continuations that return
    to the clusters of the unperturbed completions.

    For a prompt x, let :math:`U_x` be the unit embeddings of its k
    unperturbed completions and :math:`C_1..C_c` their clusters
    (agglomerative clustering, cosine distance :math:`d = 1 - \cos`,
    ``linkage``, merging stops at ``threshold``: the clusters of
    :func:`diversity.semantic_clusters`). A perturbed continuation p
    *returns* when :math:`\min_j D(p, C_j) \le` ``threshold``, where D is the
    linkage distance from p to a cluster (``average``: the mean of
    :math:`d(p, u)` over the cluster's members; ``complete``: the largest;
    ``single``: the smallest), i.e. when the clustering would put p into an
    existing cluster. With m perturbed continuations :math:`p_1..p_m`,

    .. math:: R(x) = \frac{1}{m}\sum_{i=1}^{m} \mathbb{1}[p_i \text{ returns}],

    and ``.value`` is the mean of R(x) over prompts. Higher means a stronger
    attractor (the model goes back to the same few outputs whatever was
    forced into it), i.e. *less* diverse.

    Read it beside two numbers. The chance rate :math:`R_0(x)` is the same
    rate for the unperturbed completions themselves, leave-one-out (each
    :math:`u_i` against the clusters of the other k - 1): how often a fresh,
    unperturbed sample lands in an existing cluster. The nearest similarity
    is the mean over p of :math:`\max_{u \in U_x} \cos(p, u)`. An aligned
    model with attractor states has R close to :math:`R_0` (it returns as
    often as it repeats itself); a base model has both low. :math:`R_0`
    holds each completion out, so its clusters come from k - 1 completions
    where R's come from k: with small k, R has slightly more to return to,
    and R = R_0 is not an exact null. Computing R on
    continuations cut at n tokens after the perturbation, for growing n,
    gives the return curve.

    Blank completions (empty or whitespace only) are non-answers: they are
    left out on both sides and counted in ``details`` (``blank_unperturbed``,
    ``blank_perturbed``); a prompt that blanks leave with fewer than 2
    unperturbed or no perturbed completions is left out with an
    :class:`~diversity.UndefinedMetricWarning` (``details["left_out"]``).

    Parameters
    ----------
    unperturbed, perturbed : completions per prompt
        Mappings (or sequences) with the same prompts; every prompt needs at
        least 2 unperturbed completions and 1 perturbed one.
    embeddings : (unperturbed, perturbed) pair of embeddings per prompt, optional
        Instead of texts (recorded as ``emb:precomputed``).
    embedder : optional
        Default all-MiniLM-L6-v2 (``emb:<model>@<weights hash>``).
    threshold : float in (0, 2], "auto" or ThresholdCalibration, default "auto"
        The cluster threshold (cosine distance). ``"auto"``: calibrated on
        the encoder, the ``calibration_quantile`` of the within-prompt
        distances of these unperturbed completions
        (:func:`calibrate_threshold`; to compare models at one threshold,
        calibrate on both and pass the result). A fixed number such as 0.25
        means different things for different encoders; on short, loosely
        related completions it can leave every completion its own cluster
        (R = R0 = 0 for every model). Recorded as ``thr:`` and ``cal:``
        (``given`` for a number).
    calibration_quantile : float in (0, 1), default 0.25
        With ``threshold="auto"``.
    linkage : {"average", "complete", "single"}, default "average"
    perturbation : str, default "unspecified"
        What was done to the generation (``prefix``, ``random-token``,
        ``off-sentence``...); recorded as ``perturb:``.
    position, size : int or None
        Where the perturbation was applied (tokens into the generation) and
        how large it was (tokens); recorded as ``pos:`` and ``size:``.
    continuation_tokens : int >= 1 or None
        Cut every perturbed continuation after its first n word tokens
        (``unicode-v2``; a prefix of the text) before embedding it: the
        return after n tokens, recorded as ``after:n`` (``after:all``: not
        cut). The baseline is cut alike: for :math:`R_0` and the chance
        similarity each held-out unperturbed completion is cut at n tokens
        and compared with the other, whole, completions, so that R(n) is
        read against a text of the same length.
        :func:`attractor_curve` computes it for several n.
    confidence_level, n_resamples, method, random_state
        Bootstrap over prompts (``scipy.stats.bootstrap``), in the canonical
        order of the prompt keys.

    Returns
    -------
    AttractorResult

    References
    ----------
    B. Mohammadi. Creativity Has Left the Chat: The Price of Debiasing
    Language Models. 2024. arXiv:2406.05587 (attractor states, shown there
    qualitatively; this number is the library's definition).

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]])    # two clusters
    >>> p = np.array([[1.0, 0.05], [-1.0, 0.0]])                # one returns, one does not
    >>> attractor_strength(embeddings=({"x": u}, {"x": p}), threshold=0.25).value
    0.5
    """
    if isinstance(threshold, str) and threshold != "auto" or not isinstance(
            threshold, (int, float, str, ThresholdCalibration)) or isinstance(threshold, bool) or (
            isinstance(threshold, (int, float)) and not 0 < threshold <= 2):
        raise InvalidParameterError(f"attractor_strength: the 'threshold' parameter must be in (0, 2], 'auto' or a "
                                    f"ThresholdCalibration, got {threshold!r}.")
    if linkage not in _LINKAGES:
        raise InvalidParameterError(f"attractor_strength: the 'linkage' parameter must be one of "
                                    f"{', '.join(_LINKAGES)}, got {linkage!r}.")
    for name, v in (("position", position), ("size", size)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise InvalidParameterError(f"attractor_strength: the {name!r} parameter must be a non-negative int "
                                        f"or None, got {v!r}.")
    if continuation_tokens is not None and (not isinstance(continuation_tokens, int)
                                            or isinstance(continuation_tokens, bool) or continuation_tokens < 1):
        raise InvalidParameterError(f"attractor_strength: the 'continuation_tokens' parameter must be an int >= 1 "
                                    f"or None, got {continuation_tokens!r}.")
    if not isinstance(perturbation, str) or not perturbation or any(c in perturbation for c in "|: "):
        raise InvalidParameterError("attractor_strength: the 'perturbation' parameter must be a non-empty name "
                                    f"without '|', ':' or spaces, got {perturbation!r}.")
    if embeddings is not None:
        if unperturbed is not None or perturbed is not None:
            raise InvalidParameterError("attractor_strength takes texts or embeddings=(unperturbed, perturbed), "
                                        "not both.")
        if continuation_tokens is not None:
            raise InvalidParameterError("attractor_strength: continuation_tokens= cuts texts; with embeddings= "
                                        "embed the cut continuations yourself.")
        if not (isinstance(embeddings, (tuple, list)) and len(embeddings) == 2):
            raise InvalidParameterError("attractor_strength: embeddings= must be a pair (unperturbed, perturbed).")
        blanks = {}
        (ku, u_sets, emb), (kp, p_sets, _) = (_sets(None, embeddings[0], "unperturbed", None),
                                              _sets(None, embeddings[1], "perturbed", None))
    else:
        if unperturbed is None or perturbed is None:
            raise InvalidParameterError("attractor_strength needs both unperturbed= and perturbed= completions.")
        unperturbed, perturbed, blanks = _without_blanks(unperturbed, perturbed)
        if embedder is None:
            from .semantic import VectorMetric

            embedder = VectorMetric.default_embedder()
        if continuation_tokens is not None:
            perturbed = _cut_sets(perturbed, continuation_tokens)
            # the chance baseline at the same length: each held-out unperturbed completion cut alike
            _, probe_sets, _ = _sets(_cut_sets(unperturbed, continuation_tokens), None, "unperturbed", embedder)
        (ku, u_sets, emb), (kp, p_sets, _) = (_sets(unperturbed, None, "unperturbed", embedder),
                                              _sets(perturbed, None, "perturbed", embedder))
    if set(ku) != set(kp) or len(ku) != len(kp):
        missing = [k for k in ku if k not in set(kp)] or [k for k in kp if k not in set(ku)]
        raise ValueError(f"attractor_strength: unperturbed and perturbed must cover the same prompts; "
                         f"{missing[0]!r} is in one only.")
    if u_sets[0].shape[1] != p_sets[0].shape[1]:
        raise ValueError(f"attractor_strength: unperturbed embeddings have dimension {u_sets[0].shape[1]}, "
                         f"perturbed ones {p_sets[0].shape[1]}.")
    for key, u in zip(ku, u_sets):
        if len(u) < 2:
            raise ValueError(f"attractor_strength: prompt {key!r} has {len(u)} unperturbed completion; clusters to "
                             "return to need at least 2.")
    if threshold == "auto":
        threshold = calibrate_threshold(embeddings=[dict(zip(ku, u_sets))], quantile=calibration_quantile)
    cal = threshold.label if isinstance(threshold, ThresholdCalibration) else "given"
    threshold = float(threshold)
    p_of = dict(zip(kp, p_sets))
    probes = u_sets if continuation_tokens is None else probe_sets
    rates, chance, sims, chance_sims = [], [], [], []
    for key, u, probe in zip(ku, u_sets, probes):
        p = p_of[key]
        rates.append(float(returns_to_clusters(u, p, threshold, linkage).mean()))
        loo = [bool(returns_to_clusters(np.delete(u, i, axis=0), probe[i:i + 1], threshold, linkage)[0])
               for i in range(len(u))]
        chance.append(float(np.mean(loo)))
        sims.append(float(np.clip(p @ u.T, -1.0, 1.0).max(axis=1).mean()))
        own = np.clip(probe @ u.T, -1.0, 1.0)
        np.fill_diagonal(own, -np.inf)
        chance_sims.append(float(own.max(axis=1).mean()))
    order = canonical_order(list(ku))
    values = np.array(rates)[order]
    ci = None
    if len(values) >= 2:
        ci = bootstrap_mean_ci(values, level=confidence_level, n_resamples=n_resamples, method=method,
                               seed=random_state)
    k = [len(u) for u in u_sets]
    m = [len(p_of[key]) for key in ku]
    fields: list[tuple[str, Any]] = [
        ("thr", f"{threshold:g}"), ("cal", cal), ("link", linkage), ("dist", "cosine"), ("perturb", perturbation),
        ("pos", "na" if position is None else position), ("size", "na" if size is None else size),
        ("after", "all" if continuation_tokens is None else continuation_tokens), *emb,
        ("agg", "per-prompt-mean" if len(ku) > 1 else "none"),
        ("k", str(min(k)) if min(k) == max(k) else f"{min(k)}-{max(k)}"),
        ("m", str(min(m)) if min(m) == max(m) else f"{min(m)}-{max(m)}")]
    if ci is not None:
        fields += [("ci", f"{confidence_level:g}-{method}-{n_resamples}"), ("seed", random_state)]
    return AttractorResult(
        value=float(np.mean(values)), per_group=tuple(rates), groups=tuple(ku),
        chance_rate=float(np.mean(np.array(chance)[order])), nearest_similarity=float(np.mean(np.array(sims)[order])),
        per_group_similarity=tuple(sims), signature=Signature.build("attractor-strength", fields, __version__),
        n_unperturbed=int(sum(k)), n_perturbed=int(sum(m)), ci=ci,
        details={"per_group_chance_rate": tuple(chance),
                 "chance_similarity": float(np.mean(np.array(chance_sims)[order])),
                 "per_group_chance_similarity": tuple(chance_sims), **blanks})


def _without_blanks(unperturbed: Any, perturbed: Any) -> tuple[dict, dict, dict[str, Any]]:
    """Both sides without blank completions (non-answers, counted), and without the prompts that are left
    with fewer than 2 unperturbed or no perturbed completions (a warning names them)."""
    u, p = as_groups(unperturbed, name="unperturbed"), as_groups(perturbed, name="perturbed")
    us = {k: [t for t in s if t.strip()] for k, s in zip(u.keys, u.sets)}
    ps = {k: [t for t in s if t.strip()] for k, s in zip(p.keys, p.sets)}
    n_u = sum(len(s) for s in u.sets) - sum(map(len, us.values()))
    n_p = sum(len(s) for s in p.sets) - sum(map(len, ps.values()))
    short = {k: len(s) for k, s in zip(u.keys, u.sets) if len(s) < 2}
    left = [k for k in us if k in ps and k not in short and (len(us[k]) < 2 or not ps[k])]
    if left:
        _warn_user(f"attractor_strength: {len(left)} prompt(s) left out because blank completions leave fewer "
                      f"than 2 unperturbed or no perturbed ones: {', '.join(map(repr, left[:5]))}"
                      f"{'...' if len(left) > 5 else ''}.", UndefinedMetricWarning)
        if len(left) == len(us):
            raise ValueError("attractor_strength: no prompt has 2 non-blank unperturbed and 1 non-blank perturbed "
                             "completion.")
    us = {k: (s if k not in short else list(dict(zip(u.keys, u.sets))[k])) for k, s in us.items() if k not in left}
    ps = {k: s for k, s in ps.items() if k not in left}
    return us, ps, {"blank_unperturbed": n_u, "blank_perturbed": n_p, "left_out": tuple(left)}


def _cut_sets(perturbed: Any, n: int) -> dict:
    from ..text.tokenize import get_tokenizer

    tok = get_tokenizer("unicode")
    groups = as_groups(perturbed, name="perturbed")
    return {key: [tok.truncate(t, n) for t in texts] for key, texts in zip(groups.keys, groups.sets)}


def attractor_curve(unperturbed: Any, perturbed: Any, *, tokens: Sequence[int | None] = (4, 8, 16, 32, None),
                    **kwargs: Any) -> dict[int | None, AttractorResult]:
    """The return curve: :func:`attractor_strength` of the perturbed
    continuations cut at each n in ``tokens`` word tokens after the
    perturbation (``None``: not cut).

    How fast a model comes back: an attractor pulls the continuation back
    within a few tokens, so R rises early and stays; without one R stays
    near 0 at every n. Read each point beside its own ``chance_rate`` and
    ``details["chance_similarity"]``, computed on unperturbed completions cut
    at the same n (a short text is far from whole completions whatever the
    model did). ``kwargs`` go to
    :func:`attractor_strength` (``embedder``, ``threshold``, ``linkage``,
    ``perturbation``, ``position``, ``size``, the CI options).

    Returns
    -------
    dict
        ``{n: AttractorResult}`` in the order of ``tokens``; each result's
        signature records ``after:n``.
    """
    tokens = list(tokens)
    if not tokens or len(set(tokens)) != len(tokens):
        raise InvalidParameterError(f"attractor_curve: 'tokens' must be distinct cut points, got {tokens!r}.")
    if kwargs.get("embedder") is None and "embeddings" not in kwargs:
        from .semantic import VectorMetric

        kwargs["embedder"] = VectorMetric.default_embedder()
    return {n: attractor_strength(unperturbed, perturbed, continuation_tokens=n, **kwargs) for n in tokens}
