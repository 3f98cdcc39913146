"""The result of a comparison: one :class:`MetricComparison` per metric, with
both sides, the paired difference, its CI, the effect size and the
Holm-corrected p-value; tables and citations of a :class:`Comparison`."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Hashable, Mapping

import numpy as np

from ..core.result import ConfidenceInterval, DiversityResult, jsonable

__all__ = ["MetricComparison", "Comparison", "LengthMismatchWarning"]


class LengthMismatchWarning(UserWarning):
    """The two sides' completions differ much in length, which moves lexical metrics."""


@dataclass(frozen=True)
class MetricComparison:
    """One metric, both sides, and their paired difference over prompts."""

    metric: str
    higher_is_more_diverse: bool
    a: DiversityResult
    b: DiversityResult
    n_prompts: int
    diff: float
    diff_ci: ConfidenceInterval | None
    effect_size: float
    p_value: float
    p_holm: float
    test: str
    reason: str | None = None  # why the paired statistics are undefined (None when they are defined)

    def verdict(self, alpha: float = 0.05) -> str:
        """``"less diverse"``, ``"more diverse"`` (b relative to a), ``"no significant difference"``,
        or ``"undefined"`` (see :attr:`reason`)."""
        if self.reason is not None:
            return "undefined"
        if not (self.p_holm < alpha) or self.diff == 0 or math.isnan(self.diff):
            return "no significant difference"
        more = (self.diff > 0) == self.higher_is_more_diverse
        return "more diverse" if more else "less diverse"

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "higher_is_more_diverse": self.higher_is_more_diverse,
            "a": self.a.to_dict(), "b": self.b.to_dict(), "n_prompts": self.n_prompts,
            "diff": jsonable(self.diff), "diff_ci": self.diff_ci.to_dict() if self.diff_ci else None,
            "effect_size_dz": jsonable(self.effect_size), "p_value": jsonable(self.p_value),
            "p_holm": jsonable(self.p_holm), "test": self.test, "verdict": self.verdict(),
            "reason": self.reason,
        }


