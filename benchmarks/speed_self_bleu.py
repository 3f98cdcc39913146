"""Self-BLEU speed: diversity (exact, linear time) vs nltk's sentence_bleu loop
vs fast-bleu (C++), on the same realistic completions.

    python benchmarks/speed_self_bleu.py [--sizes 100 1000 10000 100000] [--nltk-max 1000] [--fast-max 10000]

4-gram BLEU, uniform weights, smoothing method1 (nltk SmoothingFunction().method1,
which fast-bleu also implements), each completion against all the others,
tokens = our `unicode` tokenizer for every method. nltk (and fast-bleu) run
only up to --nltk-max (--fast-max) completions; beyond that their time is
extrapolated from a fitted c*N^2 curve (marked "~"). Values are compared on
every measured size: the largest absolute difference of per-completion BLEU
is printed, and the script stops if it exceeds 1e-9 (nltk) or 1e-6 (fast-bleu,
which works in float32 in places).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_ours(texts):
    import diversity

    t0 = time.perf_counter()
    r = diversity.self_bleu(texts, max_n=4, smoothing="method1")
    return time.perf_counter() - t0, np.array(r.details["per_completion"])


def run_nltk(toks):
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    sf = SmoothingFunction().method1
    t0 = time.perf_counter()
    out = [sentence_bleu(toks[:i] + toks[i + 1:], h, smoothing_function=sf) for i, h in enumerate(toks)]
    return time.perf_counter() - t0, np.array(out)


def run_fast(toks):
    try:
        from fast_bleu import SelfBLEU
    except ImportError:
        return None
    t0 = time.perf_counter()
    scores = SelfBLEU(toks, {"b": (0.25, 0.25, 0.25, 0.25)}).get_score()["b"]
    return time.perf_counter() - t0, np.array(scores)


def fit_n2(points):
    """Least-squares c in t = c * N^2 over measured (N, t)."""
    n = np.array([p[0] for p in points], float)
    t = np.array([p[1] for p in points], float)
    return float((t * n**2).sum() / (n**4).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10_000, 100_000])
    ap.add_argument("--nltk-max", type=int, default=1000)
    ap.add_argument("--fast-max", type=int, default=10_000)
    args = ap.parse_args()

    from _corpus import make_corpus
    import diversity
    from diversity.text.tokenize import get_tokenizer

    tok = get_tokenizer("unicode")
    print(f"diversity {diversity.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print("self-BLEU, 4-gram, method1, each completion vs all others; seconds ('~' = extrapolated c*N^2)\n")
    header = f"{'N':>7} {'ours s':>8} {'nltk s':>12} {'fast-bleu s':>12} {'nltk/ours':>11} {'fast/ours':>11}  max |diff| vs nltk, fast"
    print(header)
    print("-" * len(header))
    nltk_pts, fast_pts = [], []
    for n in args.sizes:
        texts = make_corpus(n, seed=0)
        toks = [tok(t) for t in texts]
        t_ours, v_ours = run_ours(texts)
        t_nltk = t_fast = None
        d_nltk = d_fast = "-"
        if n <= args.nltk_max:
            t_nltk, v = run_nltk(toks)
            nltk_pts.append((n, t_nltk))
            diff = float(np.max(np.abs(v - v_ours)))
            if diff > 1e-9:
                raise SystemExit(f"VALUES DISAGREE with nltk at N={n}: max |diff| = {diff}")
            d_nltk = f"{diff:.1e}"
        if n <= args.fast_max:
            res = run_fast(toks)
            if res is not None:
                t_fast, v = res
                fast_pts.append((n, t_fast))
                diff = float(np.max(np.abs(v - v_ours)))
                if diff > 1e-6:
                    raise SystemExit(f"VALUES DISAGREE with fast-bleu at N={n}: max |diff| = {diff}")
                d_fast = f"{diff:.1e}"

        def show(t, pts):
            if t is not None:
                return f"{t:.3f}", t
            if pts:
                est = fit_n2(pts) * n**2
                return f"~{est:,.0f}", est
            return "-", None

        s_nltk, e_nltk = show(t_nltk, nltk_pts)
        s_fast, e_fast = show(t_fast, fast_pts)
        r_nltk = f"{e_nltk / t_ours:,.0f}x" if e_nltk else "-"
        r_fast = f"{e_fast / t_ours:,.0f}x" if e_fast else "-"
        print(f"{n:>7} {t_ours:>8.3f} {s_nltk:>12} {s_fast:>12} {r_nltk:>11} {r_fast:>11}  {d_nltk}, {d_fast}")
    print("\nours: diversity.self_bleu (tokenization included); nltk: sentence_bleu loop; "
          "fast-bleu: fast_bleu.SelfBLEU (multithreaded C++), tokens given.")


if __name__ == "__main__":
    main()
