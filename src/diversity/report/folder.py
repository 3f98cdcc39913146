"""A report folder a researcher can attach to a paper's appendix.

:func:`write_report` writes, for a :class:`~diversity.Comparison` or a
:class:`~diversity.MultiComparison`:

* ``report.md``: inputs (paths, SHA-256, rows, the sampler's recorded model,
  decoding settings and prompt format when the files carry them), the
  comparison table(s) (with the length-matched table when lengths differ), the
  verdicts, caveats that fit the data given, figures, signatures;
* ``table.tex`` (booktabs), ``comparison.json`` (reloadable with
  ``Comparison.from_dict``), ``per_prompt.csv`` (one row per prompt x metric x
  model), ``signatures.txt``, ``citations.bib``;
* figures as PNG and PDF (forest plot, per-prompt plots).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = ["write_report", "file_info"]


def file_info(path: str | os.PathLike) -> dict[str, Any]:
    """Path, size, SHA-256 and the sampler's metadata sidecar (if any) of an input file."""
    p = Path(path)
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    info: dict[str, Any] = {"path": str(p), "bytes": p.stat().st_size, "sha256": h.hexdigest()}
    meta = p.with_name(p.name + ".meta.json")
    if meta.is_file():
        try:
            info["meta"] = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info["meta_error"] = f"unreadable {meta.name}"
    return info


def _comparisons(result: Any) -> list[Any]:
    return list(result.values()) if hasattr(result, "comparisons") else [result]


def _caveats(result: Any, inputs: Mapping[str, dict[str, Any]]) -> list[str]:
    comps = _comparisons(result)
    first = comps[0]
    out = []
    metas = {lab: info.get("meta", {}) for lab, info in inputs.items()}
    formats = {m.get("prompt_format") for m in metas.values() if m.get("prompt_format")}
    if len(formats) > 1:
        out.append("The models were prompted differently (" + ", ".join(
            f"{lab}: {m.get('prompt_format')}" for lab, m in metas.items() if m.get("prompt_format")) +
            "); the prompt format alone moves diversity (a chat template raises same-prompt similarity).")
    decodings = {json.dumps(m.get("decoding"), sort_keys=True) for m in metas.values() if m.get("decoding")}
    if len(decodings) > 1:
        out.append("The samples were drawn with different decoding settings (see Inputs); differences mix "
                   "decoding with the models.")
    if any(c.length_warning for c in comps):
        out.append("Mean completion lengths differ by more than 1.5x; length-sensitive metrics (marked †) are "
                   "read with the length-matched table.")
    floor = first.settings.get("min_p_note")
    if floor:
        out.append(f"No difference can be significant here: {floor}. Compare more prompts (or fewer metrics).")
    elif len(first.prompts) < 30:
        p_min, p_holm = first.settings.get("min_p"), first.settings.get("min_p_holm")
        where = (f" (smallest attainable p {p_min:.3g}, {p_holm:.3g} after Holm over "
                 f"{first.settings.get('holm_family')} tests)") if p_min is not None else ""
        out.append(f"Only {len(first.prompts)} prompts{where}: confidence intervals are wide and small effects are not "
                   "detectable.")
    if first.k < 5:
        out.append(f"k = {first.k_text} completions per prompt: per-prompt diversity is estimated from few samples.")
    semantic = [r.metric for r in first.rows if r.a.signature.fields.get("emb")]
    if semantic:
        fields = first.rows[[r.metric for r in first.rows].index(semantic[0])].a.signature.fields
        maxlen, trunc = fields.get("maxlen"), first.settings.get("embedding_truncation")
        if fields.get("long"):
            out.append(f"Embeddings read whole completions ({fields['long']}: windows of the model's {maxlen} word "
                       "pieces, averaged).")
        elif maxlen and trunc:
            out.append(f"Embeddings read at most {maxlen} word pieces of each completion; longer completions (" +
                       ", ".join(f"{lab} {v:.0%}" for lab, v in trunc.items()) + ") are embedded by their beginning"
                       + (", and the sides differ: semantic differences mix content with length." if
                          max(trunc.values()) - min(trunc.values()) > 0.10 else "."))
        elif maxlen:
            out.append(f"Embeddings read at most {maxlen} word pieces of each completion; longer completions are "
                       "embedded by their beginning.")
        if first.cross_model:
            out.append("Raw embedding similarities depend on the encoder: read them against the between-prompt "
                       "floor reported beside them.")
    ids = {m.get("model") for m in metas.values() if m.get("model")}
    if len(ids) == len(metas) and len(ids) > 1:
        out.append("The compared models are different checkpoints; a difference is everything that differs between "
                   "them (family, size, data, alignment), not alignment alone, unless they share a base model.")
    notes = first.settings.get("length_notes") or {}
    for metric, per_side in notes.items():
        out.append(f"{metric}: " + "; ".join(f"{lab}: {note}" for lab, note in per_side.items()) + ".")
    if any(c.missing and any(c.missing.values()) for c in comps):
        out.append("Some prompts were missing on one side and are left out (see comparison.json).")
    return out


