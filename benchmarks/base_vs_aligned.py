"""Base vs aligned, end to end: sample both models (or take sample files),
compare them prompt by prompt with every metric family, and write a report folder.

    python benchmarks/base_vs_aligned.py --base gemma-3-270m --aligned smollm2-135m-instruct --out report/
    python benchmarks/base_vs_aligned.py --base base.jsonl --aligned aligned.jsonl --out report/
    python benchmarks/base_vs_aligned.py --example --out report/      # the bundled sample set

--base/--aligned take a sample file (anything diversity.load_samples reads:
JSONL/CSV/TSV, plain or gzip, rows {"prompt", "completion"} or the sampler's
rows with prompt_id, task and top_logprobs) or a model (folder, .gguf or
shortcut), which is then sampled into <out>/samples/ with --prompts. The
report folder is the library's (diversity.report.folder.write_report):
report.md, table.tex, comparison.json, per_prompt.csv, signatures,
citations, figures; plus, when the files carry them, the paper's
measurements: next-token entropy and the branching factor (top_logprobs) and persona attributes
(rows with task "persona"), and embedding clouds.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import diversity
from diversity.compare import compare_results, default_compare_metrics
from diversity.generation.extract import PERSONA_FIELDS, extract_attributes
from diversity.report.folder import write_report

HERE = Path(__file__).resolve().parent
METRICS = ["distinct-1", "distinct-2", "ngram-entropy-2", "self-bleu", "homogenization-rouge-l", "unique-fraction",
           "compression-ratio", "mattr?window=20", "mean-pairwise-distance", "vendi", "chamfer", "semantic-clusters"]


def obtain(spec: str, side: str, out: Path, args) -> Path:
    p = Path(spec)
    if p.is_file():
        return p
    from _models import resolve
    from diversity.generation import DecodingConfig, TransformersBackend, load_prompts, sample_to_jsonl

    path, model_id = resolve(spec)
    config = DecodingConfig(k=args.k, temperature=args.temperature, top_p=args.top_p,
                            max_new_tokens=args.max_new_tokens, seed=args.seed, top_logprobs=5)
    return sample_to_jsonl(TransformersBackend(path, model_id=model_id), load_prompts(args.prompts),
                           out / "samples" / f"{side}.jsonl", config)


def rows_of(path: Path) -> list[dict]:
    """Every row as a dict, for the optional fields (task, top_logprobs); [] when the file is not JSONL."""
    try:
        return diversity.load_records(path)
    except (ValueError, OSError):
        return []


def key_field(rows: list[dict]) -> str:
    return "prompt_id" if rows and all("prompt_id" in r for r in rows) else "prompt"


def group(rows: list[dict], field: str, persona: bool = False) -> dict:
    out: dict = {}
    key = key_field(rows)
    for r in rows:
        if (r.get("task") == "persona") == persona and r.get(field) is not None:
            out.setdefault(r[key], []).append(r[field])
    return out


def paper_measurements(rows_a, rows_b, la, lb, seed):
    """Next-token entropy and persona attribute entropy, where the files carry them."""
    extra_a, extra_b, personas = {}, {}, {}
    lp_a, lp_b = group(rows_a, "top_logprobs"), group(rows_b, "top_logprobs")
    common = [p for p in lp_a if p in lp_b]
    if common:
        extra_a["token-entropy"] = diversity.token_entropy({p: lp_a[p] for p in common}, top_k=5)
        extra_b["token-entropy"] = diversity.token_entropy({p: lp_b[p] for p in common}, top_k=5)
        # the branching factor (arXiv 2506.17871) over a common horizon: it falls with position, so both
        # models are read over the same first positions; positions need min(4, k) samples (the authors' rule)
        k_min = min(len(d[p]) for d in (lp_a, lp_b) for p in common)
        bf = {"top_k": 5, "min_samples": min(4, k_min), "horizon": 32}
        extra_a["branching-factor"] = diversity.branching_factor({p: lp_a[p] for p in common}, **bf)
        extra_b["branching-factor"] = diversity.branching_factor({p: lp_b[p] for p in common}, **bf)
    pa, pb = group(rows_a, "completion", persona=True), group(rows_b, "completion", persona=True)
    if pa and pb:
        for lab, pers, target in ((la, pa, extra_a), (lb, pb, extra_b)):
            tables = {p: extract_attributes(ts) for p, ts in pers.items()}
            personas[lab] = {
                "n": sum(t.n for t in tables.values()), "unparsed": sum(len(t.failures) for t in tables.values()),
                "parsed_per_field": {f: sum(len(t.column(f)) for t in tables.values()) for f in PERSONA_FIELDS},
                "top": {f: Counter(v for t in tables.values() for v in t.column(f)).most_common(5)
                        for f in ("nationality", "gender", "name")}}
            for f in ("nationality", "gender", "name"):
                vals = {p: [v.casefold() for v in t.column(f)] for p, t in tables.items()}
                vals = {p: v for p, v in vals.items() if v}
                if vals:
                    target[f"attribute-entropy[{f}]"] = diversity.attribute_diversity(vals, ci=len(vals) >= 2)
    shared = [k for k in extra_a if k in extra_b]
    paper = compare_results({k: extra_a[k] for k in shared}, {k: extra_b[k] for k in shared}, labels=(la, lb),
                            seed=seed) if shared else None
    return paper, personas


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base")
    ap.add_argument("--aligned")
    ap.add_argument("--example", action="store_true", help="use the bundled model-generated sample set")
    ap.add_argument("--labels", nargs=2, default=["base", "aligned"])
    ap.add_argument("--prompts", default=str(HERE / "prompts" / "suite.jsonl"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--metrics", nargs="+", default=None, help="metric specs (default: every family)")
    ap.add_argument("--length", default="full", help="full, match or truncate:<n>")
    ap.add_argument("--max-tokens", type=int, default=None, help="shorthand for --length truncate:<n>")
    ap.add_argument("--test", choices=["permutation", "wilcoxon"], default="permutation")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--top-p", type=float, default=1.0)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-semantic", action="store_true", help="skip embedding-based metrics and plots")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.example:
        from diversity.io.datasets import example_path

        pa, pb = example_path("base"), example_path("aligned")
    else:
        if not (args.base and args.aligned):
            raise SystemExit("give --base and --aligned (models or sample files), or --example")
        pa, pb = obtain(args.base, "base", out, args), obtain(args.aligned, "aligned", out, args)
    la, lb = args.labels
    rows_a, rows_b = rows_of(pa), rows_of(pb)
    if rows_a and rows_b:  # the sampler's rows: open-ended prompts only (personas are measured separately)
        a, b = group(rows_a, "completion"), group(rows_b, "completion")
    else:
        a, b = diversity.load_samples(pa), diversity.load_samples(pb)
    metrics = args.metrics or [m for m in METRICS if not (args.no_semantic and m in (
        "mean-pairwise-distance", "vendi", "chamfer", "semantic-clusters"))]
    if not args.metrics and "vendi" not in default_compare_metrics():
        metrics = [m for m in metrics if m not in ("mean-pairwise-distance", "vendi", "chamfer", "semantic-clusters")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cmp = diversity.compare(a, b, metrics, labels=(la, lb), length=args.length, max_tokens=args.max_tokens,
                                test=args.test, seed=args.seed)
    folder = write_report(cmp, out, inputs={la: pa, lb: pb}, command=["python", "benchmarks/base_vs_aligned.py",
                                                                     *(argv or sys.argv[1:])])
    paper, personas = paper_measurements(rows_a, rows_b, la, lb, args.seed)
    lines = [(out / "report.md").read_text(encoding="utf-8").rstrip(), ""]
    if caught:
        lines += ["## Warnings", ""] + [f"- {m}" for m in dict.fromkeys(str(w.message) for w in caught)] + [""]
    if paper is not None:
        lines += ["## The measurements of arXiv 2406.05587", "",
                  "Next-token entropy: bits of the renormalised top-5 next-token distribution, averaged over generated "
                  "positions (per prompt, then over prompts). Attribute entropy: Shannon entropy (bits) of the values "
                  "extracted from generated personas, per persona prompt (case-folded).", "", paper.to_markdown(), ""]
    if personas:
        lines += ["### Personas", ""]
        for lab, info in personas.items():
            lines.append(f"- **{lab}**: {info['n']} personas, {info['unparsed']} not fully parseable; values found per "
                         f"field: {info['parsed_per_field']}")
            for f, top in info["top"].items():
                lines.append(f"  - top {f}: " + ", ".join(f"{v} ({c})" for v, c in top))
        lines.append("")
    if not args.no_semantic and "vendi" in metrics:
        try:
            from diversity.report.plots import plot_embeddings

            texts = {r[key_field(rows_a)]: r.get("prompt") for r in rows_a} if rows_a else {}
            plot_embeddings({la: a, lb: b}, per_prompt=True, prompts=list(cmp.prompts[:6]), seed=args.seed,
                            prompt_text=texts or None).savefig(out / "embeddings.png", dpi=200, bbox_inches="tight")
            lines += ["![embeddings.png](embeddings.png)", ""]
        except (ImportError, TypeError) as e:
            print(f"no embedding figure: {e}", file=sys.stderr)
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = {"comparison": cmp.to_dict(), "paper_measurements": paper.to_dict() if paper else None,
               "personas": personas}
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(cmp.summary())
    print(f"\nreport: {folder / 'report.md'}")


if __name__ == "__main__":
    main()
