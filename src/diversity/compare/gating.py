"""Comparisons on the completions that pass a gate: the gated table beside the
ungated one, the share of completions each side kept (tested with the same
paired statistics), and a sentence saying whether gating changed a verdict."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._version import __version__
from ..core.metric import Metric
from ..core.options import Options
from ..core.result import DiversityResult
from ..core.signature import Signature
from ..quality.gates import parse_gate
from ..stats.bootstrap import bootstrap_mean_ci
from ..stats.paired import auto_resamples, holm
from ..stats.seeding import canonical_order

__all__ = ["gated_comparison", "pass_rate_result"]


def pass_rate_result(result: DiversityResult, gate_spec: str, options: Options, context: Sequence[tuple]) -> DiversityResult:
    """Per prompt, the share of completions that passed the gate (from a gated result's details)."""
    kept = np.asarray(result.details.get("kept_per_prompt", ()), dtype=np.float64)
    k = result.n_samples / max(result.n_groups, 1)
    sizes = np.full(len(kept), k)
    values = kept / sizes
    b = options.bootstrap
    ordered = values[canonical_order(list(result.groups))]
    ci = bootstrap_mean_ci(ordered, level=b.confidence_level, n_resamples=b.n_resamples, method=b.method,
                           seed=b.seed) if len(values) >= 2 else None
    spec = f"pass-rate?gate={gate_spec}"
    fields = [("gate", gate_spec), *[f for f in context if f[0] != "gate"], ("agg", "per-prompt-mean"),
              ("k", f"{int(k)}")] + ([("ci", b.field()), ("seed", b.seed)] if ci else [])
    return DiversityResult(metric=spec, value=float(values.mean()) if len(values) else float("nan"),
                           higher_is_more_diverse=True, signature=Signature.build(spec, fields, __version__),
                           n_samples=result.n_samples, n_groups=result.n_groups, per_group=tuple(values.tolist()),
                           groups=result.groups, std=float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
                           ci=ci, details={"kept": int(kept.sum())})


def gated_comparison(c: Any, sides: Any, objs: list[Metric], labels: tuple[str, str], test: str,
                     permutations: int | None, alpha: float, embedder: Any, options: Options, gate: Any) -> Any:
    from .api import _score
    from .paired import _comparison, _paired_rows

    gate = parse_gate(gate)
    la, lb = labels
    results, _ = _score(sides, objs, options, embedder, gate=gate)
    first = objs[0].spec
    for lab in labels:
        pr = pass_rate_result(results[lab][first], gate.spec, options, sides.context)
        results[lab] = {**results[lab], pr.metric: pr}
    b = options.bootstrap
    permutations = permutations or auto_resamples(len(objs) + 1, minimum=b.n_resamples)
    rows, prompts, any_exact = _paired_rows(results[la], results[lb], test, permutations, b)
    p = holm(np.array([r["p_value"] for r in rows], dtype=float))
    gated = _comparison(rows, p, labels, prompts, sides, test, permutations, any_exact, alpha, b, len(rows),
                        extra={"gate": gate.spec})
    changed = [r.metric for r in c.rows if r.verdict(alpha) != gated[r.metric].verdict(alpha)]
    note = (f"Gating ({gate.spec}) changed the verdict of " + ", ".join(
        f"{m} ({c[m].verdict(alpha)} -> {gated[m].verdict(alpha)})" for m in changed) + "."
        if changed else f"Gating ({gate.spec}) changed no verdict.")
    return c.with_rows(c.rows, gated=gated, gate_note=note)
