"""Base vs aligned, end to end: sample both models (or take sample files),
score every metric family, compare them prompt by prompt, and write a report
folder.

    python benchmarks/base_vs_aligned.py --base gemma-3-270m --aligned smollm2-135m-instruct --out report/
    python benchmarks/base_vs_aligned.py --base base.jsonl --aligned aligned.jsonl --out report/
    python benchmarks/base_vs_aligned.py --example --out report/      # the bundled sample set

--base/--aligned take a sample file (.jsonl, rows with prompt_id, prompt,
completion and optionally task and top_logprobs, as benchmarks/generate.py
writes them) or a model (folder, .gguf or shortcut), which is then sampled
into <out>/samples/ with --prompts (default: the bundled suite of 40
open-ended and 4 persona prompts). The report folder gets:

  report.md      models, decoding settings and prompt formats, the comparison
                 table (lexical, overlap and semantic metrics), the three
                 measurements of arXiv 2406.05587 (attribute diversity of
                 generated personas, embedding clusters, next-token entropy),
                 signatures, and caveats
  results.json   everything in machine-readable form
  forest.png, per_prompt_distinct2.png, embeddings.png   figures
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
from diversity.compare import compare_results
from diversity.generation.extract import PERSONA_FIELDS, extract_attributes

HERE = Path(__file__).resolve().parent
TEXT_METRICS = ["distinct-1", "distinct-2", "ngram-entropy-2", "self-bleu", "homogenization-rouge-l",
                "unique-fraction", "compression-ratio"]
SEMANTIC_METRICS = ["mean-pairwise-distance", "vendi", "chamfer", "semantic-clusters"]


def obtain(spec: str, side: str, out: Path, args) -> Path:
    p = Path(spec)
    if p.suffix == ".jsonl" and p.is_file():
        return p
    from _models import resolve
    from diversity.generation import DecodingConfig, TransformersBackend, load_prompts, sample_to_jsonl

    path, model_id = resolve(spec)
    config = DecodingConfig(k=args.k, temperature=args.temperature, top_p=args.top_p,
                            max_new_tokens=args.max_new_tokens, seed=args.seed, top_logprobs=5)
    return sample_to_jsonl(TransformersBackend(path, model_id=model_id), load_prompts(args.prompts),
                           out / "samples" / f"{side}.jsonl", config)


def group(rows, field="completion", persona=False):
    out = {}
    for r in rows:
        if (r.get("task") == "persona") == persona and r.get(field) is not None:
            out.setdefault(r["prompt_id"], []).append(r[field])
    return out


def meta_of(path: Path) -> dict:
    mp = path.with_name(path.name + ".meta.json")
    return json.loads(mp.read_text()) if mp.exists() else {}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base")
    ap.add_argument("--aligned")
    ap.add_argument("--example", action="store_true", help="use the bundled model-generated sample set")
    ap.add_argument("--labels", nargs=2, default=["base", "aligned"])
    ap.add_argument("--prompts", default=str(HERE / "prompts" / "suite.jsonl"))
    ap.add_argument("--out", required=True)
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
            raise SystemExit("give --base and --aligned (models or .jsonl files), or --example")
        pa, pb = obtain(args.base, "base", out, args), obtain(args.aligned, "aligned", out, args)
    la, lb = args.labels
    rows_a, rows_b = diversity.load_records(pa), diversity.load_records(pb)
    open_a, open_b = group(rows_a), group(rows_b)
    embedder = None
    metrics = list(TEXT_METRICS)
    if not args.no_semantic:
        from diversity.embed import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()
        metrics += SEMANTIC_METRICS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        main_cmp = diversity.compare(open_a, open_b, metrics, labels=(la, lb), embedder=embedder, seed=args.seed)

    # the paper's measurements: next-token entropy and persona attributes
    extra_a, extra_b, persona_info = {}, {}, {}
    lp_a, lp_b = group(rows_a, "top_logprobs"), group(rows_b, "top_logprobs")
    common_lp = [p for p in lp_a if p in lp_b]
    if common_lp:
        extra_a["token-entropy-top5"] = diversity.token_entropy({p: lp_a[p] for p in common_lp}, top_k=5)
        extra_b["token-entropy-top5"] = diversity.token_entropy({p: lp_b[p] for p in common_lp}, top_k=5)
    pers_a, pers_b = group(rows_a, persona=True), group(rows_b, persona=True)
    if pers_a and pers_b:
        for lab, pers in ((la, pers_a), (lb, pers_b)):
            tables = {p: extract_attributes(ts) for p, ts in pers.items()}
            persona_info[lab] = {
                "n": sum(t.n for t in tables.values()),
                "unparsed": sum(len(t.failures) for t in tables.values()),
                "examples_unparsed": [f[2] for t in tables.values() for f in t.failures][:3],
                "parsed_per_field": {f: sum(len(t.column(f)) for t in tables.values()) for f in PERSONA_FIELDS},
                "top": {f: Counter(v for t in tables.values() for v in t.column(f)).most_common(5)
                        for f in ("nationality", "gender", "name")},
            }
            for f in ("nationality", "gender", "name"):
                vals = {p: [v.casefold() for v in t.column(f)] for p, t in tables.items()}
                vals = {p: v for p, v in vals.items() if v}  # prompts with no parseable value drop out
                if vals:
                    target = extra_a if lab == la else extra_b
                    target[f"attribute-entropy[{f}]"] = diversity.attribute_diversity(vals, ci=len(vals) >= 2)
    shared = [k for k in extra_a if k in extra_b]
    paper_cmp = compare_results({k: extra_a[k] for k in shared}, {k: extra_b[k] for k in shared},
                                labels=(la, lb), seed=args.seed) if shared else None

    figures = []
    try:
        from diversity.report.plots import plot_embeddings, plot_forest, plot_per_prompt

        plot_forest(main_cmp).savefig(out / "forest.png", dpi=200)
        plot_per_prompt(main_cmp, "distinct-2").savefig(out / "per_prompt_distinct2.png", dpi=200)
        figures += ["forest.png", "per_prompt_distinct2.png"]
        if embedder is not None:
            plot_embeddings({la: open_a, lb: open_b}, embedder=embedder, per_prompt=True,
                            prompts=list(main_cmp.prompts[:6]), seed=args.seed).savefig(out / "embeddings.png", dpi=200)
            figures.append("embeddings.png")
    except ImportError as e:
        print(f"no figures: {e}", file=sys.stderr)

    meta_a, meta_b = meta_of(pa), meta_of(pb)
    lines = [f"# Diversity report: {lb} vs {la}", "",
             f"Generated by `benchmarks/base_vs_aligned.py` with diversity {diversity.__version__}.", "",
             "## Models and decoding", "", "| | model | prompt format | decoding |", "|---|---|---|---|"]
    for lab, m, rows in ((la, meta_a, rows_a), (lb, meta_b, rows_b)):
        model = m.get("model") or (rows[0].get("model") if rows else "?")
        dec = m.get("decoding", {})
        dec_s = ", ".join(f"{k}={dec[k]}" for k in ("k", "temperature", "top_p", "max_new_tokens", "seed") if k in dec)
        lines.append(f"| {lab} | {model} | {m.get('prompt_format', '?')} | {dec_s or '?'} |")
    lines += ["", "## Lexical, overlap and semantic diversity (open-ended prompts)", "", main_cmp.to_markdown(), "",
              main_cmp.summary(), ""]
    if caught:
        lines += ["Warnings:", ""] + [f"- {w.message}" for w in caught] + [""]
    if paper_cmp is not None:
        lines += ["## The measurements of arXiv 2406.05587", "",
                  "Next-token entropy: bits of the renormalised top-5 next-token distribution, averaged over generated "
                  "positions (per prompt, then over prompts). Attribute entropy: Shannon entropy (bits) of the values "
                  "extracted from generated personas, per persona prompt (case-folded).", "",
                  paper_cmp.to_markdown(), ""]
    if persona_info:
        lines += ["### Personas", ""]
        for lab, info in persona_info.items():
            lines.append(f"- **{lab}**: {info['n']} personas, {info['unparsed']} not fully parseable; values found per "
                         f"field: {info['parsed_per_field']}"
                         + (f" (e.g. {info['examples_unparsed'][0]!r})" if info["examples_unparsed"] else ""))
            for f, top in info["top"].items():
                lines.append(f"  - top {f}: " + ", ".join(f"{v} ({c})" for v, c in top))
        lines.append("")
    if figures:
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    lines += ["## Caveats", "",
              "- Differences between two models are differences of everything that differs between them: when the "
              "base and aligned models are of different families or sizes (as in the bundled example: gemma-3-270m vs "
              "SmolLM2-135M-Instruct), alignment is only one of the causes.",
              "- Base models are prompted with a plain question/answer template and aligned models with their chat "
              "template (see prompt format above); the template alone moves diversity.",
              "- all-MiniLM-L6-v2 reads only the first 256 word pieces of each completion.",
              "- Lexical metrics depend on completion length: compare the mean token counts above.", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    results = {"comparison": main_cmp.to_dict(), "paper_measurements": paper_cmp.to_dict() if paper_cmp else None,
               "personas": persona_info, "meta": {la: meta_a, lb: meta_b}, "figures": figures}
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(main_cmp.summary())
    print(f"\nreport: {out / 'report.md'}")


if __name__ == "__main__":
    main()
