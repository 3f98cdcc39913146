"""The three experiments of arXiv 2406.05587 ("Creativity Has Left the Chat")
on any base/aligned pair, in one command:

    python benchmarks/creativity_left_the_chat.py --base gemma-3-270m --aligned smollm2-135m-instruct --out paper/
    python benchmarks/creativity_left_the_chat.py --base http://127.0.0.1:8000/v1 --base-served llama-2-7b \\
        --aligned http://127.0.0.1:8001/v1 --aligned-served llama-2-7b-chat \\
        --aligned-template '[INST] {prompt} [/INST]' --out paper/

--base/--aligned take a local model (a folder, a .gguf file or a shortcut of
benchmarks/_models.py) or the base URL of an OpenAI-compatible server (then
--*-served names the model). Forced prefixes need the completions endpoint,
so a served chat model is prompted through its chat format written out with
--*-template (local models use their own chat template).

1. Personas: --persona-k personas per persona prompt, filled in field by
   field (name, age, gender, nationality, occupation) with forced labels
   (diversity.generation.personas); values normalised by versioned rules
   (normalize_personas: case, punctuation, gender and nationality synonyms,
   invalid values unparsed), raw and normalised counts; parse rates per
   side; attribute entropy per field, paired over persona prompts, fields at
   the ceiling (every value distinct) reported as such; Chao-Shen entropy and
   Hill numbers with CIs.
2. Semantic clusters and attractor states: --k completions per open prompt;
   then, per perturbation kind (diversity.generation.perturb), --k
   completions after the forced perturbation; the return rate R after n
   tokens (diversity.attractor_curve), paired over prompts, at a cluster
   threshold calibrated on the encoder over both sides (--threshold auto).
3. Next-token entropy and the branching factor as its authors compute it
   (the full next-token distribution a local model records while sampling;
   top-k for served models, and the report says so), with the per-position
   profile and the cumulative curve; the top-k renormalised form beside it.

Everything sampled goes to <out>/samples/<label>/ (resumable: rerun the same
command after an interruption). The report is <out>/report.md with
results.json and the figures personas.png, clouds.png, profiles.png and
attractors.png (+ PDF).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

import diversity
from diversity.compare import compare_results
from diversity.metrics.attractor import CALIBRATION_QUANTILE, calibrate_threshold
from diversity.metrics.model_based import topk_branching_factor
from diversity.generation import DecodingConfig, OpenAIBackend, load_prompts, read_meta, sample_to_jsonl
from diversity.generation.perturb import KINDS, perturbed_prompts
from diversity.generation.personas import (PERSONA_FORM, PERSONA_RULES, age_bucket, normalize_personas,
                                           persona_table, sample_personas)
from diversity.stats.paired import holm, paired_test
from diversity.stats.seeding import canonical_order

HERE = Path(__file__).resolve().parent
CUTS = (4, 8, 16, 32, None)
FIELDS = [f for f, _ in PERSONA_FORM]


def pick_prompts(path: str, n: int) -> list:
    """``n`` open-ended prompts, round-robin over the tasks in file order (personas left out)."""
    by_task: dict[str, list] = {}
    for p in load_prompts(path):
        if p.task != "persona":
            by_task.setdefault(p.task, []).append(p)
    order = [p for i in range(max(map(len, by_task.values()), default=0)) for t in by_task.values() if i < len(t)
             for p in [t[i]]]
    return order[:n]


def backend_for(spec: str, served: str | None, threads: int | None):
    if spec.startswith(("http://", "https://")):
        if not served:
            raise SystemExit(f"{spec}: give the served model name (--base-served / --aligned-served)")
        return OpenAIBackend(spec, served, chat=False)
    import torch
    from _models import resolve
    from diversity.generation import TransformersBackend

    if threads:
        torch.set_num_threads(threads)
    path, model_id = resolve(spec)
    return TransformersBackend(path, model_id=model_id)


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def by_prompt(rs: list[dict], field: str = "completion") -> dict[str, list]:
    out: dict[str, list] = {}
    for r in sorted(rs, key=lambda r: (r["prompt_id"], r["sample_index"])):
        out.setdefault(r["prompt_id"], []).append(r[field])
    return out


def sample_side(label: str, spec: str, served: str | None, template: str | None, args, prompts, personas) -> dict:
    """Sample one model for all three experiments; the paths of what it wrote."""
    folder = Path(args.out) / "samples" / label
    backend = backend_for(spec, served, args.threads)
    common = dict(temperature=args.temperature, top_p=args.top_p, seed=args.seed)
    if template:
        common.update(chat_template=False, base_template=template)
    config = DecodingConfig(k=args.k, max_new_tokens=args.max_new_tokens, top_logprobs=args.top_logprobs, **common)
    lead = " " if backend.prompt_format(config) == "base-template" and not template else ""
    out = {"unperturbed": sample_to_jsonl(backend, prompts, folder / "unperturbed.jsonl", config)}
    done = by_prompt(rows(out["unperturbed"]))
    plain = DecodingConfig(k=args.k, max_new_tokens=args.max_new_tokens, **common)
    for kind in args.perturbations:
        pp = perturbed_prompts(prompts, done, kind, size=args.size, position=args.position, lead=lead, seed=args.seed)
        out[kind] = sample_to_jsonl(backend, pp, folder / f"perturbed-{kind}.jsonl", plain,
                                    extra_meta={"perturbation": {"kind": kind, "size": args.size,
                                                                 "position": args.position}})
    if personas:
        pc = DecodingConfig(k=args.persona_k, **common)
        out["personas"] = sample_personas(backend, personas, folder / "personas", pc, lead=None if not template else "")
    out["model"] = backend.model_id
    out["format"] = backend.prompt_format(config)
    return out


def existing_side(label: str, args) -> dict:
    """The files an earlier run of this command wrote for one side (--analyse-only)."""
    folder = Path(args.out) / "samples" / label
    out: dict = {"unperturbed": folder / "unperturbed.jsonl"}
    if not out["unperturbed"].is_file():
        raise SystemExit(f"--analyse-only: {out['unperturbed']} is missing; run without --analyse-only first")
    for kind in args.perturbations:
        if (folder / f"perturbed-{kind}.jsonl").is_file():
            out[kind] = folder / f"perturbed-{kind}.jsonl"
    if (folder / "personas" / "personas.jsonl").is_file():
        out["personas"] = folder / "personas" / "personas.jsonl"
    if (folder / "branching.jsonl").is_file():
        out["branching"] = folder / "branching.jsonl"
    meta = read_meta(out["unperturbed"])
    out["model"], out["format"] = meta["model"], meta["prompt_format"]
    return out


def sample_branching(label: str, spec: str, served: str | None, args, prompts) -> Path:
    """``branching.jsonl``: the unperturbed prompts sampled again with the settings of ``unperturbed.jsonl``
    (its sidecar) by a backend that records the full next-token distribution's entropy and the sampled token's
    log-probability per position: for samples drawn before the backend recorded them (a local model draws the
    same completions again from the same seeds)."""
    folder = Path(args.out) / "samples" / label
    dec = dict(read_meta(folder / "unperturbed.jsonl")["decoding"])
    dec["stop"] = tuple(dec.get("stop") or ())
    backend = backend_for(spec, served, args.threads)
    return sample_to_jsonl(backend, prompts, folder / "branching.jsonl", DecodingConfig(**dec),
                           extra_meta={"purpose": "full-distribution entropy of the unperturbed prompts"})


def persona_experiment(files: dict, labels, seed: int) -> tuple[dict, object, dict]:
    """Parse rates, histograms and attribute entropy per field, paired over persona prompts.

    Values are counted after the versioned normalisation rules of ``normalize_personas`` (case, whitespace,
    punctuation, the gender and nationality synonym maps; a value a rule rejects, such as a number as a gender,
    counts as unparsed); the raw values are kept beside them (``raw_top``). Entropy is computed on the personas
    where the field was found, so a side that parses fewer would look less diverse (names are nearly all
    distinct: their entropy is log2 of how many were found). Per prompt and field both sides are therefore cut
    to the same number of values, the smaller side's, in sample order (``n per prompt`` in the report). A field
    where every value is distinct in every prompt on both sides sits at the ceiling (entropy = log2 n whatever
    the model): it is reported as such, not tested."""
    info, per_side, hist, raw_hist = {}, {}, {}, {}
    for lab in labels:
        rs = rows(files[lab]["personas"])
        texts = by_prompt(rs)
        raw = {p: persona_table(ts, FIELDS) for p, ts in texts.items()}
        tables = {p: normalize_personas(t) for p, t in raw.items()}
        n = sum(t.n for t in tables.values())
        info[lab] = {"n": n, "parsed": n - sum(len(t.failures) for t in raw.values()),
                     "parsed_normalised": n - sum(len(t.failures) for t in tables.values()),
                     "per_field": {f: sum(len(t.column(f)) for t in raw.values()) for f in FIELDS},
                     "per_field_normalised": {f: sum(len(t.column(f)) for t in tables.values()) for f in FIELDS},
                     "rules": next(iter(tables.values())).rules if tables else {},
                     "truncated": sum(len(r.get("truncated", [])) for r in rs),
                     "retried": sum(bool(r.get("retries")) for r in rs),
                     "retries": sum(sum(r.get("retries", {}).values()) for r in rs),
                     "failures": [(p, i, list(m), h) for p, t in raw.items() for i, m, h in t.failures][:6],
                     "rejected": [(p, i, f, raw[p].values[f][i]) for p, t in tables.items() for f in FIELDS
                                  for i, v in enumerate(t.values[f]) if v is None and raw[p].values[f][i] is not None
                                  ][:8]}
        per_side[lab], hist[lab], raw_hist[lab] = {}, {}, {}
        for f in FIELDS + ["age-bucket"]:
            src = "age" if f == "age-bucket" else f
            per = {p: [(age_bucket(v) if f == "age-bucket" else v) if v is not None else None for v in t.values[src]]
                   for p, t in tables.items()}
            hist[lab][f] = [v for vs in per.values() for v in vs]
            raw_hist[lab][f] = [v for t in raw.values() for v in t.values[src]]
            per_side[lab][f] = {p: [v for v in vs if v is not None] for p, vs in per.items()}
    la, lb = labels
    results: dict = {la: {}, lb: {}}
    coverage: dict = {la: {}, lb: {}}
    equalised, ceiling = {}, {}
    for f in [f for f in FIELDS if f != "age"] + ["age-bucket"]:
        common = [p for p in per_side[la][f] if p in per_side[lb][f]]
        n_of = {p: min(len(per_side[la][f][p]), len(per_side[lb][f][p])) for p in common}
        keep = [p for p in common if n_of[p] >= 2]
        equalised[f] = {p: n_of[p] for p in keep}
        if len(keep) < 2:
            continue
        cut = {lab: {p: per_side[lab][f][p][:n_of[p]] for p in keep} for lab in labels}
        # a prompt where every value is distinct on both sides is at the ceiling: both entropies are log2 n, its
        # difference is 0 by construction; such prompts are left out of the test, and with fewer than 2 left
        # the field is reported at the ceiling instead of tested
        both = [p for p in keep if all(len(set(cut[lab][p])) == n_of[p] for lab in labels)]
        tested = [p for p in keep if p not in both]
        if both:
            ceiling[f] = {"prompts": len(both), "of": len(keep), "n": sorted(set(n_of[p] for p in both)),
                          "bits": [math.log2(v) for v in sorted(set(n_of[p] for p in both))],
                          "tested": len(tested) >= 2}
        # the values are normalised already; normalize= applies the same rule again (it is idempotent) so that
        # the signatures record it (vnorm:gender-v1...)
        rule = PERSONA_RULES.get(f, "none")
        for lab in labels:
            if len(tested) >= 2:
                results[lab][f"attribute-entropy[{f}]"] = diversity.attribute_diversity(
                    {p: cut[lab][p] for p in tested}, normalize=rule)
            coverage[lab][f] = {
                "chao-shen": diversity.attribute_diversity(cut[lab], "entropy-chao-shen", normalize=rule),
                "hill0": diversity.attribute_diversity(cut[lab], "hill", q=0, normalize=rule),
                "hill1": diversity.attribute_diversity(cut[lab], "hill", q=1, normalize=rule),
                "hill2": diversity.attribute_diversity(cut[lab], "hill", q=2, normalize=rule),
                "all_distinct": sum(len(set(cut[lab][p])) == n_of[p] for p in keep), "prompts": len(keep)}
    for lab in labels:
        info[lab]["values_per_prompt"] = {f: sorted(set(n.values())) for f, n in equalised.items()}
        info[lab]["at_ceiling"] = ceiling
    shared = list(results[la])
    cmp = compare_results(results[la], results[lb], labels=tuple(labels), seed=seed) if shared else None
    return info, cmp, hist, raw_hist, coverage


def attractor_experiment(files: dict, labels, kinds, args, embedder) -> tuple[dict, list[dict]]:
    curves: dict = {lab: {} for lab in labels}
    table = []
    for kind in kinds:
        blanks = {}
        for lab in labels:
            u = by_prompt(rows(files[lab]["unperturbed"]))
            p = by_prompt(rows(files[lab][kind]))
            every = [t for ts in p.values() for t in ts]
            blanks[lab] = (sum(not t.strip() for t in every), len(every))
            both = [k for k in u if k in p and len(p[k]) == len(u[k])]
            if len(both) < len(u):  # an interrupted perturbed run: only the prompts it finished
                print(f"{lab}, {kind}: {len(u) - len(both)} prompt(s) without all their perturbed completions "
                      "left out", file=sys.stderr)
            pos = 0 if kind != "random-token" else args.position
            size = args.size if kind != "off-sentence" else None
            curves[lab][kind] = diversity.attractor_curve({k: u[k] for k in both}, {k: p[k] for k in both},
                                                          tokens=CUTS, embedder=embedder, perturbation=kind,
                                                          position=pos, size=size,
                                                          threshold=args.cluster_threshold,
                                                          random_state=args.seed)
        ra, rb = (curves[lab][kind][None] for lab in labels)
        keys = [k for k in ra.groups if k in set(rb.groups)]
        keys = [keys[i] for i in canonical_order(keys)]
        # every number of the row over the prompts both sides kept (a prompt left out on one side, say all of its
        # continuations blank, is left out of the pair)
        row = {"kind": kind, "a": ra, "b": rb, "n": len(keys), "blank": blanks}
        for name, field in (("", "per_group"), ("sim_", "per_group_similarity"),
                            ("chance_", "per_group_chance_rate")):
            va, vb = (np.array([dict(zip(r.groups, getattr(r, field) if hasattr(r, field) else r.details[field]))[k]
                                for k in keys]) for r in (ra, rb))
            row[name + "means"] = (float(np.mean(va)), float(np.mean(vb))) if keys else (float("nan"),) * 2
            if name == "chance_":
                continue
            row[name + "diff"] = float(np.mean(vb - va)) if keys else float("nan")
            row[name + "p"] = paired_test(va, vb, "permutation", 10_000, args.seed) if len(keys) >= 2 else float("nan")
        table.append(row)
    for name in ("", "sim_"):  # Holm within each family: return rates, similarities
        if table:
            for row, h in zip(table, holm(np.array([r[name + "p"] for r in table]))):
                row[name + "p_holm"] = float(h)
    return curves, table


def settings_from_files(files: dict, labels, args) -> list[str]:
    """The settings the samples were drawn with, from their sidecars (so that --analyse-only reports
    what was sampled, not this command's defaults); the differences between the sides, as notes."""
    notes = []
    metas = {lab: read_meta(files[lab]["unperturbed"]) for lab in labels}
    dec = {lab: metas[lab]["decoding"] for lab in labels}
    for key in ("k", "temperature", "top_p", "max_new_tokens", "seed", "top_logprobs"):
        values = [dec[lab].get(key) for lab in labels]
        if values[0] != values[1]:
            notes.append(f"the sides were sampled with different {key}: {values[0]} and {values[1]}")
    d = dec[labels[0]]
    args.k, args.temperature, args.top_p = d["k"], d["temperature"], d["top_p"]
    args.max_new_tokens, args.seed, args.top_logprobs = d["max_new_tokens"], d["seed"], d["top_logprobs"]
    for kind in args.perturbations:
        meta = read_meta(files[labels[0]][kind]).get("perturbation") or {}
        args.size, args.position = meta.get("size", args.size), meta.get("position", args.position)
    if "personas" in files[labels[0]]:
        first = sorted((files[labels[0]]["personas"].parent).glob("01-*.jsonl"))
        if first:
            args.persona_k = read_meta(first[0])["decoding"]["k"]
    return notes


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--aligned", required=True)
    for side in ("base", "aligned"):
        ap.add_argument(f"--{side}-served", help="served model name (endpoint)")
        ap.add_argument(f"--{side}-template", help="prompt format with {prompt}, instead of the model's own")
    ap.add_argument("--labels", nargs=2, default=["base", "aligned"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--prompts", default=str(HERE / "prompts" / "suite.jsonl"))
    ap.add_argument("--n-prompts", type=int, default=8, help="open prompts (round-robin over tasks)")
    ap.add_argument("--persona-prompts", default=str(HERE / "prompts" / "personas.jsonl"))
    ap.add_argument("--n-persona-prompts", type=int, default=8)
    ap.add_argument("--k", type=int, default=8, help="completions per prompt (and per perturbed prompt)")
    ap.add_argument("--persona-k", type=int, default=8, help="personas per persona prompt")
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--top-p", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--perturbations", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--size", type=int, default=8, help="tokens borrowed / words injected")
    ap.add_argument("--position", type=int, default=8, help="random-token: own tokens before the injection")
    ap.add_argument("--threshold", default="auto",
                    help="cosine distance of the semantic clusters and attractor returns; 'auto' (default): "
                         "calibrated on the encoder, the --calibration-quantile of the within-prompt distances of "
                         "both sides' unperturbed completions")
    ap.add_argument("--calibration-quantile", type=float, default=CALIBRATION_QUANTILE)
    ap.add_argument("--horizon", type=int, default=None,
                    help="branching factor: positions used (default: the authors' cut at the 95th percentile of "
                         "each prompt's output lengths)")
    ap.add_argument("--topk-horizon", type=int, default=32,
                    help="top-k renormalised branching factor (the earlier form): common horizon (positions)")
    ap.add_argument("--top-logprobs", type=int, default=5, help="next-token candidates recorded and used (top-k)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--embedder", default=None, help="sentence-embedding model folder (default all-MiniLM-L6-v2)")
    ap.add_argument("--analyse-only", action="store_true",
                    help="sample nothing: analyse the files an earlier run wrote to <out>/samples")
    ap.add_argument("--sample-branching", action="store_true",
                    help="with --analyse-only: first sample <out>/samples/<label>/branching.jsonl, the unperturbed "
                         "prompts again with the full next-token entropy recorded (samples drawn before it was)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    labels = list(args.labels)
    prompts = pick_prompts(args.prompts, args.n_prompts)
    if len(prompts) < 2:
        raise SystemExit(f"{args.prompts}: the attractor experiment needs at least 2 open prompts")
    personas = load_prompts(args.persona_prompts)[:args.n_persona_prompts] if args.n_persona_prompts else []
    files = {}
    for lab, spec in zip(labels, (args.base, args.aligned)):
        side = "base" if lab == labels[0] else "aligned"
        files[lab] = existing_side(lab, args) if args.analyse_only else \
            sample_side(lab, spec, getattr(args, f"{side}_served"), getattr(args, f"{side}_template"), args,
                        prompts, personas)
    if args.analyse_only and args.sample_branching:
        for lab, spec in zip(labels, (args.base, args.aligned)):
            side = "base" if lab == labels[0] else "aligned"
            files[lab]["branching"] = sample_branching(lab, spec, getattr(args, f"{side}_served"), args, prompts)
    kinds = [k for k in args.perturbations if all(k in files[lab] for lab in labels)]
    args.perturbations = kinds
    personas = personas if all("personas" in files[lab] for lab in labels) else []
    notes = settings_from_files(files, labels, args)
    from diversity.embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(args.embedder) if args.embedder else SentenceTransformerEmbedder()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = analyse(files, labels, args, embedder, prompts, personas)
    from _paper_report import write

    write(out, files, labels, args, results, notes + [str(w.message) for w in caught], argv, embedder)
    print(f"report: {out / 'report.md'}")


def _threshold(files, labels, args, embedder):
    """The cluster threshold: --threshold as given, or (``auto``) calibrated on the encoder over both sides'
    unperturbed completions (diversity.metrics.attractor.calibrate_threshold), one threshold for both models."""
    if args.threshold != "auto":
        return float(args.threshold)
    return calibrate_threshold(*(by_prompt(rows(files[lab]["unperturbed"])) for lab in labels),
                               quantile=args.calibration_quantile, embedder=embedder)


def _entropy_rows(files: dict, lab: str) -> tuple[list[dict], str]:
    """The rows that carry the full next-token entropy: the unperturbed ones when they do, else branching.jsonl
    (the same prompts sampled again with it recorded); else the unperturbed rows (top-k only)."""
    u = rows(files[lab]["unperturbed"])
    if u and all("entropy" in r for r in u):
        return u, "unperturbed"
    if "branching" in files[lab]:
        b = rows(files[lab]["branching"])
        if b and all("entropy" in r for r in b):
            return b, "branching"
    return u, "unperturbed (top-k only)"


def entropy_experiment(files, labels, args) -> tuple | None:
    """Token entropy (top-k renormalised, as arXiv 2406.05587), the branching factor as its authors define it
    (full distribution where the samples have it) and the top-k renormalised branching factor beside it."""
    la, lb = labels
    lps = {lab: by_prompt([r for r in rows(files[lab]["unperturbed"]) if "top_logprobs" in r], "top_logprobs")
           for lab in labels}
    common = [p for p in lps[la] if p in lps[lb]]
    if not common or not args.top_logprobs:  # sampled without log-probabilities: no experiment 3
        return None
    k_min = min(len(lps[lab][p]) for lab in labels for p in common)
    args.min_samples = min(4, k_min)
    top = args.top_logprobs
    full = {lab: _entropy_rows(files, lab) for lab in labels}
    ent: dict = {}
    for lab in labels:
        ent[lab] = {"token-entropy": diversity.token_entropy({p: lps[lab][p] for p in common}, top_k=top)}
        rs, source = full[lab]
        if all("entropy" in r for r in rs):
            e, t = by_prompt(rs, "entropy"), by_prompt(rs, "token_logprobs")
            ent[lab]["branching-factor"] = diversity.branching_factor(
                entropies={p: e[p] for p in common}, token_logprobs={p: t[p] for p in common},
                min_samples=args.min_samples, horizon=args.horizon)
        else:  # a served endpoint: top-k only, and the result says so (cand:top<k>-renorm)
            ent[lab]["branching-factor"] = diversity.branching_factor(
                {p: lps[lab][p] for p in common}, top_k=top, min_samples=args.min_samples, horizon=args.horizon)
        ent[lab]["branching-factor-topk"] = topk_branching_factor(
            {p: lps[lab][p] for p in common}, top_k=top, min_samples=args.min_samples, horizon=args.topk_horizon)
    sources = {lab: full[lab][1] for lab in labels}
    same = {}
    for lab in labels:  # branching.jsonl drawn again from the same seeds: does it hold the same completions?
        if sources[lab] == "branching":
            u = {(r["prompt_id"], r["sample_index"]): r["completion"] for r in rows(files[lab]["unperturbed"])}
            b = {(r["prompt_id"], r["sample_index"]): r["completion"] for r in full[lab][0]}
            same[lab] = (sum(u.get(k) == v for k, v in b.items()), len(b))
    return ent, compare_results(ent[la], ent[lb], labels=(la, lb), seed=args.seed), sources, same


def analyse(files, labels, args, embedder, prompts, personas) -> dict:
    la, lb = labels
    res: dict = {}
    if personas:
        res["personas"] = persona_experiment(files, labels, args.seed)
    thr = _threshold(files, labels, args, embedder)
    args.cluster_threshold = thr
    a, b = (by_prompt(rows(files[lab]["unperturbed"])) for lab in labels)
    res["semantic"] = diversity.compare(a, b, ["mean-pairwise-distance", "vendi",
                                               f"semantic-clusters?threshold={float(thr):g}"],
                                       labels=(la, lb), seed=args.seed, embedder=embedder)
    res["clouds"] = (a, b)
    res["prompt_text"] = {r["prompt_id"]: r["prompt"] for r in rows(files[la]["unperturbed"])}
    res["attractor"] = attractor_experiment(files, labels, args.perturbations, args, embedder)
    res["meta"] = {lab: read_meta(files[lab]["unperturbed"]) for lab in labels}
    res["top"] = {lab: {f: Counter(v for v in res["personas"][2][lab][f] if v is not None).most_common(5)
                        for f in ("nationality", "gender", "age-bucket", "occupation")} for lab in labels} \
        if personas else {}
    res["raw_top"] = {lab: {f: Counter(v for v in res["personas"][3][lab][f] if v is not None).most_common(5)
                            for f in ("nationality", "gender")} for lab in labels} if personas else {}
    res["entropy"] = entropy_experiment(files, labels, args)
    return res


if __name__ == "__main__":
    main()
