"""Paired statistics of two sides' per-prompt results: one row per metric
(difference, bootstrap CI, d_z, raw p-value), the Holm correction over the
caller's family of tests, and :func:`compare_results` for results computed
elsewhere."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..core.params import Choice, check
from ..core.result import DiversityResult, format_signature
from ..stats.bootstrap import bootstrap_mean_ci
from ..stats.paired import auto_resamples, holm, paired_test
from ..stats.seeding import canonical_order
from .fairness import length_field
from .result import Comparison, MetricComparison

__all__ = ["compare_results", "LENGTH_SENSITIVE"]

_TESTS = Choice(("permutation", "wilcoxon"))
# metrics whose value moves with completion length (marked when the sides differ in length)
LENGTH_SENSITIVE = ("distinct", "ngram-entropy", "self-bleu", "compression-ratio", "homogenization",
                    "unique-fraction")


def _paired_rows(ra: Mapping[str, DiversityResult], rb: Mapping[str, DiversityResult], test: str, permutations: int,
                 bootstrap: Any) -> tuple[list[dict[str, Any]], tuple, bool]:
    """One row per metric with the raw p-value (Holm is applied by the caller, over its family)."""
    if set(ra) != set(rb):
        raise ValueError(f"both sides need the same metrics: {sorted(ra)} vs {sorted(rb)}")
    rows, prompt_keys, any_exact = [], None, False
    for key in ra:
        a_res, b_res = ra[key], rb[key]
        if a_res.per_group is None or b_res.per_group is None:
            raise ValueError(f"{key}: paired statistics need per-prompt results (aggregate='per-prompt').")
        pos_a = {g: i for i, g in enumerate(a_res.groups)}
        pos_b = {g: i for i, g in enumerate(b_res.groups)}
        shared = [g for g in a_res.groups if g in pos_b]
        if prompt_keys is None:
            prompt_keys = tuple(shared)
        shared = [shared[i] for i in canonical_order(shared)]  # statistics never depend on the listing order
        va = np.array([a_res.per_group[pos_a[g]] for g in shared], dtype=float)
        vb = np.array([b_res.per_group[pos_b[g]] for g in shared], dtype=float)
        ok = ~(np.isnan(va) | np.isnan(vb))
        va, vb = va[ok], vb[ok]
        d = vb - va
        diff = float(d.mean()) if len(d) else math.nan
        reason = None if len(d) >= 2 else \
            f"defined on {len(d)} of {len(shared)} shared prompts on both sides; paired statistics need at least 2"
        diff_ci = bootstrap_mean_ci(d, level=bootstrap.confidence_level, n_resamples=bootstrap.n_resamples,
                                    method="percentile", seed=bootstrap.seed) if reason is None else None
        sd = float(d.std(ddof=1)) if len(d) >= 2 else math.nan
        effect = 0.0 if (len(d) >= 2 and sd == 0 and diff == 0) else (diff / sd if sd and sd > 0 else math.nan)
        p = paired_test(va, vb, test, permutations, bootstrap.seed) if reason is None else math.nan
        exact = test == "permutation" and reason is None and len(d) <= 62 and permutations >= 2 ** len(d)
        any_exact |= exact
        test_text = test if test != "permutation" else ("permutation-exact" if exact else f"permutation-{permutations}")
        rows.append(dict(metric=key, higher_is_more_diverse=a_res.higher_is_more_diverse, a=a_res, b=b_res,
                         n_prompts=int(len(d)), diff=diff, diff_ci=diff_ci, effect_size=effect, p_value=p,
                         test=test_text, reason=reason,
                         length_sensitive=key.split("?")[0].rsplit("-", 1)[0] in LENGTH_SENSITIVE
                         or key.split("?")[0] in LENGTH_SENSITIVE,
                         diversity=not key.startswith(("refusal-rate", "pass-rate"))))
    return rows, prompt_keys or (), any_exact


def _comparison(rows: list[dict], p_holm: Sequence[float], labels: tuple[str, str], prompts: tuple, sides: Any,
                test: str, permutations: int, any_exact: bool, alpha: float, bootstrap: Any,
                holm_family: int, extra: Mapping[str, Any] | None = None) -> Comparison:
    out_rows = tuple(MetricComparison(p_holm=float(h), **r) for r, h in zip(rows, p_holm))
    la, lb = labels
    test_field = test if test != "permutation" else f"permutation-{permutations}" + ("-exact-small-n" if any_exact
                                                                                    else "")
    k_field = f"{sides.k}-sub-seed{bootstrap.seed}" if sides.subsampled else sides.k
    sig = format_signature("compare", [("labels", f"{la},{lb}"), ("prompts", len(prompts)), ("k", k_field),
                                       *[f for f in sides.context if f[0] != "sub"], ("test", test_field),
                                       ("adj", f"holm-{holm_family}"), ("ci", bootstrap.field())])
    settings = {"test": test, "seed": bootstrap.seed, "n_resamples": bootstrap.n_resamples,
                "ci_level": bootstrap.confidence_level, "permutations": permutations if test == "permutation" else None,
                "any_exact": any_exact, "holm_family": holm_family, "length": length_field(sides.mode, sides.n),
                "max_tokens": sides.n if sides.mode == "truncate" else None, **(extra or {})}
    return Comparison(labels=(la, lb), rows=out_rows, prompts=prompts,
                      missing={la: sides.missing.get(la, ()), lb: sides.missing.get(lb, ())}, k=sides.k,
                      mean_tokens={la: sides.mean_tokens[la], lb: sides.mean_tokens[lb]}, signature=sig, alpha=alpha,
                      settings=settings)


def compare_results(ra: Mapping[str, DiversityResult], rb: Mapping[str, DiversityResult], *,
                    labels: tuple[str, str] = ("base", "aligned"), test: str = "permutation", alpha: float = 0.05,
                    ci_level: float = 0.95, n_resamples: int = 10_000, seed: int = 0, k: int | None = None,
                    permutations: int | None = None, mean_tokens: Mapping[str, float] | None = None,
                    missing: Mapping[str, tuple] | None = None, extra_fields: Sequence[tuple[str, Any]] = (),
                    settings: Mapping[str, Any] | None = None) -> Comparison:
    """Paired comparison of already computed per-prompt results (e.g. from
    :func:`diversity.score`, :func:`diversity.token_entropy` or
    :func:`diversity.attribute_diversity` on both sides).

    ``ra[name]`` and ``rb[name]`` must be per-prompt results; prompts are
    matched by their ``groups`` keys (a prompt missing on one side, or
    undefined on either, is left out of that metric's paired statistics).
    Holm's correction runs across the metrics given.
    """
    from ..core.options import BootstrapOptions

    check(test, "test", "compare_results", _TESTS)
    la, lb = labels
    b = BootstrapOptions(ci_level, n_resamples, "percentile", seed)
    permutations = permutations or auto_resamples(len(ra), minimum=n_resamples)
    rows, prompts, any_exact = _paired_rows(ra, rb, test, permutations, b)
    p = holm(np.array([r["p_value"] for r in rows], dtype=float))
    out_rows = tuple(MetricComparison(p_holm=float(h), **r) for r, h in zip(rows, p))
    test_field = test if test != "permutation" else f"permutation-{permutations}"
    sig = format_signature("compare", [("labels", f"{la},{lb}"), ("prompts", len(prompts)), *extra_fields,
                                       ("test", test_field), ("adj", f"holm-{len(rows)}"), ("ci", b.field())])
    if k is None:
        sizes = [r.a.n_samples // max(r.a.n_groups, 1) for r in out_rows]
        k = min(sizes) if sizes else 0
    return Comparison(labels=(la, lb), rows=out_rows, prompts=prompts, missing=dict(missing or {la: (), lb: ()}),
                      k=k, mean_tokens=dict(mean_tokens or {la: math.nan, lb: math.nan}), signature=sig, alpha=alpha,
                      settings={"test": test, "seed": seed, "n_resamples": n_resamples, "ci_level": ci_level,
                                "permutations": permutations if test == "permutation" else None,
                                "any_exact": any_exact, "holm_family": len(rows), **(settings or {})})


