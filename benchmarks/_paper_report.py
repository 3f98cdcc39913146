"""The report folder of creativity_left_the_chat.py: report.md, results.json
and the four figures (PNG + PDF)."""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

from diversity.report.paper_plots import plot_attractor_curves, plot_attribute_histograms, plot_position_profiles
from diversity.report.plots import plot_embeddings, save_figure


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _fmt(x: float, nd: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def _mean(xs) -> str:
    return f"{sum(xs) / len(xs):.2f}" if xs else "n/a"


def _p(p: float) -> str:
    return "n/a" if p is None or math.isnan(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def _figures(out: Path, labels, args, res, embedder) -> list[str]:
    made = []
    if "personas" in res:
        hist = res["personas"][2]  # normalised values (the raw ones are in res["personas"][3])
        fields = ["nationality", "gender", "age-bucket", "occupation"]
        fig = plot_attribute_histograms({lab: {f: hist[lab][f] for f in fields} for lab in labels}, top=6)
        save_figure(fig, [out / "personas.png", out / "personas.pdf"], dpi=200)
        made.append("personas.png")
    a, b = res["clouds"]
    shown = [p for p in a if p in b][:4]
    fig = plot_embeddings({labels[0]: {p: a[p] for p in shown}, labels[1]: {p: b[p] for p in shown}},
                          embedder=embedder, prompt_text=res["prompt_text"], clusters=float(args.cluster_threshold),
                          seed=args.seed)
    save_figure(fig, [out / "clouds.png", out / "clouds.pdf"], dpi=200)
    made.append("clouds.png")
    if res["entropy"] is not None:
        ent = res["entropy"][0]
        fig = plot_position_profiles({lab: ent[lab]["branching-factor"] for lab in labels}, min_prompts=2)
        save_figure(fig, [out / "profiles.png", out / "profiles.pdf"], dpi=200)
        made.append("profiles.png")
    curves, _ = res["attractor"]
    if any(curves[lab] for lab in labels):
        fig = plot_attractor_curves(curves)
        save_figure(fig, [out / "attractors.png", out / "attractors.pdf"], dpi=200)
        made.append("attractors.png")
    return made


def write(out: Path, files: dict, labels, args, res: dict, warnings_seen: list[str], argv, embedder=None) -> None:
    la, lb = labels
    figs = _figures(out, labels, args, res, embedder)
    meta = res["meta"]
    lines = ["# Creativity Has Left the Chat: the three experiments", "",
             f"`python benchmarks/creativity_left_the_chat.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
             "", "## Inputs", ""]
    sampled = dict.fromkeys(str(meta[lab].get("command", "")) for lab in labels if meta[lab].get("command"))
    if sampled:
        lines += ["Sampled by: " + "; ".join(f"`python {c}`" for c in sampled) + " (the sidecars `*.meta.json` hold "
                  "every setting).", ""]
    lines += ["| side | model | prompt format | file | SHA-256 |", "|---|---|---|---|---|"]
    for lab in labels:
        for path in files[lab].values():
            if isinstance(path, Path):
                lines.append(f"| {lab} | {files[lab]['model']} | {files[lab]['format']} | "
                             f"`{path.relative_to(out)}` | `{_sha(path)[:16]}…` |")
    d = meta[la]["decoding"]
    lines += ["", f"Decoding: temperature {d['temperature']}, top-p {d['top_p']}, {args.k} completions per prompt, "
              f"at most {args.max_new_tokens} new tokens, seed {args.seed}; {len(res['clouds'][0])} open prompts. "
              f"Personas: {args.persona_k} per persona prompt. Embeddings: all-MiniLM-L6-v2 unless --embedder.", ""]

    if "personas" in res:
        info, cmp, _, _, coverage = res["personas"]
        rules = ", ".join(f"{f} `{v}`" for f, v in info[la].get("rules", {}).items())
        lines += ["## 1. Personas", "",
                  "Each persona is filled in field by field: the label (`Name:`, `Age:`, `Gender:`, `Nationality:`, "
                  "`Occupation:`) is forced as the start of the answer's next line and the model writes the value "
                  "up to the end of the line (`diversity.generation.personas`); a value that comes back empty is "
                  "sampled again, so the personas are those the model writes when it writes a value. A persona is "
                  "*parsed* when every field has a value (an age: an integer 0–120). Values are then normalised "
                  f"before they are counted (`normalize_personas`; rules {rules}): case, whitespace, punctuation "
                  "and markup, and for gender and nationality a documented synonym map (`m`/`man`/`men` → male, "
                  "`woman`/`women` → female, `USA`/`United States`/`America` → american...); a value a rule "
                  "rejects (a number or a single stray letter as a gender, a gender given as a nationality, a "
                  "value without a letter) counts as unparsed. Attribute entropy: Shannon entropy (bits) of the "
                  "normalised values per persona prompt, over the personas where the field was found, both sides "
                  "cut to the same number of values per prompt and field (the smaller side's, in sample order; "
                  "a side that parses fewer values would otherwise look less diverse); paired over persona "
                  "prompts with at least 2 values on each side. A field where every value is distinct in every "
                  "prompt on both sides is *at the ceiling* (entropy = log2 n whatever the model) and is not "
                  "tested. Found is not plausible: a model that writes `Nationality: Dentist` has given a value.", "",
                  "| side | personas | parsed (raw) | parsed (normalised) | " + " | ".join(
                      f"{f} found (raw → normalised)" for f in info[la]["per_field"]) + " |",
                  "|---|---|---|---|" + "---|" * len(info[la]["per_field"])]
        for lab in labels:
            i = info[lab]
            lines.append(f"| {lab} | {i['n']} | {i['parsed']} ({i['parsed'] / max(i['n'], 1):.0%}) | "
                         f"{i['parsed_normalised']} ({i['parsed_normalised'] / max(i['n'], 1):.0%}) | " +
                         " | ".join(f"{v} → {i['per_field_normalised'][f]}" for f, v in i["per_field"].items()) + " |")
        lines.append("")
        n_used = info[la].get("values_per_prompt", {})
        if n_used:
            lines.append("Values per prompt and side used for the entropies: " + "; ".join(
                f"{f} {'–'.join(map(str, (min(v), max(v)))) if v and min(v) != max(v) else (v[0] if v else 'none')}"
                for f, v in n_used.items()) + ". Values that reached the token limit before their line ended: "
                + ", ".join(f"{lab} {info[lab].get('truncated', 0)}" for lab in labels) + ". Personas with a value "
                "that came back empty and was sampled again (up to 3 times, own seed): " + ", ".join(
                    f"{lab} {info[lab].get('retried', 0)} ({info[lab].get('retries', 0)} retries)" for lab in labels)
                + ".")
            lines.append("")
        for f, c in info[la].get("at_ceiling", {}).items():
            bits = f"log2 n ({', '.join(f'{b:.3f}' for b in c['bits'])} bits for n = {', '.join(map(str, c['n']))})"
            if c["tested"]:
                lines.append(f"- {f}: in {c['prompts']} of {c['of']} prompts every value is distinct on both sides "
                             f"(entropy {bits} for both models, a difference of 0 by construction); those prompts "
                             "are left out of the test, which compares the others.")
            else:
                lines.append(f"- **{f}: at the ceiling.** In {c['prompts']} of {c['of']} prompts every value is "
                             f"distinct on both sides, so the entropy is {bits} for both models: these samples "
                             "cannot tell them apart, and no test is reported (more personas per prompt would be "
                             "needed; the Chao–Shen and Hill rows below are descriptive).")
        lines.append("")
        for lab in labels:
            for f, top in res["top"][lab].items():
                raw = res.get("raw_top", {}).get(lab, {}).get(f)
                lines.append(f"- {lab}, top {f}: " + (", ".join(f"{v} ({c})" for v, c in top) or "none") +
                             (f" (raw, before normalising: {', '.join(f'{v} ({c})' for v, c in raw)})" if raw else ""))
        lines.append("")
        for lab in labels:
            for p, i, missing, head in info[lab]["failures"][:3]:
                lines.append(f"- {lab} not parsed ({p} #{i}, missing {', '.join(missing)}): `{head!r}`")
            rejected = info[lab].get("rejected", [])
            if rejected:
                lines.append(f"- {lab}, values the rules reject (counted as unparsed): " + ", ".join(
                    f"{f} `{v!r}`" for _, _, f, v in rejected[:6]))
        if cmp is not None:
            lines += ["", cmp.to_markdown()]
        if coverage[la]:
            lines += ["", "Coverage and effective numbers (per prompt, the same equalised values; mean over prompts "
                      "with a 95% bootstrap CI over prompts; descriptive, not tested): Chao–Shen coverage-adjusted "
                      "entropy (bits; not capped at log2 n, it estimates the values not seen) and Hill numbers "
                      "of order 0 (richness), 1 (exp entropy) and 2 (inverse Simpson). *all distinct*: prompts "
                      "where every value differs.", "",
                      "| field | side | Chao–Shen entropy | Hill q=0 | Hill q=1 | Hill q=2 | all distinct |",
                      "|---|---|---|---|---|---|---|"]

            def ci(r):
                return f"{r.value:.2f} [{r.ci.low:.2f}, {r.ci.high:.2f}]" if r.ci else f"{r.value:.2f}"
            for f in coverage[la]:
                for lab in labels:
                    c = coverage[lab][f]
                    lines.append(f"| {f} | {lab} | {ci(c['chao-shen'])} | {ci(c['hill0'])} | {ci(c['hill1'])} | "
                                 f"{ci(c['hill2'])} | {c['all_distinct']}/{c['prompts']} |")
        if "personas.png" in figs:
            lines += ["", "![personas](personas.png)"]
        lines.append("")

    cmp = res["semantic"]
    lines += ["## 2. Semantic clusters and attractor states", "",
              "Unperturbed completions: mean pairwise cosine distance, Vendi score and the number of semantic "
              f"clusters (agglomerative, average linkage, cosine distance ≤ {float(args.cluster_threshold):g}). "
              + _threshold_text(args), "",
              cmp.to_markdown(), "", "![clouds](clouds.png)", "",
              "Attractor strength (`diversity.attractor_strength`): per prompt, the share R of continuations "
              "sampled after a forced perturbation that land in a cluster of the unperturbed completions; "
              "R0 is the same share for the unperturbed completions themselves (leave-one-out). Higher R = a "
              "stronger attractor = less diverse. Perturbations (`diversity.generation.perturb`): "
              f"`prefix` = the first {args.size} tokens of another prompt's completion; `random-token` = the "
              f"prompt's own first {args.position} tokens and {args.size} foreign words; `off-sentence` = one fixed "
              "unrelated sentence. Nearest sim.: mean cosine similarity of a perturbed continuation to the "
              "nearest unperturbed completion (the continuous reading of the same question, useful when few "
              "clusters form). Paired sign-flip permutation tests over prompts, Holm over the kinds (separately "
              "for R and for the similarity). Blank "
              "continuations (the model ended its answer right after the forced text) are left out and counted "
              "(*blank*: blank of all perturbed continuations). Means are over the prompts both sides kept "
              "(*prompts*).", "",
              f"| perturbation | prompts | R {la} | R {lb} | R0 {la} | R0 {lb} | R {lb} − {la} | p (Holm) | "
              f"nearest sim. {la} | nearest sim. {lb} | sim. {lb} − {la} | p (Holm) | blank {la} | blank {lb} |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    curves, table = res["attractor"]
    for r in table:
        (ra_, rb_), (ca, cb), (sa, sb) = r["means"], r["chance_means"], r["sim_means"]
        (na, ta), (nb, tb) = r["blank"][la], r["blank"][lb]
        lines.append(f"| {r['kind']} | {r['n']} | {_fmt(ra_)} | {_fmt(rb_)} | {_fmt(ca)} | {_fmt(cb)} | "
                     f"{r['diff']:+.3f} | {_p(r.get('p_holm', float('nan')))} | {_fmt(sa)} | {_fmt(sb)} | "
                     f"{r['sim_diff']:+.3f} | {_p(r.get('sim_p_holm', float('nan')))} | {na}/{ta} | {nb}/{tb} |")
    if table and max(max(r["chance_means"]) for r in table) < 0.1:
        lines += ["", f"At this threshold (cosine distance {float(args.cluster_threshold):g}) an unperturbed "
                  "completion almost never "
                  "joins the clusters of the others (R0 < 0.1 on both sides): the return rate cannot separate the "
                  "models; read the nearest similarity, or rerun with a larger `--threshold` (stated in the "
                  "signature)."]
    if table:
        cuts = list(next(iter(curves[la].values())))
        head = "/".join("all" if n is None else str(n) for n in cuts)
        lines += ["", "Return curve: R and the mean cosine similarity to the nearest unperturbed completion when the "
                  "continuations are cut at n word tokens after the perturbation; in brackets the same for the "
                  "unperturbed completions cut at n tokens (R0(n) and their nearest-other similarity), which "
                  "is what each point is read against.", "",
                  f"| perturbation | side | R (R0) after {head} | similarity (own) after {head} |", "|---|---|---|---|"]
        for r in table:
            for lab in labels:
                c = curves[lab][r["kind"]]
                lines.append(f"| {r['kind']} | {lab} | " + " / ".join(
                    f"{_fmt(x.value, 2)} ({_fmt(x.chance_rate, 2)})" for x in c.values()) + " | " + " / ".join(
                    f"{_fmt(x.nearest_similarity, 2)} ({_fmt(x.details['chance_similarity'], 2)})"
                    for x in c.values()) + " |")
    if "attractors.png" in figs:
        lines += ["", "![attractors](attractors.png)"]
    if table:
        lines += ["", "Signatures: " + "; ".join(f"`{r['a'].signature}`" for r in table[:1])]
    lines.append("")

    if res["entropy"] is None:
        lines += ["## 3. Next-token entropy and the branching factor", "",
                  "Not measured: the samples carry no log-probabilities (`--top-logprobs 0`, or an endpoint that "
                  "returns none).", ""]
    else:
        lines += _entropy_section(res, labels, args)
    _rest(lines, out, files, labels, args, res, warnings_seen, curves, table)


def _threshold_text(args) -> str:
    thr = args.cluster_threshold
    if hasattr(thr, "quantile"):
        return (f"The threshold is calibrated on the encoder (`calibrate_threshold`): the {thr.quantile:g} quantile "
                f"of the cosine distances between completions of the same prompt, over both models' unperturbed "
                f"completions ({thr.n_pairs} pairs), so that it means the same for any encoder (a fixed 0.25 left "
                "every completion of these small models its own cluster, R = R0 = 0 for both); both models are "
                "measured at this one threshold, recorded in the signatures (`thr`, `cal`).")
    return "The threshold was given (`--threshold`)."


def _entropy_section(res, labels, args) -> list[str]:
    ent, ecmp, sources, same = res["entropy"]
    full = all(s != "unperturbed (top-k only)" for s in sources.values())
    bf = {lab: ent[lab]["branching-factor"] for lab in labels}
    lines = ["## 3. Next-token entropy and the branching factor", "",
             f"Token entropy (arXiv 2406.05587): bits of the renormalised top-{args.top_logprobs} next-token "
             "distribution, averaged over generated positions. Branching factor (Yang & Holtzman 2025, "
             "`diversity.branching_factor`) as its authors compute it: per prompt, the mean over positions t = 1..T "
             "of the mean entropy (nats) at t over the samples that reach t, exponentiated, with T cut at the 95th "
             "percentile of the prompt's output lengths and at the last position reached by at least "
             f"{args.min_samples} samples; past 50 positions their code switches to the sampled tokens' mean NLL "
             f"(these outputs stop at {args.max_new_tokens} tokens, so it never does here). "
             + ("The entropies are of the full next-token distribution the samples were drawn from (the whole "
                "vocabulary: the transformers backend records it at sampling time), "
                + "; ".join(f"{lab} from `{sources[lab]}.jsonl`" for lab in labels)
                + (" (the unperturbed prompts sampled again with the same settings and seeds to record it, after "
                   "the samples above were drawn; " + "; ".join(
                       f"{lab}: {n} of {m} completions identical to the unperturbed ones" for lab, (n, m)
                       in same.items()) + ")" if same else "") + ". "
                if full else "These samples carry only the top-k log-probabilities (a served endpoint): the "
                "branching factor below is that of the renormalised top-k (signature `cand:top5-renorm`), capped "
                "at k and not comparable with the published values. ")
             + f"*branching-factor-topk*: the earlier form, the renormalised top-{args.top_logprobs} distribution "
             f"over the first {args.topk_horizon} positions (`topk_branching_factor`; at most "
             f"{args.top_logprobs}).", "",
             ecmp.to_markdown(), "", "![profiles](profiles.png)", ""]
    prof = {lab: bf[lab].details["profile"] for lab in labels}
    cum = {lab: bf[lab].details.get("cumulative", []) for lab in labels}
    lines += ["Branching factor at positions 1–4: " + "; ".join(
        f"{lab} " + ", ".join(f"{v:.2f}" for v in prof[lab][:4]) for lab in labels) + ". Mean of the profile "
        "over positions 1–8 and over 9 onwards (the paper's point: alignment narrows the start most): " +
        "; ".join(f"{lab} {_mean(prof[lab][:8])} and {_mean(prof[lab][8:])}" for lab in labels) + ". Cumulative "
        "curve (BF of positions 1..t) at t = 1, 8, 16 and its last point: " + "; ".join(
            f"{lab} " + ", ".join(f"{cum[lab][t - 1]:.2f}" for t in (1, 8, 16) if len(cum[lab]) >= t)
            + (f", {cum[lab][-1]:.2f} (t = {len(cum[lab])})" if cum[lab] else "") for lab in labels) + ".", ""]
    return lines


def _clean(x):
    """NaN and infinities as null: results.json is strict JSON."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def _rest(lines, out, files, labels, args, res, warnings_seen, curves, table) -> None:
    if warnings_seen:
        lines += ["## Warnings", ""] + [f"- {m}" for m in dict.fromkeys(warnings_seen)] + [""]
    lines += ["## Caveats", "",
              "- The two sides are prompted differently (a base template vs a chat template), as the paper did; the "
              "format itself moves diversity.",
              "- A pair of models that differ in family and size as well as alignment shows the pipeline, not the "
              "cost of alignment.",
              "- Few prompts: the intervals are wide and a non-significant difference is not evidence of none.",
              "- Attractor strength depends on the encoder and the cluster threshold (both in the signature); "
              "compare models at the same settings. The calibrated threshold is a quantile of these samples' own "
              "distances: rerunning with other samples moves it a little (its value is in the signature).",
              "- Persona values are counted after the normalisation rules named above (their versions are recorded); "
              "values outside the synonym maps are kept as written, so spelling variants the maps do not know "
              "still count as different values.", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    dump = {"inputs": {lab: {k: (str(v.relative_to(out)) if isinstance(v, Path) else v)
                             for k, v in files[lab].items()} for lab in labels},
            "semantic": res["semantic"].to_dict(),
            "entropy": res["entropy"][1].to_dict() if res["entropy"] else None,
            "branching_profile": {lab: res["entropy"][0][lab]["branching-factor"].details["profile"]
                                  for lab in labels} if res["entropy"] else None,
            "branching_cumulative": {lab: res["entropy"][0][lab]["branching-factor"].details["cumulative"]
                                     for lab in labels} if res["entropy"] else None,
            "branching_sources": res["entropy"][2] if res["entropy"] else None,
            "cluster_threshold": {"value": float(args.cluster_threshold),
                                  "calibration": getattr(args.cluster_threshold, "label", "given")},
            "attractor": [{"kind": r["kind"], "diff": r["diff"], "p": r["p"], "p_holm": r.get("p_holm"),
                           "prompts": r["n"], "blank": r["blank"], "R_means": r["means"],
                           "R0_means": r["chance_means"], "similarity_means": r["sim_means"],
                           "similarity_diff": r["sim_diff"], "similarity_p": r["sim_p"],
                           "similarity_p_holm": r.get("sim_p_holm"),
                           "curve": {lab: {("all" if n is None else str(n)): {
                               "R": x.value, "R0": x.chance_rate, "nearest_similarity": x.nearest_similarity,
                               "chance_similarity": x.details["chance_similarity"],
                               "signature": str(x.signature)} for n, x in curves[lab][r["kind"]].items()}
                               for lab in labels}} for r in table]}
    if "personas" in res:
        info, cmp, _, _, coverage = res["personas"]
        dump["personas"] = {"info": info, "comparison": cmp.to_dict() if cmp else None, "top": res["top"],
                            "raw_top": res.get("raw_top"),
                            "coverage": {lab: {f: {k: (v.value if hasattr(v, "value") else v) for k, v in c.items()}
                                               for f, c in coverage[lab].items()} for lab in labels}}
    dump = json.loads(json.dumps(dump, default=str))
    (out / "results.json").write_text(json.dumps(_clean(dump), indent=2, allow_nan=False), encoding="utf-8")
