"""Scale benchmark: Infinity-Chat-shaped synthetic data (26,000 prompts x 50
completions of 20-120 words = 1.3M completions, ~90M tokens).

    python benchmarks/scale.py                 # the full size (several minutes on 2 cores)
    python benchmarks/scale.py --quick         # a small run (seconds), for a smoke test
    python benchmarks/scale.py --parts lexical --jobs 2      # score(n_jobs=2): both cores
    python benchmarks/scale.py --parts stream --stream-gb 5  # a 5 GiB JSONL through `diversity score`

Parts, each in its own subprocess so that its peak memory (maxrss) is its own:

1. lexical metrics (distinct-1..4, n-gram entropy 1..4, self-BLEU, compression ratio, unique fraction,
   homogenization with a pair cap) with per-prompt bootstrap CIs, in one process (``--jobs N``:
   ``score(n_jobs=N)``; peak memory is then that of the process and its workers together);
2. the same on a dask LocalCluster with 1 and 2 workers (when dask is installed), values compared;
3. semantic metrics (mean pairwise distance, Vendi) on given 384-d embeddings;
4. homogenization time per prompt at 100 and 2,000 prompts (linearity);
5. compare() of two full-size sets with the default lexical metrics and 10,000 resamples: time and memory
   of the statistics against the scoring;
6. a JSONL file streamed through `diversity score`: peak memory against the file size;
7. ``pooled``: the bytes a pooled Dask run sends to the client, with declared statistics and with items;

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
    return dict(synthetic_prompts(n_prompts, k, seed))


def synthetic_prompts(n_prompts: int, k: int, seed: int = 0):
    """``(prompt, completions)`` one prompt at a time (what :func:`synthetic` collects)."""
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(50_000)], dtype=object)
    zipf = 1.0 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
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
        yield f"p{p}", texts


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TreeMemory:
    """Peak resident memory of this process and its children together (sampled every 0.1 s)."""

    def __enter__(self) -> "TreeMemory":
        import threading

        import psutil

        self.peak, self._stop, me = 0.0, threading.Event(), psutil.Process()

        def watch() -> None:
            while not self._stop.is_set():
                total = 0
                for p in [me] + me.children(recursive=True):
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total / 2**20)
                self._stop.wait(0.1)

        self._thread = threading.Thread(target=watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


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
    samples = synthetic(args.prompts, args.k) if not (name == "stream" and args.stream_gb) else {}
    made = time.perf_counter() - t0
    n = sum(map(len, samples.values()))
    if name == "lexical":
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t, cpu = time.perf_counter(), time.process_time()
        with TreeMemory() as tree:
            res = diversity.score(samples, LEXICAL, n_jobs=args.jobs)
        out = {"seconds": time.perf_counter() - t, "cpu_s": time.process_time() - cpu, "generate_s": made,
               "completions": n, "tokens": int(res["distinct-1"].details["total_tokens"]),
               "peak_mb": max(peak_mb(), tree.peak), "jobs": args.jobs,
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
    if name == "pooled":
        return pooled_bytes(samples)
    if name == "stream":
        path = Path(args.tmp) / "stream.jsonl"
        with open(path, "w") as f:
            if args.stream_gb:  # written prompt by prompt until the size is reached (never held in memory)
                prompts, p = synthetic_prompts(10**9, args.k, seed=3), 0
                while f.tell() < args.stream_gb * 2**30:
                    key, ts = next(prompts)
                    f.write("".join(json.dumps({"prompt": key, "completion": t}) + "\n" for t in ts))
            else:
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


def pooled_bytes(samples: dict[str, list[str]]) -> dict:
    """Bytes of the merged pooled state a Dask client receives (pickled), with metrics that declare compact
    statistics and with one that needs the items (the partition states are built as the map tasks build them)."""
    import pickle

    import pandas as pd

    import diversity
    from diversity.core.options import Options
    from diversity.core.registry import from_spec
    from diversity.engines.dask_engine import PART, POS, _build, _Job
    from diversity.engines.plan import Plan

    sets = {"unigrams and texts": ["distinct-1", "ngram-entropy-1", "unique-fraction"],
            "bigrams": ["distinct-2", "ngram-entropy-2"]}
    frame = pd.DataFrame([(p, t) for p, ts in samples.items() for t in ts], columns=["prompt", "completion"])
    frame[PART], frame[POS] = 0, np.arange(len(frame))
    fields = {"prompt_field": "prompt", "completion_field": "completion", "embedding_field": None,
              "quality_field": None}
    out = {"text_mb": sum(len(t.encode()) for ts in samples.values() for t in ts) / 2**20, "sets": {}}
    for label, metrics in sets.items():
        for how, specs in (("statistics", metrics), ("items", ["compression-ratio"])):
            job = _Job([from_spec(m) for m in specs], Options.default("score_dask"), "pooled", fields, None)
            parts = [_build(frame[frame["prompt"].map(hash) % 8 == i], job)[0] for i in range(8)]
            merged = Plan.merge(parts)
            out["sets"].setdefault(label, {"metrics": metrics})[how + "_mb"] = len(pickle.dumps(merged)) / 2**20
            if how == "statistics":
                want = diversity.score(samples, metrics, aggregate="pooled")
                got = dict(zip(metrics, merged.results()))
                out["sets"][label]["same"] = all(abs(got[m].value - want[m].value) <= 1e-12 * abs(want[m].value)
                                                 for m in metrics)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=26_000)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="200 prompts x 10 completions")
    ap.add_argument("--parts", nargs="+", default=["lexical", "dask1", "dask2", "semantic", "homogenization",
                                                    "compare", "stream", "pooled"])
    ap.add_argument("--tmp", default="/tmp")
    ap.add_argument("--profile", action="store_true", help="print where the lexical part spends its time (cProfile, "
                    "by own time; the profiler itself slows it down)")
    ap.add_argument("--jobs", type=int, default=1, help="n_jobs of score() in the lexical part (worker processes)")
    ap.add_argument("--stream-gb", type=float, default=0.0, help="stream part: write a JSONL of this many GiB "
                    "(prompt by prompt) instead of the --prompts set")
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
               "--tmp", args.tmp, "--jobs", str(args.jobs), "--stream-gb", str(args.stream_gb)] + \
            (["--profile"] if args.profile else [])
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
    if "pooled" in results:
        p = results["pooled"]
        for label, r in p["sets"].items():
            print(f"pooled Dask run, {label} ({', '.join(r['metrics'])}), what reaches the client: "
                  f"{r['statistics_mb']:.2f} MB of declared statistics vs {r['items_mb']:.2f} MB for a metric that needs "
                  f"the items (compression-ratio; texts as UTF-8: {p['text_mb']:.2f} MB); values equal to score(): "
                  f"{r['same']}")
    if "stream" in results:
        s = results["stream"]
        print(f"stream: {s['file_mb']:.0f} MB JSONL in {s['seconds']:.1f} s, peak {s['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
