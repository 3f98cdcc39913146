"""Scoring files in pieces: the same numbers as one pass, memory bounded by a
chunk; batched in-memory scoring; wide n-gram codes counted exactly."""

import gzip
import json
import warnings

import numpy as np
import pytest

import diversity
from diversity.engines import plan as plan_module
from diversity.io.stream import score_file

rng = np.random.default_rng(5)
WORDS = [f"w{i}" for i in range(60)]
ROWS = [{"prompt": f"p{i}", "completion": " ".join(rng.choice(WORDS, size=int(rng.integers(3, 12))))}
        for i in range(40) for _ in range(int(rng.integers(2, 7)))]
METRICS = ["distinct-1", "distinct-2", "ngram-entropy-2", "self-bleu", "homogenization-rouge-l", "unique-fraction",
           "compression-ratio", "mattr?window=4"]


def quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def same(a, b):
    for k in a:
        assert a[k].signature == b[k].signature
        assert a[k].value == pytest.approx(b[k].value, rel=1e-12, abs=1e-12), k
        assert a[k].ci == b[k].ci


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".csv", ".parquet"])
@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_streamed_file_equals_one_pass(tmp_path, suffix, chunk):
    path = tmp_path / f"s{suffix}"
    if suffix == ".csv":
        import csv
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, ["prompt", "completion"])
            w.writeheader()
            w.writerows(ROWS)
    elif suffix == ".parquet":
        pd = pytest.importorskip("pandas")
        pytest.importorskip("pyarrow")
        pd.DataFrame(ROWS).to_parquet(path)
    else:
        data = "".join(json.dumps(r) + "\n" for r in ROWS)
        path.write_bytes(gzip.compress(data.encode()) if suffix.endswith(".gz") else data.encode())
    reference = quiet(diversity.score, diversity.load_samples(path) if suffix != ".parquet" else
                      {k: [r["completion"] for r in ROWS if r["prompt"] == k] for k in dict.fromkeys(r["prompt"] for r in ROWS)},
                      METRICS)
    same(quiet(score_file, path, METRICS, chunk_rows=chunk), reference)


def test_ungrouped_files(tmp_path):
    shuffled = list(ROWS)
    rng.shuffle(shuffled)
    path = tmp_path / "u.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in shuffled))
    with pytest.raises(diversity.SampleFileError, match=r"u\.jsonl:\d+: prompt 'p\d+' appears again .* not grouped"):
        score_file(path, ["distinct-1"], grouped=True)
    with pytest.warns(UserWarning, match="not grouped by prompt; reading it again"):
        auto = score_file(path, ["distinct-1", "self-bleu"], chunk_rows=5)
    same(auto, quiet(diversity.score, diversity.load_samples(path), ["distinct-1", "self-bleu"]))


def test_batched_in_memory_scoring_equals_one_batch(monkeypatch):
    samples = {}
    for r in ROWS:
        samples.setdefault(r["prompt"], []).append(r["completion"])
    whole = quiet(diversity.score, samples, METRICS)
    monkeypatch.setattr(plan_module, "BATCH_ITEMS", 11)
    same(quiet(diversity.score, samples, METRICS), whole)
    same(quiet(diversity.score, samples, METRICS, aggregate="pooled"),
         quiet(diversity.score, samples, METRICS, aggregate="pooled"))


def test_wide_ngram_codes_are_counted_exactly():
    """Many prompts x a large vocabulary x n = 4: codes too wide to pack with the prompt key."""
    big = [f"t{i}" for i in range(20000)]  # 20000^4 x 300 prompts > 2^63: the packed key would overflow
    samples = {f"q{i}": [" ".join(rng.choice(big, size=30)) for _ in range(3)] for i in range(300)}
    r = diversity.distinct_n(samples, n=4, ci=False)
    for key, texts in list(samples.items())[:20]:
        one = diversity.distinct_n(texts, n=4).value
        assert r.per_group[list(samples).index(key)] == one