def _variants(c: Any) -> list[Any]:
    """A comparison with its length-matched and gated tables, and each one's second-encoder comparison."""
    tables = [v for v in (c, c.length_matched, c.gated) if v is not None]
    return tables + [v.encoders.second for v in tables if v.encoders is not None and v.encoders.second is not None]


def write_report(result: Any, out: str | os.PathLike, *, inputs: Mapping[str, str | os.PathLike] | None = None,
                 command: Sequence[str] | None = None, figures: bool = True,
                 figure_formats: Sequence[str] = ("png", "pdf")) -> Path:
    """Write the report folder of a comparison (or of several) to ``out``; returns its path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    infos = {lab: file_info(p) for lab, p in (inputs or {}).items()}
    comps = _comparisons(result)
    (out / "comparison.json").write_text(result.to_json(indent=2), encoding="utf-8")
    (out / "table.tex").write_text("\n\n".join(c.to_latex() for c in comps) + "\n", encoding="utf-8")
    with open(out / "per_prompt.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["comparison", "prompt", "metric", "model", "value", "length", "signature"])
        for c in comps:
            for variant in [c] + ([c.length_matched] if c.length_matched is not None else []):
                for r in variant.rows:
                    for res, label in ((r.a, variant.labels[0]), (r.b, variant.labels[1])):
                        for key, v in zip(res.groups or (), res.per_group or ()):
                            w.writerow([f"{variant.labels[1]} vs {variant.labels[0]}", key, r.metric, label, repr(v),
                                        variant.settings.get("length", "full"), str(res.signature)])
    sigs = sorted({str(c.signature) for c in comps} |
                  {str(res.signature) for c in comps for v in _variants(c) for r in v.rows for res in (r.a, r.b)})
    (out / "signatures.txt").write_text("\n".join(sigs) + "\n", encoding="utf-8")
    (out / "citations.bib").write_text(result.cite() + "\n", encoding="utf-8")
    made = _figures(result, out, figure_formats) if figures else []
    lines = ["# Diversity report", ""]
    if command:
        lines += ["Command: `" + " ".join(command) + "`", ""]
    if infos:
        lines += ["## Inputs", "", "| model | file | rows (bytes) | SHA-256 | recorded model | decoding | prompt format |",
                  "|---|---|---:|---|---|---|---|"]
        for lab, info in infos.items():
            meta = info.get("meta", {})
            dec = meta.get("decoding") or {}
            dec_s = ", ".join(f"{k}={dec[k]}" for k in ("k", "temperature", "top_p", "max_new_tokens", "seed")
                              if k in dec) or "not recorded"
            lines.append(f"| {lab} | `{Path(info['path']).name}` | {info['bytes']:,} | `{info['sha256'][:16]}…` | "
                         f"{meta.get('model', 'not recorded')} | {dec_s} | {meta.get('prompt_format', 'not recorded')} |")
        lines.append("")
    lines += ["## Comparison", "", result.to_markdown(), "", "## Verdicts", "", result.summary(), ""]
    caveats = _caveats(result, infos)
    if caveats:
        lines += ["## Caveats", ""] + [f"- {c}" for c in caveats] + [""]
    if made:
        lines += ["## Figures", ""] + [f"![{name}]({name})" for name in made if name.endswith(".png")] + [""]
    lines += ["## Files", "", "`comparison.json` (reload with `diversity.Comparison.from_dict(json.load(...))`), "
              "`table.tex`, `per_prompt.csv`, `signatures.txt`, `citations.bib`" +
              (", figures as " + "/".join(figure_formats).upper() if made else "") + "."]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _figures(result: Any, out: Path, formats: Sequence[str]) -> list[str]:
    try:
        from .plots import plot_forest, plot_per_prompt
    except ImportError:  # pragma: no cover - matplotlib is an extra
        return []
    made = []

    def save(fig: Any, stem: str) -> None:
        for fmt in formats:
            fig.savefig(out / f"{stem}.{fmt}", dpi=200, bbox_inches="tight")
            made.append(f"{stem}.{fmt}")

    save(plot_forest(result), "forest")
    for c in _comparisons(result):
        for r in list(c.rows[:1]) + [r for r in c.rows if r.a.signature.fields.get("emb")][:1]:
            if r.reason is None:
                name = r.metric.replace("?", "_").replace("&", "_").replace("=", "-")
                suffix = "" if len(_comparisons(result)) == 1 else f"_{c.labels[1]}"
                save(plot_per_prompt(c, r.metric), f"per_prompt_{name}{suffix}")
    return made
