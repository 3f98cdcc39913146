"""From finished groups to a :class:`~diversity.DiversityResult`: the mean over
prompts (undefined prompts left out, with a warning), the bootstrap CI over
prompts, details, and the signature."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._version import __version__
from ..stats.bootstrap import bootstrap_mean_ci
from ..stats.seeding import canonical_order
from .errors import UndefinedMetricWarning, warn
from .result import DiversityResult
from .signature import Signature

__all__ = ["aggregate", "want_ci"]


def want_ci(state: Any) -> bool:
    opts = state.options
    if opts.ci is not None:
        return opts.ci
    return state.mode == "per-prompt" and len(state.order) >= 2


def aggregate(state: Any, j: int) -> DiversityResult:
    from .state import BLANK_REASON

    metric, opts = state.metrics[j], state.options
    keys = list(state.order)
    groups = [state.done[k] for k in keys]
    values = np.array([g.values[j] for g in groups], dtype=np.float64)
    all_blank = np.array([g.n_blank == g.size for g in groups], dtype=bool)
    undefined = np.isnan(values)
    reason = metric.undefined_reason
    n_blank_groups = int((all_blank & undefined).sum())
    if n_blank_groups:
        reason = f"{reason}; or {BLANK_REASON}" if n_blank_groups < undefined.sum() else BLANK_REASON
    gated_out = np.array([g.n_gated > 0 and g.n_gated + g.n_blank == g.size for g in groups], dtype=bool)
    if (gated_out & undefined).any():
        reason = f"{reason}; or no completion passed the gate"
    ci_on = want_ci(state)
    if ci_on and state.mode != "per-prompt":
        what = "a single set" if state.mode == "single" else "a pooled set"
        raise ValueError(
            f"{opts.func}: no confidence interval for {what}. CIs come from a bootstrap over prompts: pass "
            "samples grouped by prompt with aggregate='per-prompt' (resampling completions, or prompts "
            "into a pooled set, duplicates completions and biases diversity downward).")
    extras = {}
    computed = [g for g in groups if g.extras[j]]
    for name in (computed[0].extras[j] if computed else {}):
        extras[name] = [g.extras[j][name] for g in computed]
    if metric.per_completion:  # aligned with every completion given, NaN for prompts with no content
        extras["per_completion"] = [g.extras[j].get("per_completion", np.full(g.size, metric.blank_value))
                                    for g in groups]
    computed_mask = np.array([bool(g.extras[j]) for g in groups], dtype=bool)
    if computed_mask.any():
        values = values.copy()
        values[computed_mask] = metric.finalize(values[computed_mask], extras)
    undefined = np.isnan(values)
    details = dict(metric.details(extras, len(computed)))
    if metric.uses_tokens:
        details.update(_length_details(extras, sum(g.n_blank for g in groups)))
    if state.has_texts:
        details["n_blank"] = int(sum(g.n_blank for g in groups))
    if any(g.n_gated for g in groups) or any(f[0] == "gate" for f in state.context_fields):
        details["n_gated_out"] = int(sum(g.n_gated for g in groups))
        details["kept_per_prompt"] = tuple(g.size - g.n_blank - g.n_gated for g in groups)
    per_group = std = ci = None
    if state.mode == "per-prompt":
        if undefined.all():
            value = math.nan
            warn(f"{metric.spec} is undefined for every prompt ({reason}); returning NaN.", UndefinedMetricWarning)
        else:
            if undefined.any():
                bad = [keys[i] for i in np.flatnonzero(undefined)[:5]]
                warn(f"{metric.spec} is undefined for {int(undefined.sum())} of {len(values)} prompts ({reason}), "
                     f"e.g. {bad!r}; they are left out of the mean (their per_group value is NaN).",
                     UndefinedMetricWarning)
            defined = values[~undefined]
            value = float(defined.mean())
            std = float(defined.std(ddof=1)) if len(defined) > 1 else math.nan
        per_group = tuple(float(v) for v in values)
        details["n_undefined_groups"] = int(undefined.sum())
        if ci_on and (opts.ci or (~undefined).sum() >= 2):  # automatic CIs need 2 defined prompts
            ordered = values[canonical_order(keys)]  # resampling never depends on the listing order
            b = opts.bootstrap
            ci = bootstrap_mean_ci(ordered[~np.isnan(ordered)], level=b.confidence_level,
                                   n_resamples=b.n_resamples, method=b.method, seed=b.seed)
    else:
        value = float(values[0]) if len(values) else math.nan
        if math.isnan(value):
            warn(f"{metric.spec} is undefined ({reason}); returning NaN.", UndefinedMetricWarning)
    sizes = [g.size for g in groups]
    n_samples = int(sum(sizes))
    fields: list[tuple[str, Any]] = list(metric.fields(_Context(state, sizes)))
    if metric.uses_tokens:
        fields += [("tok", opts.tokenizer.spec), ("lc", opts.lowercase)]
    if metric.input == "vectors" and state.embedding_fields:
        fields += state.embedding_fields
    fields += list(state.context_fields)
    agg = {"single": "none", "per-prompt": "per-prompt-mean", "pooled": "pooled"}[state.mode]
    fields += [("agg", agg), ("k", _k_field(state, sizes))]
    if ci is not None:
        fields += [("ci", opts.bootstrap.field()), ("seed", opts.bootstrap.seed)]
    return DiversityResult(
        metric=metric.spec, value=value, higher_is_more_diverse=metric.higher_is_more_diverse,
        signature=Signature.build(metric.spec, fields, __version__), n_samples=n_samples,
        n_groups=state.n_groups_given if state.mode == "pooled" else len(groups), per_group=per_group,
        groups=tuple(keys) if state.mode == "per-prompt" else None, std=std, ci=ci, details=details)


class _Context:
    """What a metric's signature fields may depend on."""

    def __init__(self, state: Any, sizes: list[int]) -> None:
        self.tokenizer = state.options.tokenizer
        self.lowercase = state.options.lowercase
        self.sizes = np.array(state.group_sizes if state.mode == "pooled" else sizes, dtype=np.int64)
        self.kernels_given = state.kernels_given


def _k_field(state: Any, sizes: list[int]) -> str:
    sizes = state.group_sizes if state.mode == "pooled" else sizes
    if not sizes:
        return "0"
    lo, hi = min(sizes), max(sizes)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _length_details(extras: dict[str, list], n_blank: int) -> dict[str, float]:
    n = float(np.sum(extras.get("n_texts", []))) + n_blank
    s = float(np.sum(extras.get("sum_tokens", [])))
    sq = float(np.sum(extras.get("sum_sq_tokens", [])))
    if n == 0:
        return {"mean_tokens": math.nan, "std_tokens": math.nan, "total_tokens": 0}
    mean = s / n
    var = max(sq - n * mean * mean, 0.0) / (n - 1) if n > 1 else 0.0
    return {"mean_tokens": mean, "std_tokens": math.sqrt(var), "total_tokens": int(round(s))}
