"""Scale benchmark: Infinity-Chat-shaped synthetic data (26,000 prompts x 50
completions of 20-120 words = 1.3M completions, ~90M tokens).

    python benchmarks/scale.py                 # the full size (several minutes on 2 cores)
    python benchmarks/scale.py --quick         # a small run (seconds), for a smoke test

Parts, each in its own subprocess so that its peak memory (maxrss) is its own:

1. lexical metrics (distinct-1..4, n-gram entropy 1..4, self-BLEU, compression ratio, unique fraction,
   homogenization with a pair cap) with per-prompt bootstrap CIs, single process;
2. the same on a dask LocalCluster with 1 and 2 workers (when dask is installed), values compared;
3. semantic metrics (mean pairwise distance, Vendi) on given 384-d embeddings;
4. homogenization time per prompt at 100 and 2,000 prompts (linearity);
5. compare() of two full-size sets with the default lexical metrics and 10,000 resamples: time and memory
   of the statistics against the scoring;
6. a JSONL file streamed through `diversity score`: peak memory against the file size;

then an estimate, from the measured per-completion costs, of 100M completions on 64 workers with the
embedding on GPUs (the GPU throughput is an assumption, stated).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LEXICAL = ["distinct-1", "distinct-2", "distinct-3", "distinct-4", "ngram-entropy-1", "ngram-entropy-2",
           "ngram-entropy-3", "ngram-entropy-4", "self-bleu", "compression-ratio", "unique-fraction",
           "homogenization-rouge-l?max_pairs=100"]


def synthetic(n_prompts: int, k: int, seed: int = 0) -> dict[str, list[str]]:
    """Completions of 20-120 words: a prompt-specific topic vocabulary mixed with a Zipf background."""
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(50_000)], dtype=object)
    zipf = 1.0 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
    out = {}
    for p in range(n_prompts):
        topic = rng.choice(len(vocab), size=200, replace=False)
        lengths = rng.integers(20, 121, size=k)
        words = rng.choice(len(vocab), size=int(lengths.sum()), p=zipf)
        from_topic = rng.random(len(words)) < 0.3
        words[from_topic] = topic[rng.integers(0, 200, size=int(from_topic.sum()))]
        texts, start = [], 0
        for n in lengths:
            texts.append(" ".join(vocab[words[start:start + n]]))
            start += n
        out[f"p{p}"] = texts
    return out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def part(name: str, args: argparse.Namespace) -> dict:
    import diversity

    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    if name == "homogenization":
        out = {}
        for n in (100, 2000):
            s = synthetic(n, 10, seed=1)
            t = time.perf_counter()
            diversity.homogenization(s, ci=False)
            out[n] = (time.perf_counter() - t) / n
        return {"per_prompt_s": out, "ratio": out[2000] / out[100]}
    samples = synthetic(args.prompts, args.k)
    made = time.perf_counter() - t0
    n = sum(map(len, samples.values()))
    if name == "lexical":
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t, cpu = time.perf_counter(), time.process_time()
        res = diversity.score(samples, LEXICAL)
        out = {"seconds": time.perf_counter() - t, "cpu_s": time.process_time() - cpu, "generate_s": made,
               "completions": n, "tokens": int(res["distinct-1"].details["total_tokens"]), "peak_mb": peak_mb(),
               "values": {k: r.value for k, r in res.items()}}
        if profiler is not None:
            import io
            import pstats

            profiler.disable()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
            out["profile"] = text.getvalue()
        return out
    if name.startswith("dask"):
        from dask.distributed import Client, LocalCluster

        from diversity.distributed import score_dask
        import dask.dataframe as dd
        import pandas as pd

        workers = int(name[-1])
        frame = pd.DataFrame([(p, t) for p, ts in samples.items() for t in ts], columns=["prompt", "completion"])
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            ddf = dd.from_pandas(frame, npartitions=max(4, 4 * workers))
            t = time.perf_counter()
            res = score_dask(ddf, LEXICAL, client=client)
            return {"seconds": time.perf_counter() - t, "completions": n, "values": {k: r.value for k, r in res.items()}}
    if name == "semantic":
        rng = np.random.default_rng(2)
        k = min(args.k, 10)
        emb = {p: (rng.normal(size=384) + rng.normal(size=(k, 384))).astype(np.float32) for p in samples}
        t = time.perf_counter()
        res = diversity.score(metrics=["mean-pairwise-distance", "vendi"], embeddings=emb)
        return {"seconds": time.perf_counter() - t, "rows": len(emb) * k, "peak_mb": peak_mb(),
                "values": {k2: r.value for k2, r in res.items()}}
    if name == "compare":
        other = synthetic(args.prompts, args.k, seed=7)
        metrics = list(diversity.compare.DEFAULT_COMPARE_METRICS) if hasattr(diversity.compare, "DEFAULT_COMPARE_METRICS") \
            else ["distinct-1", "distinct-2", "ngram-entropy-2", "self-bleu", "unique-fraction", "compression-ratio"]
        from diversity.compare.api import DEFAULT_COMPARE_METRICS

        t = time.perf_counter()
        a = diversity.score(samples, list(DEFAULT_COMPARE_METRICS), ci=False)
        b = diversity.score(other, list(DEFAULT_COMPARE_METRICS), ci=False)
        scoring = time.perf_counter() - t
        before = peak_mb()
        t = time.perf_counter()
        c = diversity.compare_results(a, b, n_resamples=10_000)
        stats = time.perf_counter() - t
        return {"scoring_s": scoring, "stats_s": stats, "peak_mb_before_stats": before, "peak_mb": peak_mb(),
                "permutations": c.settings["permutations"], "metrics": metrics}
    if name == "stream":
        path = Path(args.tmp) / "stream.jsonl"
        with open(path, "w") as f:
            for p, ts in samples.items():
                for t in ts:
                    f.write(json.dumps({"prompt": p, "completion": t}) + "\n")
        size = path.stat().st_size
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", (
            "import resource, sys, diversity.cli as c; "
            f"code = c.main(['score', {str(path)!r}, '--metrics', 'distinct-2', 'ngram-entropy-2', 'unique-fraction', "
            "'--quiet', '--format', 'json']); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)")],
            capture_output=True, text=True)
        seconds = time.perf_counter() - t
        path.unlink()
        return {"file_mb": size / 2**20, "seconds": seconds, "peak_mb": float(proc.stderr.strip().splitlines()[-1])}
    raise ValueError(name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=26_000)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="200 prompts x 10 completions")
    ap.add_argument("--parts", nargs="+", default=["lexical", "dask1", "dask2", "semantic", "homogenization",
                                                    "compare", "stream"])
    ap.add_argument("--tmp", default="/tmp")
    ap.add_argument("--profile", action="store_true", help="print where the lexical part spends its time (cProfile, "
                    "by own time; the profiler itself slows it down)")
    ap.add_argument("--part", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.prompts, args.k = 200, 10
    if args.part:
        print(json.dumps(part(args.part, args)))
        return
    results = {}
    for name in args.parts:
        if name.startswith("dask"):
            try:
                import dask.distributed  # noqa: F401
                import diversity.distributed  # noqa: F401
            except ImportError as e:
                print(f"{name}: skipped ({e})")
                continue
        cmd = [sys.executable, __file__, "--part", name, "--prompts", str(args.prompts), "--k", str(args.k),
               "--tmp", args.tmp] + (["--profile"] if args.profile else [])
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{name}: failed\n{proc.stderr[-2000:]}")
            continue
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        results[name]["wall_s"] = time.perf_counter() - t
        print(f"{name}: {json.dumps({k: v for k, v in results[name].items() if k not in ('values', 'profile')})}",
              flush=True)
        if "profile" in results[name]:
            print(results[name]["profile"], flush=True)
    lex = results.get("lexical")
    if lex:
        per = lex["seconds"] / lex["completions"]
        print(f"\nlexical: {lex['completions']:,} completions ({lex['tokens']:,} tokens) in {lex['seconds']:.1f} s "
              f"({lex['cpu_s']:.1f} CPU-s), peak {lex['peak_mb']:.0f} MB (targets for 1.3M: < 180 s, < 4096 MB)")
        for w in ("dask1", "dask2"):
            if w in results:
                same = all(abs(results[w]["values"][m] - lex["values"][m]) <= 1e-12 * max(1, abs(lex["values"][m]))
                           for m in lex["values"])
                print(f"{w}: {results[w]['seconds']:.1f} s, values identical to single process: {same}")
        if "dask1" in results and "dask2" in results:
            print(f"LocalCluster 2 workers vs 1: {results['dask1']['seconds'] / results['dask2']['seconds']:.2f}x "
                  "(target >= 1.6x)")
        workers, gpu_texts_per_s, n = 64, 10_000.0, 100_000_000
        est = n * per / workers
        print(f"estimate, 100M completions: lexical {n * per / 3600:.1f} core-hours measured here -> "
              f"{est / 60:.0f} min on {workers} workers (one core each, same speed); embedding at an ASSUMED "
              f"{gpu_texts_per_s:,.0f} texts/s per GPU (all-MiniLM-L6-v2, fp16; not measured here): "
              f"{n / gpu_texts_per_s / 3600 / 8:.1f} h on 8 GPUs")
    if "homogenization" in results:
        h = results["homogenization"]
        print(f"homogenization per prompt: {h['per_prompt_s']}; 2000 vs 100 prompts: {h['ratio']:.2f}x (target <= 1.5x)")
    if "compare" in results:
        c = results["compare"]
        print(f"compare(): scoring {c['scoring_s']:.1f} s, statistics {c['stats_s']:.1f} s "
              f"({c['permutations']:,} sign patterns), peak {c['peak_mb_before_stats']:.0f} -> {c['peak_mb']:.0f} MB")
    if "stream" in results:
        s = results["stream"]
        print(f"stream: {s['file_mb']:.0f} MB JSONL in {s['seconds']:.1f} s, peak {s['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
