"""The gate's side of a comparison: the pass rate per prompt (the share of the
given completions that pass, decided on the full completions by the design),
and a sentence saying whether gating changed a verdict and which Holm
families it compares."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._version import __version__
from ..core.options import Options
from ..core.result import DiversityResult
from ..core.signature import Signature
from ..stats.bootstrap import bootstrap_mean_ci
from ..stats.seeding import canonical_order
from .design import Design

__all__ = ["pass_rate_result", "gate_note"]


def pass_rate_result(design: Design, lab: str, options: Options) -> DiversityResult:
    """Per prompt (every paired prompt), the share of the given completions that pass the gate."""
    counts = design.pass_counts(lab)
    keys = list(design.prompts)
    values = np.array([counts[p][0] / counts[p][1] for p in keys], dtype=np.float64)
    sizes = [counts[p][1] for p in keys]
    b = options.bootstrap
    ordered = values[canonical_order(keys)]
    ci = bootstrap_mean_ci(ordered, level=b.confidence_level, n_resamples=b.n_resamples, method=b.method,
                           seed=b.seed) if len(values) >= 2 else None
    gate = design.gated.gate if design.gated is not None else design.gate.spec
    spec = f"pass-rate?gate={gate}"
    lo, hi = min(sizes), max(sizes)
    fields = [("gate", gate), ("len", "full"), ("agg", "per-prompt-mean"),
              ("k", str(lo) if lo == hi else f"{lo}-{hi}")] + ([("ci", b.field()), ("seed", b.seed)] if ci else [])
    return DiversityResult(metric=spec, value=float(values.mean()) if len(values) else float("nan"),
                           higher_is_more_diverse=True, signature=Signature.build(spec, fields, __version__),
                           n_samples=int(sum(sizes)), n_groups=len(keys), per_group=tuple(values.tolist()),
                           groups=tuple(keys), std=float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
                           ci=ci, details={"kept": int(sum(counts[p][0] for p in keys))})


def gate_note(full: Any, gated: Any, spec: str, alpha: float) -> str:
    """Whether gating changed a diversity verdict, naming the two families compared."""
    shared = [r for r in full.rows if r.diversity and any(g.metric == r.metric for g in gated.rows)]
    changed = [r.metric for r in shared if r.verdict(alpha) != gated[r.metric].verdict(alpha)]
    families = (f"(each table's {len(shared)} diversity metrics Holm-corrected as their own family: "
                f"{full.settings.get('holm_family')} tests on all completions, {gated.settings.get('holm_family')} "
                "on those that pass; pass and refusal rates are not in either family)")
    if changed:
        return (f"Gating ({spec}) changed the verdict of " + ", ".join(
            f"{m} ({full[m].verdict(alpha)} -> {gated[m].verdict(alpha)})" for m in changed) + f" {families}.")
    return f"Gating ({spec}) changed no verdict {families}."
