"""Tables of scores for the command line and reports: a text table,
Markdown, LaTeX (booktabs), CSV and JSON, each row with its signature."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Mapping

__all__ = ["score_table"]


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    return f"{x:.4f}"


def score_table(results: Mapping[str, Any], fmt: str, title: str | None = None) -> str:
    """``results`` (spec -> DiversityResult) as a table in ``fmt``: table, markdown, latex, csv or json.

    The CI column is labelled with the level the CIs actually have."""
    levels = sorted({r.ci.level for r in results.values() if r.ci is not None})
    level = "/".join(f"{lv:.0%}" for lv in levels) or "95%"
    level_tex = level.replace("%", "\\%")
    rows = []
    for key, r in results.items():
        rows.append({
            "metric": key, "value": r.value, "ci_low": r.ci.low if r.ci else None,
            "ci_high": r.ci.high if r.ci else None, "std": r.std, "n_samples": r.n_samples, "n_groups": r.n_groups,
            "more_diverse": "higher" if r.higher_is_more_diverse else "lower", "signature": str(r.signature),
        })
    if fmt == "json":
        return json.dumps({k: r.to_dict() for k, r in results.items()}, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return buf.getvalue().rstrip("\n")
    if fmt == "markdown":
        out = [f"| metric | value | {level} CI | more diverse | signature |", "|---|---:|---:|---|---|"]
        for row in rows:
            ci = f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]" if row["ci_low"] is not None else ""
            out.append(f"| {row['metric']} | {_fmt(row['value'])} | {ci} | {row['more_diverse']} | "
                       f"`{row['signature'].replace('|', chr(92) + '|')}` |")
        return "\n".join(out)
    if fmt == "latex":
        from ..compare.tables import latex_escape

        out = ["\\begin{tabular}{lrrl}", "\\toprule", f"Metric & Value & {level_tex} CI & More diverse \\\\", "\\midrule"]
        for row in rows:
            ci = f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]" if row["ci_low"] is not None else ""
            out.append(f"{latex_escape(row['metric'])} & {_fmt(row['value'])} & {ci} & {row['more_diverse']} \\\\")
        out += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(out)
    lines = [title] if title else []
    lines.append(f"{'metric':<24} {'value':>9}  {level + ' CI':>19}  {'dir':<6} signature")
    for row in rows:
        ci = f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]" if row["ci_low"] is not None else ""
        lines.append(f"{row['metric']:<24} {_fmt(row['value']):>9}  {ci:>19}  {row['more_diverse']:<6} "
                     f"{row['signature']}")
    lines.append("(dir: which way is more diverse)")
    return "\n".join(lines)


