"""Embedding backends against the torch reference, on the bundled set.

    python benchmarks/embedding_backends.py [--backends onnx onnx-int8] [--repeats 2]

Embeds every completion of the bundled example sets (``load_example('base')``
and ``('aligned')``: 80 prompts x 8 completions, 640 texts) with each backend
of :class:`~diversity.embed.SentenceTransformerEmbedder` (no cache, default
batch size 64, the model loaded and any ONNX export made before timing;
``--repeats`` interleaved rounds) and reports, per backend:

  texts/s      median over the rounds, and the median of the per-round
               ratios to torch (robust to other jobs on the machine)
  cos min/mean per-text cosine between the backend's and torch's vectors
  rho MPD      Spearman, across the 80 prompts, of per-prompt mean pairwise
               cosine distance (backend vs torch)
  rho Vendi    the same for the Vendi score
  verdicts     whether diversity.compare(base, aligned) on
               mean-pairwise-distance and vendi keeps, for each metric, the
               sign of the difference and whether it is significant (Holm
               p < 0.05)

The agreement bar for making a backend the default: >= 3x torch's texts/s,
both rho >= 0.99, every verdict unchanged.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", nargs="+", default=["onnx", "onnx-int8"])
    ap.add_argument("--repeats", type=int, default=4, help="interleaved timing rounds")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    from scipy.stats import spearmanr

    import diversity
    from diversity.embed import SentenceTransformerEmbedder
    from diversity.io.datasets import load_example

    sets = {"base": load_example("base"), "aligned": load_example("aligned")}
    groups = [(name, p, list(v)) for name, d in sets.items() for p, v in d.items()]
    texts = [t for _, _, v in groups for t in v]
    metrics = ["mean-pairwise-distance", "vendi"]
    print(f"{len(texts)} texts ({len(set(texts))} distinct), {len(groups)} prompts; "
          f"{os.cpu_count()} CPUs visible; load average {os.getloadavg()[0]:.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DIVERSITY_CACHE_DIR"] = tmp  # the ONNX exports go here; made once, before timing
        models, rows = {}, []
        for backend in ["torch"] + args.backends:
            emb = SentenceTransformerEmbedder(cache=False, backend=backend)
            t0 = time.perf_counter()
            emb.model.encode(texts[:8], batch_size=64)  # load (and export) the model, warm up
            models[backend] = (emb.model, time.perf_counter() - t0)
        # Interleaved rounds (torch, onnx, onnx-int8, torch, ...): a machine shared with other jobs slows
        # all backends of a round alike, so the per-round ratio to torch is the robust number.
        secs = {b: [] for b in models}
        vectors = {}
        for _ in range(args.repeats):
            for backend, (model, _) in models.items():
                fresh = SentenceTransformerEmbedder(cache=False, backend=backend)
                fresh._model = model
                t0 = time.perf_counter()
                vectors[backend] = fresh.encode(texts)
                secs[backend].append(time.perf_counter() - t0)
        ref = None
        for backend, (model, load) in models.items():
            vecs = vectors[backend]
            per_prompt, pos = {m: [] for m in metrics}, 0
            for _, _, v in groups:
                e = vecs[pos:pos + len(v)]
                pos += len(v)
                per_prompt["mean-pairwise-distance"].append(diversity.mean_pairwise_distance(embeddings=[e]).value)
                per_prompt["vendi"].append(diversity.vendi_score(embeddings=[e]).value)
            cached = SentenceTransformerEmbedder(cache=os.path.join(tmp, "vectors"), backend=backend)
            cached._model = model
            cmp = diversity.compare(sets["base"], sets["aligned"], metrics, embedder=cached)
            verdict = {r.metric: (np.sign(r.diff), r.p_holm < 0.05) for r in cmp.rows}
            ratio = float(np.median(np.array(secs["torch"]) / np.array(secs[backend])))
            row = {"backend": backend, "load": load, "tps": len(texts) / float(np.median(secs[backend])),
                   "ratio": ratio, "vecs": vecs, "pp": per_prompt, "verdict": verdict}
            if ref is None:
                ref = row
            rows.append(row)

    print(f"load average at the end {os.getloadavg()[0]:.2f}; texts/s: median over {args.repeats} rounds; "
          f"vs torch: median of the per-round ratios")
    print()
    print("| backend | texts/s | vs torch | cosine to torch (min / mean) | Spearman MPD | Spearman Vendi "
          "| verdicts (sign, significance) | load + export |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cos = (r["vecs"] * ref["vecs"]).sum(axis=1) / (
            np.linalg.norm(r["vecs"], axis=1) * np.linalg.norm(ref["vecs"], axis=1))
        rho = [spearmanr(r["pp"][m], ref["pp"][m])[0] for m in metrics]
        same = all(r["verdict"][m] == ref["verdict"][m] for m in metrics)
        v = ", ".join(f"{m}: {'+' if r['verdict'][m][0] > 0 else '-'}{'sig' if r['verdict'][m][1] else 'n.s.'}"
                      for m in metrics)
        bar = r is not ref and r["ratio"] >= 3 and min(rho) >= 0.99 and same
        print(f"| {r['backend']} | {r['tps']:.1f} | {r['ratio']:.2f}x | {cos.min():.6f} / {cos.mean():.6f} "
              f"| {rho[0]:.4f} | {rho[1]:.4f} | {'unchanged' if same else 'CHANGED'} ({v}) "
              f"| {r['load']:.1f} s |" + (" meets the bar" if bar else ""))


if __name__ == "__main__":
    main()
