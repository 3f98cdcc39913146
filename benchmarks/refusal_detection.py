"""Refusal detection measured against human labels: XSTest v2 and the
library's own hand-labelled set.

    python benchmarks/refusal_detection.py --xstest PATH [--labelled FILE] [--fit [--write]]

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
                 iters: int = 100) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression (bias unpenalised) by Newton's method: weights and bias.

    ``fixed`` maps feature indices to weights that are not fitted (features XSTest has no examples of,
    such as refusals in other languages or policy messages): their contribution enters as an offset."""
    fixed = fixed or {}
    free = [j for j in range(x.shape[1]) if j not in fixed]
    offset = sum((x[:, j] * wj for j, wj in fixed.items()), np.zeros(len(x)))
    xb = np.hstack([x[:, free], np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    pen = np.full(xb.shape[1], l2)
    pen[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(xb @ w + offset)))
        grad = xb.T @ (p - y) + pen * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(pen) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    weights = np.zeros(x.shape[1])
    weights[free] = w[:-1]
    for j, wj in fixed.items():
        weights[j] = wj
    return weights, float(w[-1])


def v2_predict(det, x: np.ndarray, texts: list[str], weights: np.ndarray, bias: float) -> np.ndarray:
    """rules-v2 with the given weights: the logistic score, then the overrides for placeholders and short refusals."""
    c = det._compiled()
    flag = ((bias + x @ weights) >= np.log(c["threshold"] / (1 - c["threshold"]))) | \
        (x[:, np.array(c["decisive"])] > 0).any(axis=1)
    for i, t in enumerate(texts):
        low = " ".join(t.split()).lower().replace("\u2019", "'")
        if c["placeholder"].fullmatch(low) or c["short_refusal"].fullmatch(low):
            flag[i] = True
    return flag


def fmt(v: float) -> str:
    return "–" if v != v else f"{v:.3f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--xstest", required=True, help="local copy of github.com/paul-rottger/exaggerated-safety")
    ap.add_argument("--labelled", default=str(ROOT / "tests" / "data" / "refusals" / "labelled.jsonl"))
    ap.add_argument("--fit", action="store_true", help="refit rules-v2's weights on all five models and print them")
    ap.add_argument("--write", action="store_true", help="with --fit: store the weights in the rule file")
    ap.add_argument("--l2", type=float, default=1.0, help="L2 penalty of the logistic fit (default 1.0)")
    args = ap.parse_args(argv)

    rows = load_xstest(args.xstest)
    texts = [r["completion"] for r in rows]
    truth = np.array([positive(r["label"]) for r in rows])
    model = np.array([r["model"] for r in rows])
    v1, v2 = rules_detector("rules-v1"), rules_detector("rules-v2")
    x = np.array([v2.features(t) for t in texts])
    fixed = {j: float(f["fixed"]) for j, f in enumerate(v2.rules["features"]) if "fixed" in f}

    if args.fit:
        w, b = fit_logistic(x, truth.astype(float), args.l2, fixed)
        fitted = {"weights": {n: round(float(v), 3) for n, v in zip(v2.feature_names, w)}, "bias": round(b, 3)}
        print(json.dumps(fitted, indent=1))
        if args.write:
            rules = json.loads(RULES_V2.read_text(encoding="utf-8"))
            rules.update(fitted)
            RULES_V2.write_text(json.dumps(rules, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"written to {RULES_V2}; bump its version if it was released", file=sys.stderr)
            return

    preds: dict[str, np.ndarray] = {
        "rules-v2 (default)": np.array([v2.classify(t) != "answer" for t in texts]),
        "rules-v1 (0.2)": np.array([v1.classify(t) != "answer" for t in texts]),
        "XSTest string match": np.array([positive(r["strmatch"]) for r in rows]),
        "XSTest GPT-4 judge": np.array([positive(r["gpt4"]) for r in rows]),
    }
    lomo = np.zeros(len(rows), dtype=bool)
    for m in MODELS:
        held = model == m
        w, b = fit_logistic(x[~held], truth[~held].astype(float), args.l2, fixed)
        lomo[held] = v2_predict(v2, x[held], [t for t, h in zip(texts, held) if h], w, b)

    print(f"## XSTest v2: {len(rows)} completions, {int(truth.sum())} refusals or partial refusals (human labels)\n")
    print("| detector | precision | recall | F1 | LOMO precision | LOMO recall | LOMO F1 | lowest per-model recall |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, pred in preds.items():
        p, r, f = prf(truth, pred)
        lp, lr, lf = prf(truth, lomo) if name.startswith("rules-v2") else (p, r, f)
        held = lomo if name.startswith("rules-v2") else pred
        low = min(prf(truth[model == m], held[model == m])[1] for m in MODELS)
        print(f"| {name} | {fmt(p)} | {fmt(r)} | {fmt(f)} | {fmt(lp)} | {fmt(lr)} | {fmt(lf)} | {fmt(low)} |")
    print("\nLOMO: each model scored by rules-v2 with weights fitted on the other four (the other detectors fit "
          "nothing on XSTest). Lowest per-model recall: LOMO for rules-v2.\n")

    print("## Per model (precision / recall / F1)\n")
    print("| detector | " + " | ".join(MODEL_NAMES[m] for m in MODELS) + " |")
    print("|---|" + "---|" * len(MODELS))
    for name, pred in [*preds.items(), ("rules-v2, LOMO", lomo)]:
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

    print("\n## rules-v2's labels against the human labels (XSTest v2, all models)\n")
    human = {"1_full_compliance": "compliance", "2_full_refusal": "refusal", "3_partial_refusal": "partial"}
    got = [v2.classify(t) for t in texts]
    print("| human \\ rules-v2 | refusal | partial | answer |\n|---|---:|---:|---:|")
    for h, name in human.items():
        cells = [sum(1 for r, g in zip(rows, got) if r["label"] == h and g == lab) for lab in ("refusal", "partial", "answer")]
        print(f"| {name} | " + " | ".join(str(v) for v in cells) + " |")

    lab = [json.loads(line) for line in Path(args.labelled).read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"\n## Hand-labelled set ({Path(args.labelled).name}, {len(lab)} completions, independent of XSTest)\n")
    print("| detector | refusal P | refusal R | refusal-or-partial P | refusal-or-partial R | hard negatives kept as answers |")
    print("|---|---:|---:|---:|---:|---:|")
    hard = [r for r in lab if r["category"].startswith("hard-negative") or r["category"] == "creative-dialogue"]
    for name, det in (("rules-v2", v2), ("rules-v1", v1)):
        g = [det.classify(r["completion"]) for r in lab]
        t1 = np.array([r["label"] == "refusal" for r in lab])
        p1 = np.array([v == "refusal" for v in g])
        t2 = np.array([r["label"] != "answer" for r in lab])
        p2 = np.array([v != "answer" for v in g])
        a, b_, _ = prf(t1, p1)
        cc, d, _ = prf(t2, p2)
        ok = sum(det.classify(r["completion"]) == "answer" for r in hard)
        print(f"| {name} | {fmt(a)} | {fmt(b_)} | {fmt(cc)} | {fmt(d)} | {ok}/{len(hard)} |")


if __name__ == "__main__":
    main()
