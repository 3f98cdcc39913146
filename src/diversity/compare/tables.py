"""Tables of comparisons for papers: Markdown, LaTeX (booktabs), CSV, pandas,
and the per-prompt export (one row per prompt x metric x model). Labels state
the CI level and the test actually used; length-sensitive verdicts are marked
when the sides differ in length."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import numpy as np

__all__ = ["comparison_markdown", "comparison_latex", "comparison_csv", "comparison_frame", "per_prompt_frame",
           "stars"]

DAGGER = "†"


_LATEX = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "^": r"\^{}", "~": r"\~{}",
          "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "<": r"\textless{}", ">": r"\textgreater{}",
          "|": r"\textbar{}", "−": "-", "–": "--", "≥": r"\textgreater{}=", "≤": r"\textless{}="}


def latex_escape(text: str) -> str:
    """Text as LaTeX typesets it literally (special characters escaped; a few Unicode signs spelled in ASCII)."""
    return "".join(_LATEX.get(ch, ch) for ch in str(text))


def stars(p: float) -> str:
    if math.isnan(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def _fmt_p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _level(c: Any) -> str:
    return f"{c.ci_level:.0%}"


def _test_text(c: Any, latex: bool = False) -> str:
    s = c.settings
    test = s.get("test", "permutation")
    pow2 = "$2^n$" if latex else "2^n"
    if test == "permutation":
        n = s.get("permutations")
        if s.get("all_exact"):
            return f"paired sign-flip permutation test (exact: all {pow2} sign patterns enumerated)"
        how = f"exact enumeration of sign patterns where {pow2} is small, else " if s.get("any_exact") else ""
        return f"paired sign-flip permutation test ({how}{n:,} random sign patterns)" if n else \
            "paired sign-flip permutation test"
    return "Wilcoxon signed-rank test"


def _k_note(c: Any) -> str:
    return " (equal on both sides within each prompt)" if "-" in c.k_text else ""


def _ci_text(c: Any) -> str:
    return f"bootstrap ({c.settings.get('ci_method', 'percentile')})"


def _family_text(c: Any) -> str:
    """Which tests each Holm correction ran over."""
    s = c.settings
    fam = s.get("families") or {}
    n = s.get("holm_family", len(c.rows))
    text = f"Holm-corrected across the {n} diversity tests"
    if fam.get("rates"):
        text += f" (rates: {', '.join(fam['rates'])}, corrected as their own family, beside them)"
    return text


def _dropped_text(c: Any) -> str | None:
    d = c.settings.get("dropped") or {}
    parts = []
    if d.get("prompts"):
        parts.append(f"{d['prompts']} prompts left out (a side kept no completion)")
    failed = d.get("failed_gate")
    if failed:
        parts.append("failed the gate: " + ", ".join(f"{lab} {n}" for lab, n in failed.items()))
    eq = d.get("equal_k", d.get("completions") if not failed else None)
    if eq and any(eq.values()):
        parts.append("set aside for equal k: " + ", ".join(f"{lab} {n}" for lab, n in eq.items()))
    if not parts:
        return None
    given = d.get("given", {})
    return ("Completions given: " + ", ".join(f"{lab} {n}" for lab, n in given.items()) + "; " + "; ".join(parts)
            + ".") if given else "; ".join(parts) + "."


def _cells(c: Any, r: Any, latex: bool) -> list[str]:
    def val(res: Any) -> str:
        if res.ci is None:
            return _fmt(res.value)
        return f"{_fmt(res.value)} [{_fmt(res.ci.low)}, {_fmt(res.ci.high)}]"

    arrow = ("$\\uparrow$" if r.higher_is_more_diverse else "$\\downarrow$") if latex else \
        ("↑" if r.higher_is_more_diverse else "↓")
    diff = "n/a" if math.isnan(r.diff) else f"{r.diff:+.3f}"
    if r.diff_ci:
        diff += f" [{r.diff_ci.low:+.3f}, {r.diff_ci.high:+.3f}]"
    mark = stars(r.p_holm)
    if latex and mark:
        mark = f"$^{{{mark}}}$"
    p_cell = "undefined" if r.reason is not None else _fmt_p(r.p_holm) + mark
    name = r.metric + (DAGGER if c.length_warning and r.length_sensitive else "")
    return [name, arrow, val(r.a), val(r.b), diff, _fmt(r.effect_size, 2), p_cell]


def _one_markdown(c: Any, title: str | None = None) -> list[str]:
    a, b = c.labels
    lv = _level(c)
    head = ["metric", "", f"{a} ({lv} CI)", f"{b} ({lv} CI)", f"{b} − {a} ({lv} CI)", "d_z", "p (Holm)"]
    lines = [title, ""] if title else []
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 5) + "|"]
    lines += ["| " + " | ".join(_cells(c, r, False)) + " |" for r in c.rows]
    lines.append("")
    st = c.settings
    length = st.get("length", "full")
    lines.append(f"↑/↓: higher/lower is more diverse. {len(c.prompts)} prompts, k = {c.k_text} completions per prompt "
                 f"per side{_k_note(c)}, length: {length}. CIs: {lv} {_ci_text(c)} over prompts "
                 f"({st.get('n_resamples', '?')} resamples). p: {_test_text(c)} over prompts, {_family_text(c)}; "
                 "* p<0.05, ** p<0.01, *** p<0.001.")
    lines += [x for x in c.statements() if not x.startswith("Holm family")]
    lines.append(f"Mean tokens per completion: {a} {_fmt(c.mean_tokens.get(a), 1)}, {b} "
                 f"{_fmt(c.mean_tokens.get(b), 1)}.")
    rates = st.get("refusal_rates")
    if rates:
        lines.append(f"Refusals ({st.get('refusal_detector', 'rules-v1')} detector on the full completions, empty "
                     f"answers included): {a} {rates.get(a, float('nan')):.1%}, {b} {rates.get(b, float('nan')):.1%} "
                     "of completions.")
    dropped = _dropped_text(c)
    if dropped:
        lines.append(dropped)
    for metric, per_side in (st.get("length_notes") or {}).items():
        lines.append(f"{metric}: " + "; ".join(f"{lab}: {note}" for lab, note in per_side.items()) + ".")
    if c.length_warning:
        lines.append(f"{DAGGER} Length-sensitive metric, and the sides' mean lengths differ by more than 1.5x: "
                     "read its verdict with the length-matched table.")
    for r in c.rows:
        if r.reason is not None:
            lines.append(f"- {r.metric}: undefined ({r.reason}).")
    if c.cross_model:
        x = c.cross_model
        lines.append(f"Cross-model homogeneity (mean cosine similarity of {a}'s and {b}'s completions of the same "
                     f"prompt): {_fmt(x.get('value'))} [{_fmt(x.get('ci_low'))}, {_fmt(x.get('ci_high'))}], "
                     f"between-prompt floor {_fmt(x.get('floor'))}.")
    return lines


def comparison_markdown(c: Any) -> str:
    title = "Full length" if c.length_matched is not None else ("All completions" if c.gated is not None else None)
    lines = _one_markdown(c, title)
    if c.length_matched is not None:
        lines += [""] + _one_markdown(c.length_matched, "Length-matched (per prompt, rank-matched truncation)")
    if c.gated is not None:
        lines += [""] + _one_markdown(c.gated, f"Completions that pass the gate `{c.gated.settings.get('gate')}`")
        lines += ["", c.gate_note or ""]
    for variant, which in ((c, "the table of all completions"), (c.length_matched, "the length-matched table"),
                           (c.gated, "the gated table")):
        if variant is not None and variant.encoders is not None:
            lines += ["", f"Encoder agreement ({which} under a second encoder)", ""]
            lines += variant.encoders.markdown(variant)
    lines += ["", f"Comparison: `{c.signature}`"] + [f"- `{r.a.signature}`" for r in c.rows]
    return "\n".join(lines)


def comparison_latex(c: Any, caption: str | None = None, label: str | None = None) -> str:
    a, b = c.labels

    esc = latex_escape

    head = ["Metric", "", esc(a), esc(b), f"{esc(b)} $-$ {esc(a)}", "$d_z$", "$p_{\\mathrm{Holm}}$"]
    out = ["\\begin{table}[t]", "\\centering", "\\small", "\\begin{tabular}{llrrrrr}", "\\toprule",
           " & ".join(head) + " \\\\", "\\midrule"]
    for r in c.rows:
        cells = _cells(c, r, True)
        cells[0] = esc(cells[0]).replace(DAGGER, "$^\\dagger$")
        cells[6] = cells[6].replace("<", "$<$")
        out.append(" & ".join(cells) + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}"]
    lv = esc(_level(c))
    note = (f"{len(c.prompts)} prompts, $k={esc(c.k_text)}$ completions per prompt per side{esc(_k_note(c))}; values "
            f"with {lv} {esc(_ci_text(c))} CIs over prompts; $p$: {_test_text(c, latex=True)} over prompts, "
            f"{esc(_family_text(c))}; $^{{*}}p<0.05$, $^{{**}}p<0.01$, $^{{***}}p<0.001$. "
            "$\\uparrow$/$\\downarrow$: higher/lower is more diverse.")
    for x in c.statements():
        if not x.startswith("Holm family"):
            note += " " + esc(x)
    if c.length_warning:
        note += " $^\\dagger$Length-sensitive metric; the sides differ in length by more than 1.5$\\times$."
    out.append(f"\\caption{{{esc(caption) + ' ' if caption else ''}{note}}}")
    if label:
        out.append(f"\\label{{{label}}}")
    out.append("\\end{table}")
    return "\n".join(out)


def _row_record(c: Any, r: Any, nan: Any = "") -> dict[str, Any]:
    la, lb = c.labels
    return {
        "metric": r.metric, "more_diverse": "higher" if r.higher_is_more_diverse else "lower",
        la: r.a.value, f"{la}_ci_low": r.a.ci.low if r.a.ci else nan, f"{la}_ci_high": r.a.ci.high if r.a.ci else nan,
        lb: r.b.value, f"{lb}_ci_low": r.b.ci.low if r.b.ci else nan, f"{lb}_ci_high": r.b.ci.high if r.b.ci else nan,
        "diff": r.diff, "diff_ci_low": r.diff_ci.low if r.diff_ci else nan,
        "diff_ci_high": r.diff_ci.high if r.diff_ci else nan, "effect_size_dz": r.effect_size,
        "p_value": r.p_value, "p_holm": r.p_holm, "verdict": r.verdict(c.alpha), "n_prompts": r.n_prompts,
        "ci_level": c.ci_level, "length": c.settings.get("length", "full"), "signature": str(r.a.signature)}


def comparison_csv(c: Any) -> str:
    rows = [_row_record(c, r) for r in c.rows]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["metric"], lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().rstrip("\n")


def comparison_frame(c: Any):
    from ..core.errors import require

    pd = require("pandas", "pandas", "a pandas table")

    return pd.DataFrame([_row_record(c, r, np.nan) for r in c.rows]).set_index("metric")


def per_prompt_frame(c: Any):
    """One row per prompt x metric x model: prompt, metric, model, value, signature."""
    from ..core.errors import require

    pd = require("pandas", "pandas", "a pandas table")

    rows = []
    for r in c.rows:
        for res, label in ((r.a, c.labels[0]), (r.b, c.labels[1])):
            for key, v in zip(res.groups or (), res.per_group or ()):
                rows.append({"prompt": key, "metric": r.metric, "model": label, "value": v,
                             "length": c.settings.get("length", "full"), "signature": str(res.signature)})
    return pd.DataFrame(rows, columns=["prompt", "metric", "model", "value", "length", "signature"])
