"""Semantic diversity speed: embedding throughput (with dedup and cache) and
Vendi / mean pairwise distance on large embedding sets, against the
vendi-score package and a brute-force N x N numpy baseline.

    python benchmarks/speed_semantic.py [--texts 1000] [--dup 0.3] [--sizes 1000 10000 100000]

Part 1 embeds --texts realistic completions of which a fraction --dup are
repeats (LLM outputs repeat), with the default all-MiniLM-L6-v2 on the CPU:
  plain    sentence-transformers .encode on every text (no dedup, no cache)
  ours     SentenceTransformerEmbedder, empty cache (dedup, then encode)
  cached   a second run over the same texts with a fresh embedder object:
           served from the on-disk cache; the model is never loaded
Part 2 times the metrics alone on random 384-d embeddings (as precomputed
embeddings=, so no model):
  Vendi (q=1)   ours (eigenvalues of the d x d matrix U^T U / N) vs
                vendi_score.vendi.score_X (N x N kernel) and brute-force
                numpy (N x N kernel + eigvalsh); values compared
  mean pairwise cosine distance   ours (sum of unit vectors, O(N d)) vs
                brute force (full N x N similarity matrix)
N x N methods run while N <= --brute-max (default 10000 for the mean
distance, 3000 for eigen-decompositions); beyond that their time is
extrapolated (N^2 for the mean distance, N^3 for eigvalsh; marked "~").
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def timed(f, *a, **k):
    t0 = time.perf_counter()
    out = f(*a, **k)
    return time.perf_counter() - t0, out


def part_embeddings(n_texts: int, dup: float) -> None:
    from _corpus import make_corpus
    from diversity.embed import SentenceTransformerEmbedder

    rng = np.random.default_rng(0)
    base = make_corpus(int(n_texts * (1 - dup)), seed=1)
    texts = base + [base[i] for i in rng.integers(0, len(base), size=n_texts - len(base))]
    rng.shuffle(texts)
    print(f"Embedding {len(texts)} completions ({len(set(texts))} distinct), all-MiniLM-L6-v2, CPU, batch 64")
    with tempfile.TemporaryDirectory() as cache:
        ours = SentenceTransformerEmbedder(cache=cache)
        t_load, model = timed(lambda: ours.model)
        t_plain, v_plain = timed(model.encode, texts, batch_size=64, convert_to_numpy=True)
        ours_fresh = SentenceTransformerEmbedder(cache=cache)
        ours_fresh._model = model
        t_ours, v_ours = timed(ours_fresh.encode, texts)
        again = SentenceTransformerEmbedder(cache=cache)
        t_cached, v_cached = timed(again.encode, texts)
    assert np.allclose(v_plain, v_ours, atol=1e-5) and np.array_equal(v_ours, v_cached)
    print(f"  model load                 {t_load:8.2f} s")
    print(f"  plain encode (no dedup)    {t_plain:8.2f} s  {len(texts) / t_plain:8.1f} texts/s")
    print(f"  ours, empty cache          {t_ours:8.2f} s  {len(texts) / t_ours:8.1f} texts/s  "
          f"({ours_fresh.n_encoded} through the model; {t_plain / t_ours:.2f}x plain)")
    print(f"  ours, warm cache           {t_cached:8.3f} s  {len(texts) / t_cached:8.0f} texts/s  "
          f"({again.n_encoded} through the model; model loaded: {again._model is not None})")
    print()


def part_metrics(sizes: list[int], brute_max: int, eig_max: int) -> None:
    import diversity

    try:
        from vendi_score import vendi
    except ImportError:
        vendi = None
    rng = np.random.default_rng(0)
    print("Vendi (q=1) and mean pairwise cosine distance on random 384-d embeddings; seconds "
          "('~' = extrapolated)")
    hdr = (f"{'N':>7} | {'vendi ours':>10} {'vendi-score':>12} {'brute NxN':>11} {'ratio':>9} | "
           f"{'MPD ours':>9} {'brute NxN':>10} {'ratio':>9}")
    print(hdr)
    print("-" * len(hdr))
    eig_pts, pkg_pts, mpd_pts = [], [], []

    def est(pts, n, power):
        if not pts:
            return None
        c = np.mean([t / m**power for m, t in pts])
        return c * n**power

    for n in sizes:
        x = rng.normal(size=(n, 384)).astype(np.float32)
        x[: n // 10] = x[n // 10: 2 * (n // 10)]  # some duplicates, like LLM outputs
        t_v, r_v = timed(diversity.vendi_score, embeddings=x)
        t_m, r_m = timed(diversity.mean_pairwise_distance, embeddings=x)
        s_pkg = s_bv = s_bm = "-"
        e_pkg = e_bv = e_bm = None
        if n <= eig_max:
            def brute_vendi():
                u = x.astype(np.float64)
                u /= np.linalg.norm(u, axis=1, keepdims=True)
                return np.linalg.eigvalsh((u @ u.T) / n)
            t_bv, lam = timed(brute_vendi)
            lam = lam[lam > 1e-12]
            assert abs(np.exp(-(lam * np.log(lam)).sum()) - r_v.value) < 1e-6 * r_v.value
            eig_pts.append((n, t_bv))
            e_bv, s_bv = t_bv, f"{t_bv:.3f}"
            if vendi is not None:
                t_pkg, v_pkg = timed(vendi.score_X, x)
                assert abs(v_pkg - r_v.value) < 1e-4 * r_v.value
                pkg_pts.append((n, t_pkg))
                e_pkg, s_pkg = t_pkg, f"{t_pkg:.3f}"
        else:
            e_bv = est(eig_pts, n, 3)
            e_pkg = est(pkg_pts, n, 3)
            s_bv = f"~{e_bv:,.0f}" if e_bv else "-"
            s_pkg = f"~{e_pkg:,.0f}" if e_pkg else "-"
        if n <= brute_max:
            def brute():
                u = x.astype(np.float64)
                u /= np.linalg.norm(u, axis=1, keepdims=True)
                S = u @ u.T
                return 1.0 - (S.sum() - np.trace(S)) / (n * (n - 1))
            t_bm, v_bm = timed(brute)
            assert abs(v_bm - r_m.value) < 1e-9
            mpd_pts.append((n, t_bm))
            e_bm, s_bm = t_bm, f"{t_bm:.3f}"
        else:
            e_bm = est(mpd_pts, n, 2)
            s_bm = f"~{e_bm:,.0f}" if e_bm else "-"
        rv = f"{min(e for e in (e_pkg, e_bv) if e) / t_v:,.0f}x" if (e_pkg or e_bv) else "-"
        rm = f"{e_bm / t_m:,.0f}x" if e_bm else "-"
        print(f"{n:>7} | {t_v:>10.3f} {s_pkg:>12} {s_bv:>11} {rv:>9} | {t_m:>9.3f} {s_bm:>10} {rm:>9}")
    print("\nratio: the faster N x N method's time / ours. Values agree where both ran "
          "(Vendi rel 1e-4 vs vendi-score's float32 path, 1e-6 vs float64 brute force; MPD abs 1e-9).")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=1000)
    ap.add_argument("--dup", type=float, default=0.3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10_000, 100_000])
    ap.add_argument("--brute-max", type=int, default=10_000)
    ap.add_argument("--eig-max", type=int, default=3000)
    ap.add_argument("--skip-embeddings", action="store_true")
    args = ap.parse_args()
    import diversity

    print(f"diversity {diversity.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    if not args.skip_embeddings:
        part_embeddings(args.texts, args.dup)
    part_metrics(args.sizes, args.brute_max, args.eig_max)


if __name__ == "__main__":
    main()
