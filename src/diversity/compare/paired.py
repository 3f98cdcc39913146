"""The analysis of a comparison: paired statistics over prompts, one declared
Holm family per table, the smallest attainable p, and one signature builder.

* One row per metric: the paired difference (b − a) over the prompts where
  both sides are defined, its bootstrap CI by the requested method
  (``ci_method``), Cohen's d_z and the raw p-value of the paired test.
* **Families.** The diversity metrics of a table (those whose class declares
  ``diversity = True``) form one Holm family; rates reported beside them
  (refusal rate, the gate's pass rate: ``diversity = False``) form their own
  family and never change a diversity row's p-value. Both are stated in the
  settings (``families``) and in every table's footnote.
* **Smallest attainable p.** With n prompts no paired test can give less
  than 2/2^n (every difference of one sign; a random sign-flip test with B
  patterns: 2/(B+1)), and Holm over m tests multiplies the smallest p by m.
  When that floor exceeds alpha no difference can be significant: the
  comparison says so (``settings["min_p_holm"]``, a warning, the summary and
  the tables).

:func:`compare_results` runs the same analysis on per-prompt results computed
elsewhere.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..core.errors import warn
from ..core.params import Choice, check
from ..core.result import DiversityResult, format_signature
from ..stats.bootstrap import bootstrap_mean_ci
from ..stats.paired import auto_resamples, holm, paired_test
from ..stats.seeding import canonical_order
from .result import Comparison, MetricComparison, UnreachableSignificanceWarning

__all__ = ["compare_results", "paired_rows", "analyse", "smallest_p", "comparison_signature", "metric_properties"]

_TESTS = Choice(("permutation", "wilcoxon"))


def metric_properties(spec: str) -> dict[str, bool]:
    """``length_sensitive`` and ``diversity`` of a result's metric, as its class declares them
    (a result whose spec names no registered metric: length-sensitive diversity, the safe reading)."""
    from ..core.errors import InvalidParameterError
    from ..core.registry import from_spec

    try:
        m = from_spec(spec)
    except (InvalidParameterError, ValueError, TypeError):
        return {"length_sensitive": True, "diversity": True}
    return {"length_sensitive": bool(m.length_sensitive), "diversity": bool(m.is_diversity)}


def smallest_p(n: int, test: str, permutations: int | None) -> float:
    """The smallest two-sided p-value the paired test can give with ``n`` prompts: ``2 / 2^n``
    (every difference of one sign; exact sign-flip and exact Wilcoxon), or ``2 / (B + 1)`` for a
    sign-flip test with B random patterns, whichever is larger."""
    if n < 2:
        return math.nan
    floor = 2.0 / 2.0 ** n if n < 1075 else 0.0
    if test == "permutation" and permutations and not (n <= 62 and permutations >= 2 ** n):
        floor = max(floor, 2.0 / (permutations + 1))
    return min(1.0, floor)


def paired_rows(ra: Mapping[str, DiversityResult], rb: Mapping[str, DiversityResult], test: str, permutations: int,
                bootstrap: Any, properties: Mapping[str, Mapping[str, bool]] | None = None
                ) -> tuple[list[dict[str, Any]], tuple, bool, bool]:
    """One row per metric with the raw p-value (Holm is applied by :func:`analyse`, per family).

    Returns ``(rows, prompts, any_exact, all_exact)``."""
    if set(ra) != set(rb):
        raise ValueError(f"both sides need the same metrics: {sorted(ra)} vs {sorted(rb)}")
    rows, prompt_keys, any_exact, all_exact = [], None, False, True
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
                                    method=bootstrap.method, seed=bootstrap.seed) if reason is None else None
        sd = float(d.std(ddof=1)) if len(d) >= 2 else math.nan
        # a spread of rounding error only (identical differences) leaves d_z undefined, not 1e16
        tiny = 1e-12 * max(1.0, abs(diff)) if not math.isnan(diff) else 0.0
        effect = 0.0 if (len(d) >= 2 and sd <= tiny and diff == 0) else (diff / sd if sd > tiny else math.nan)
        p = paired_test(va, vb, test, permutations, bootstrap.seed) if reason is None else math.nan
        exact = test == "permutation" and reason is None and len(d) <= 62 and permutations >= 2 ** len(d)
        any_exact |= exact
        all_exact &= exact or reason is not None
        test_text = test if test != "permutation" else ("permutation-exact" if exact else f"permutation-{permutations}")
        props = (properties or {}).get(key) or metric_properties(key)
        rows.append(dict(metric=key, higher_is_more_diverse=a_res.higher_is_more_diverse, a=a_res, b=b_res,
                         n_prompts=int(len(d)), diff=diff, diff_ci=diff_ci, effect_size=effect, p_value=p,
                         test=test_text, reason=reason, length_sensitive=bool(props["length_sensitive"]),
                         diversity=bool(props["diversity"])))
    return rows, prompt_keys or (), any_exact, all_exact and any_exact


def test_field(test: str, permutations: int | None, any_exact: bool, all_exact: bool) -> str:
    """``test:`` of a comparison signature: what was actually run."""
    if test != "permutation":
        return test
    if all_exact:
        return "permutation-exact"
    return f"permutation-{permutations}" + ("-exact-small-n" if any_exact else "")


def comparison_signature(labels: Sequence[str], n_prompts: int, k_field: str, context: Sequence[tuple[str, Any]],
                         test_text: str, holm_family: int, ci_field: str) -> str:
    """The one builder of comparison signatures (``compare``, ``compare_many``, ``compare_results``)."""
    return format_signature("compare", [("labels", ",".join(labels)), ("prompts", n_prompts), ("k", k_field),
                                        *[f for f in context if f[0] != "sub"], ("test", test_text),
                                        ("adj", f"holm-{holm_family}"), ("ci", ci_field)])


def families(rows: Sequence[Mapping[str, Any]], offset: int = 0) -> dict[str, list[int]]:
    """Row positions of each Holm family: ``diversity`` and ``rates``."""
    out: dict[str, list[int]] = {"diversity": [], "rates": []}
    for i, r in enumerate(rows):
        out["diversity" if r["diversity"] else "rates"].append(offset + i)
    return out


def holm_by_family(p: Sequence[float], fam: Mapping[str, Sequence[int]]) -> np.ndarray:
    """Holm-adjusted p-values, each family corrected on its own."""
    p = np.asarray(p, dtype=float)
    out = np.full(len(p), np.nan)
    for idx in fam.values():
        if idx:
            out[list(idx)] = holm(p[list(idx)])
    return out


def significance_floor(rows: Sequence[Mapping[str, Any]], test: str, permutations: int | None, family_size: int,
                       alpha: float, what: str, announce: bool = True) -> dict[str, Any]:
    """The smallest attainable p and Holm-corrected p of a family; a warning when the latter is above alpha."""
    ns = [r["n_prompts"] for r in rows if r["diversity"] and r["reason"] is None]
    if not ns or family_size == 0:
        return {}
    n = max(ns)
    p_min = smallest_p(n, test, permutations)
    p_holm = min(1.0, family_size * p_min)
    out = {"min_p": p_min, "min_p_holm": p_holm, "min_p_prompts": n}
    if p_holm >= alpha:
        note = (f"with {n} prompts the smallest attainable p is {p_min:.3g} ({_test_name(test, permutations, n)}), "
                f"{p_holm:.3g} after Holm over {family_size} test{'s' if family_size != 1 else ''}: no difference can reach p < {alpha:g}")
        out["min_p_note"] = note
        if announce:
            warn(f"{what}: {note}. Compare more prompts (or fewer metrics).", UnreachableSignificanceWarning)
    return out


def _test_name(test: str, permutations: int | None, n: int) -> str:
    if test == "wilcoxon":
        return "Wilcoxon signed-rank"
    exact = n <= 62 and permutations is not None and permutations >= 2 ** n
    return "exact sign-flip test" if exact else f"sign-flip test with {permutations} random patterns"


def analyse(ra: Mapping[str, DiversityResult], rb: Mapping[str, DiversityResult], *, labels: tuple[str, str],
            test: str, permutations: int, alpha: float, bootstrap: Any, k_field: str, k: int,
            context: Sequence[tuple[str, Any]], missing: Mapping[str, tuple], mean_tokens: Mapping[str, float],
            properties: Mapping[str, Mapping[str, bool]] | None = None, settings: Mapping[str, Any] | None = None,
            what: str = "compare", announce: bool = True) -> Comparison:
    """Paired rows of one table, Holm per declared family, the significance floor, and the signature."""
    rows, prompts, any_exact, all_exact = paired_rows(ra, rb, test, permutations, bootstrap, properties)
    fam = families(rows)
    p = holm_by_family([r["p_value"] for r in rows], fam)
    return _assemble(rows, p, fam, prompts, any_exact, all_exact, labels=labels, test=test, permutations=permutations,
                     alpha=alpha, bootstrap=bootstrap, k_field=k_field, k=k, context=context, missing=missing,
                     mean_tokens=mean_tokens, settings=settings, holm_family=len(fam["diversity"]),
                     rates_family=len(fam["rates"]), what=what, announce=announce)


def _assemble(rows: list[dict], p_holm: Sequence[float], fam: Mapping[str, list[int]], prompts: tuple,
              any_exact: bool, all_exact: bool, *, labels: tuple[str, str], test: str, permutations: int,
              alpha: float, bootstrap: Any, k_field: str, k: int, context: Sequence[tuple[str, Any]],
              missing: Mapping[str, tuple], mean_tokens: Mapping[str, float], settings: Mapping[str, Any] | None,
              holm_family: int, rates_family: int, what: str, announce: bool) -> Comparison:
    out_rows = tuple(MetricComparison(p_holm=float(h), **r) for r, h in zip(rows, p_holm))
    la, lb = labels
    text = test_field(test, permutations, any_exact, all_exact)
    sig = comparison_signature(labels, len(prompts), k_field, context, text, holm_family, bootstrap.field())
    floor = significance_floor(rows, test, permutations if test == "permutation" else None, holm_family, alpha,
                               what, announce)
    s = {"test": test, "seed": bootstrap.seed, "n_resamples": bootstrap.n_resamples,
         "ci_level": bootstrap.confidence_level, "ci_method": bootstrap.method,
         "permutations": permutations if test == "permutation" else None, "any_exact": any_exact,
         "all_exact": all_exact, "holm_family": holm_family,
         "families": {"diversity": [rows[i]["metric"] for i in fam["diversity"]],
                      "rates": [rows[i]["metric"] for i in fam["rates"]]},
         "k_text": k_field.split("-sub-")[0], **floor, **(settings or {})}
    return Comparison(labels=(la, lb), rows=out_rows, prompts=prompts,
                      missing={la: tuple(missing.get(la, ())), lb: tuple(missing.get(lb, ()))}, k=k,
                      mean_tokens={la: mean_tokens.get(la, math.nan), lb: mean_tokens.get(lb, math.nan)},
                      signature=sig, alpha=alpha, settings=s)


def _k_of(results: Sequence[DiversityResult]) -> tuple[str, int]:
    """The ``k`` of per-metric signatures (a range when they differ), and the smallest k."""
    lows, highs = [], []
    for r in results:
        text = r.signature.fields.get("k") if hasattr(r.signature, "fields") else None
        if not text:
            continue
        lo, _, hi = text.partition("-")
        try:
            lows.append(int(lo))
            highs.append(int(hi or lo))
        except ValueError:
            continue
    if not lows:
        sizes = [r.n_samples // max(r.n_groups, 1) for r in results]
        return (str(min(sizes)) if sizes else "0"), (min(sizes) if sizes else 0)
    lo, hi = min(lows), max(highs)
    return (str(lo) if lo == hi else f"{lo}-{hi}"), lo


def compare_results(ra: Mapping[str, DiversityResult], rb: Mapping[str, DiversityResult], *,
                    labels: tuple[str, str] = ("base", "aligned"), test: str = "permutation", alpha: float = 0.05,
                    ci_level: float = 0.95, n_resamples: int = 10_000, ci_method: str = "percentile", seed: int = 0,
                    k: int | None = None, permutations: int | None = None,
                    mean_tokens: Mapping[str, float] | None = None, missing: Mapping[str, tuple] | None = None,
                    extra_fields: Sequence[tuple[str, Any]] = (), settings: Mapping[str, Any] | None = None
                    ) -> Comparison:
    """Paired comparison of already computed per-prompt results (e.g. from
    :func:`diversity.score`, :func:`diversity.token_entropy` or
    :func:`diversity.attribute_diversity` on both sides).

    ``ra[name]`` and ``rb[name]`` must be per-prompt results; prompts are
    matched by their ``groups`` keys (a prompt missing on one side, or
    undefined on either, is left out of that metric's paired statistics).
    The diversity metrics form one Holm family and rates (a metric whose
    class declares ``diversity = False``) another, as in :func:`compare`.
    The signature records k as the results' signatures give it (``k=``
    overrides), the test actually run (``permutation-exact`` when every
    pattern was enumerated) and ``extra_fields`` (e.g. ``("len", "match")``).

    Parameters
    ----------
    ra, rb : mapping name -> DiversityResult
    labels : (str, str)
    test : {"permutation", "wilcoxon"}
    alpha : float
    ci_level, n_resamples, ci_method, seed
        The bootstrap of the difference CI (``ci_method``: ``"percentile"``,
        ``"basic"`` or ``"BCa"``).
    k : int or None
        Completions per prompt, when the results' signatures do not say it.
    permutations : int or None
        As in :func:`compare`.
    mean_tokens, missing, extra_fields, settings
        Carried into the comparison.

    Returns
    -------
    Comparison
    """
    from ..core.options import BootstrapOptions

    check(test, "test", "compare_results", _TESTS)
    check(ci_method, "ci_method", "compare_results", Choice(("percentile", "basic", "BCa")))
    la, lb = labels
    b = BootstrapOptions(ci_level, n_resamples, ci_method, seed)
    permutations = permutations or auto_resamples(len(ra), minimum=n_resamples)
    k_text, k_low = _k_of(list(ra.values()) + list(rb.values()))
    if k is not None:
        k_text, k_low = str(k), k
    return analyse(ra, rb, labels=(la, lb), test=test, permutations=permutations, alpha=alpha, bootstrap=b,
                   k_field=k_text, k=k_low, context=list(extra_fields), missing=dict(missing or {la: (), lb: ()}),
                   mean_tokens=dict(mean_tokens or {la: math.nan, lb: math.nan}), settings=settings,
                   what="compare_results")