def _stars(p: float) -> str:
    if math.isnan(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def _fmt_p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`: one :class:`MetricComparison` per metric."""

    labels: tuple[str, str]
    rows: tuple[MetricComparison, ...]
    prompts: tuple[Hashable, ...]
    missing: Mapping[str, tuple[Hashable, ...]]
    k: int
    mean_tokens: Mapping[str, float]
    signature: str
    alpha: float = 0.05
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, metric: str) -> MetricComparison:
        for r in self.rows:
            if r.metric == metric or r.a.metric == metric:
                return r
        raise KeyError(metric)

    @property
    def signatures(self) -> dict[str, str]:
        return {r.metric: r.a.signature for r in self.rows}

    def summary(self) -> str:
        """One sentence per metric, direction-aware."""
        a, b = self.labels
        lines = []
        for r in self.rows:
            v = r.verdict(self.alpha)
            if v == "undefined":
                lines.append(f"{r.metric}: undefined ({r.reason}).")
                continue
            ci = f" (95% CI {_fmt(r.diff_ci.low, 4)} to {_fmt(r.diff_ci.high, 4)})" if r.diff_ci else ""
            what = f"{b} is {v} than {a}" if v != "no significant difference" else f"no significant difference between {b} and {a}"
            lines.append(f"{r.metric}: {what}; difference {b} - {a} = {r.diff:+.4g}{ci}, "
                         f"d_z = {_fmt(r.effect_size, 2)}, p = {_fmt_p(r.p_value)} (Holm {_fmt_p(r.p_holm)}), "
                         f"over {r.n_prompts} prompts.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels), "k": self.k, "alpha": self.alpha, "signature": self.signature,
            "prompts": jsonable(list(self.prompts)), "missing": jsonable(dict(self.missing)),
            "mean_tokens": jsonable(dict(self.mean_tokens)), "settings": jsonable(dict(self.settings)),
            "metrics": [r.to_dict() for r in self.rows],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def to_csv(self) -> str:
        """One row per metric: both sides with CIs, the difference, d_z, p-values, verdict, signature."""
        import csv
        import io

        la, lb = self.labels
        fields = ["metric", "more_diverse", la, f"{la}_ci_low", f"{la}_ci_high", lb, f"{lb}_ci_low", f"{lb}_ci_high",
                  "diff", "diff_ci_low", "diff_ci_high", "effect_size_dz", "p_value", "p_holm", "verdict",
                  "n_prompts", "signature"]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({
                "metric": r.metric, "more_diverse": "higher" if r.higher_is_more_diverse else "lower",
                la: r.a.value, f"{la}_ci_low": r.a.ci.low if r.a.ci else "", f"{la}_ci_high": r.a.ci.high if r.a.ci else "",
                lb: r.b.value, f"{lb}_ci_low": r.b.ci.low if r.b.ci else "", f"{lb}_ci_high": r.b.ci.high if r.b.ci else "",
                "diff": r.diff, "diff_ci_low": r.diff_ci.low if r.diff_ci else "",
                "diff_ci_high": r.diff_ci.high if r.diff_ci else "", "effect_size_dz": r.effect_size,
                "p_value": r.p_value, "p_holm": r.p_holm, "verdict": r.verdict(self.alpha), "n_prompts": r.n_prompts,
                "signature": str(r.a.signature)})
        return buf.getvalue().rstrip("\n")

    def to_frame(self):
        """A pandas DataFrame, one row per metric (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover
            raise ImportError("to_frame() needs pandas: pip install pandas") from e
        a, b = self.labels
        return pd.DataFrame([{
            "metric": r.metric, "higher_is_more_diverse": r.higher_is_more_diverse,
            a: r.a.value, f"{a}_ci_low": r.a.ci.low if r.a.ci else np.nan, f"{a}_ci_high": r.a.ci.high if r.a.ci else np.nan,
            b: r.b.value, f"{b}_ci_low": r.b.ci.low if r.b.ci else np.nan, f"{b}_ci_high": r.b.ci.high if r.b.ci else np.nan,
            "diff": r.diff, "diff_ci_low": r.diff_ci.low if r.diff_ci else np.nan,
            "diff_ci_high": r.diff_ci.high if r.diff_ci else np.nan, "effect_size_dz": r.effect_size,
            "p_value": r.p_value, "p_holm": r.p_holm, "verdict": r.verdict(self.alpha), "n_prompts": r.n_prompts,
            "signature": r.a.signature,
        } for r in self.rows]).set_index("metric")

    def _cells(self, r: MetricComparison, latex: bool):
        def val(res: DiversityResult) -> str:
            if res.ci is None:
                return _fmt(res.value)
            return f"{_fmt(res.value)} [{_fmt(res.ci.low)}, {_fmt(res.ci.high)}]"

        arrow = ("$\\uparrow$" if r.higher_is_more_diverse else "$\\downarrow$") if latex else \
            ("↑" if r.higher_is_more_diverse else "↓")
        diff = f"{r.diff:+.3f}"
        if r.diff_ci:
            diff += f" [{r.diff_ci.low:+.3f}, {r.diff_ci.high:+.3f}]"
        stars = _stars(r.p_holm)
        if latex and stars:
            stars = f"$^{{{stars}}}$"
        p_cell = "undefined" if r.reason is not None else _fmt_p(r.p_holm) + stars
        return [r.metric, arrow, val(r.a), val(r.b), diff, _fmt(r.effect_size, 2), p_cell]

    def to_markdown(self) -> str:
        """A Markdown table with CIs, effect sizes, Holm p-values and footnotes."""
        a, b = self.labels
        head = ["metric", "", f"{a} (95% CI)", f"{b} (95% CI)", f"{b} − {a} (95% CI)", "d_z", "p (Holm)"]
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 5) + "|"]
        for r in self.rows:
            lines.append("| " + " | ".join(self._cells(r, False)) + " |")
        lines.append("")
        lines.append(f"↑/↓: higher/lower is more diverse. {len(self.prompts)} prompts, k = {self.k} completions "
                     f"per prompt per side. CIs: bootstrap over prompts. p: {self.settings.get('test')} test over "
                     "prompts, Holm-corrected across metrics; * p<0.05, ** p<0.01, *** p<0.001.")
        lines.append(f"Mean tokens per completion: {a} {_fmt(self.mean_tokens[a], 1)}, "
                     f"{b} {_fmt(self.mean_tokens[b], 1)}.")
        lines.append("")
        lines.append(f"Comparison: `{self.signature}`")
        for r in self.rows:
            lines.append(f"- `{r.a.signature}`")
        return "\n".join(lines)

    def to_latex(self, caption: str | None = None, label: str | None = None) -> str:
        """A booktabs table (needs ``\\usepackage{booktabs}``)."""
        a, b = self.labels

        def esc(s: str) -> str:
            return re.sub(r"([_%&#])", r"\\\1", s)

        head = ["Metric", "", esc(a), esc(b), f"{esc(b)} $-$ {esc(a)}", "$d_z$", "$p_{\\mathrm{Holm}}$"]
        out = ["\\begin{table}[t]", "\\centering", "\\small", "\\begin{tabular}{llrrrrr}", "\\toprule",
               " & ".join(head) + " \\\\", "\\midrule"]
        for r in self.rows:
            cells = self._cells(r, True)
            cells[0] = esc(cells[0])
            cells[6] = cells[6].replace("<", "$<$")
            out.append(" & ".join(cells) + " \\\\")
        out += ["\\bottomrule", "\\end{tabular}"]
        note = (f"{len(self.prompts)} prompts, $k={self.k}$ completions per prompt per side; values with 95\\% "
                f"bootstrap CIs over prompts; $p$: {esc(str(self.settings.get('test')))} test over prompts, "
                "Holm-corrected; $^{*}p<0.05$, $^{**}p<0.01$, $^{***}p<0.001$. $\\uparrow$/$\\downarrow$: "
                "higher/lower is more diverse.")
        out.append(f"\\caption{{{esc(caption) + ' ' if caption else ''}{note}}}")
        if label:
            out.append(f"\\label{{{label}}}")
        out.append("\\end{table}")
        return "\n".join(out)

    def cite(self) -> str:
        """BibTeX for every metric compared (and for arXiv 2406.05587)."""
        from ..report.citations import bibtex_for

        return bibtex_for([r.metric for r in self.rows], extra=("mohammadi2024creativity",))

    def __repr__(self) -> str:
        return f"<Comparison {self.labels[1]} vs {self.labels[0]}: {len(self.rows)} metrics, " \
               f"{len(self.prompts)} prompts, k={self.k}>\n" + self.summary()
