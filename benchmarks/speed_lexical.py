"""Speed of distinct-n and n-gram entropy (n = 1..4 together): diversity vs
a plain collections.Counter implementation vs the `diversity` PyPI package.

    python benchmarks/speed_lexical.py [--sizes 1000 10000 100000]

Every method runs in its own subprocess on the same seeded corpus (see
_corpus.py), so peak memory (max RSS) is per method. Printed per size:
seconds end to end (tokenization included), seconds for the counting step
alone (after tokenization), tokens/second, peak RSS, and the ratio of the
Counter baseline's time to ours. Values are checked to agree on the way.

Methods
-------
ours     diversity.score(texts, [distinct-1..4, ngram-entropy-1..4]) end to end;
         counting = id mapping + n-gram codes + sort after the same regex tokenization.
counter  the same regex tokenization, then per n a Counter of n-gram tuples
         (n-grams within each completion), distinct = len/total, entropy from counts.
peer     `diversity` 0.3.1's ngram_diversity_score(texts, num_n=4) (Shaib et al.'s
         package): it joins all texts with spaces and splits on " ", so its
         n-grams cross completion boundaries; its value is a different quantity
         (sum of distinct-1..4), timed only. Its module file is loaded by path
         from a wheel fetched with `pip download`, because its import name
         clashes with ours; skipped if pip cannot fetch it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
NS = (1, 2, 3, 4)


def worker_ours(texts):
    import diversity
    from diversity.text.ngrams import encode_token_lists, ngram_codes, ngram_totals
    from diversity.text.tokenize import get_tokenizer

    names = [f"distinct-{n}" for n in NS] + [f"ngram-entropy-{n}" for n in NS]
    t0 = time.perf_counter()
    res = diversity.score(texts, names)
    total = time.perf_counter() - t0
    tok = get_tokenizer("unicode")
    t0 = time.perf_counter()
    toks = tok.tokenize_many(texts)
    t1 = time.perf_counter()
    tt = encode_token_lists(toks)
    for n in NS:
        codes, _ = ngram_codes(tt, n)
        ngram_totals(codes, None, 1, n, len(tt.vocab) if n == 1 else None)
    count = time.perf_counter() - t1
    values = {k: r.value for k, r in res.items()}
    return {"total": total, "tokenize": t1 - t0, "count": count, "tokens": int(tt.lengths.sum()), "values": values}


def worker_counter(texts):
    from collections import Counter

    from diversity.text.tokenize import get_tokenizer

    tok = get_tokenizer("unicode")
    t0 = time.perf_counter()
    toks = [tok(t) for t in texts]
    t1 = time.perf_counter()
    values = {}
    for n in NS:
        c = Counter()
        for tk in toks:
            c.update(zip(*(tk[i:] for i in range(n))))
        total = sum(c.values())
        values[f"distinct-{n}"] = len(c) / total
        values[f"ngram-entropy-{n}"] = -sum(v / total * math.log2(v / total) for v in c.values())
    t2 = time.perf_counter()
    return {"total": t2 - t0, "tokenize": t1 - t0, "count": t2 - t1, "tokens": sum(map(len, toks)), "values": values}


def _peer_module():
    import importlib.util
    import zipfile

    out = HERE / "out" / "peer"
    src = out / "diversity_ngram_diversity.py"
    if not src.exists():
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "diversity==0.3.1",
                        "-d", str(out)], check=True, capture_output=True)
        wheel = next(out.glob("diversity-0.3.1-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            src.write_bytes(z.read("diversity/ngram_diversity.py"))
    spec = importlib.util.spec_from_file_location("peer_ngram_diversity", src)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def worker_peer(texts):
    mod = _peer_module()
    t0 = time.perf_counter()
    v = mod.ngram_diversity_score(texts, num_n=4)
    total = time.perf_counter() - t0
    return {"total": total, "tokenize": None, "count": None, "tokens": None, "values": {"sum-distinct-1..4": v}}


WORKERS = {"ours": worker_ours, "counter": worker_counter, "peer": worker_peer}


def run_worker(method: str, corpus_file: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", method, corpus_file],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    ap.add_argument("--methods", nargs="+", default=list(WORKERS))
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        method, path = args.worker
        texts = json.loads(Path(path).read_text())
        out = WORKERS[method](texts)
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out))
        return

    from _corpus import make_corpus
    import diversity

    print(f"diversity {diversity.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print("distinct-n and n-gram entropy for n=1..4 together; seconds (lower is better)\n")
    header = (f"{'N':>7} {'tokens':>10} {'method':<8} {'total s':>8} {'count s':>8} {'Mtok/s':>7} "
              f"{'peak MB':>8} {'counter/ours total':>19} {'counter/ours count':>19}")
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        texts = make_corpus(n, seed=0)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(texts, f)
        res = {m: run_worker(m, f.name) for m in args.methods}
        os.unlink(f.name)
        ours, ctr = res.get("ours", {}), res.get("counter", {})
        if "values" in ours and "values" in ctr:
            for k, v in ctr["values"].items():
                if not math.isclose(v, ours["values"][k], rel_tol=1e-9, abs_tol=1e-12):
                    raise SystemExit(f"VALUES DISAGREE at N={n}: {k}: counter {v!r} vs ours {ours['values'][k]!r}")
        tokens = ours.get("tokens") or ctr.get("tokens")
        for m, r in res.items():
            if "error" in r:
                print(f"{n:>7} {tokens or 0:>10} {m:<8} skipped: {r['error']}")
                continue
            cnt = f"{r['count']:.3f}" if r["count"] is not None else "-"
            mtok = f"{tokens / r['total'] / 1e6:.2f}" if tokens else "-"
            ratio_t = ratio_c = ""
            if m == "ours" and "total" in ctr:
                ratio_t = f"{ctr['total'] / r['total']:.1f}x"
                ratio_c = f"{ctr['count'] / r['count']:.1f}x"
            elif m == "peer" and "total" in ours:
                ratio_t = f"(peer/ours {r['total'] / ours['total']:.1f}x)"
            print(f"{n:>7} {tokens or 0:>10} {m:<8} {r['total']:>8.3f} {cnt:>8} {mtok:>7} "
                  f"{r['peak_rss_mb']:>8.0f} {ratio_t:>19} {ratio_c:>19}")
        if "values" in ours and "values" in ctr:
            print(f"{'':>7} values agree (ours vs counter, 8 metrics, rel 1e-9); "
                  f"ours: tokenize {ours['tokenize']:.3f} s + count {ours['count']:.3f} s")
    print("\ntotal s: tokenization included (ours: the public score()); count s: after tokenization.")


if __name__ == "__main__":
    main()
