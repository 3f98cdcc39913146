"""The engines' one protocol (partition -> State -> merge -> finish): prompt positions inside the
state, compact mergeable statistics for pooled sets, and the in-memory engine over processes."""

import collections
import math
import pickle
import random
import warnings

import numpy as np
import pytest

import diversity
from diversity.core.errors import InvalidParameterError
from diversity.core.options import Options
from diversity.core.registry import from_spec
from diversity.core.state import State
from diversity.core.statistics import NgramTable, PooledStatistics
from diversity.engines import plan as plan_module
from diversity.engines.plan import Plan

STAT_METRICS = ["distinct-1", "distinct-3", "ngram-entropy-2", "ngram-entropy-1?base=e&normalize=true",
                "ead-2?vocab_size=5000", "unique-fraction", "unique-fraction?normalize=casefold-whitespace"]
VECTOR_STAT_METRICS = ["mean-pairwise-distance", "vendi", "vendi?q=2", "remote-clique"]
RAW_METRICS = ["self-bleu", "compression-ratio?order=given", "distinct-2?variant=per-completion", "chamfer"]


def quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def corpus(n_prompts=12, seed=0):
    rng = random.Random(seed)
    words = "the a cat dog sat ran on under mat rug Über naïve 東京 ! , .".split()
    out = {}
    for p in range(n_prompts):
        texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(1, 9))]
        if p % 4 == 0:
            texts += ["", "   ", texts[0], texts[0].upper()]  # blanks, an exact and a case duplicate
        out[f"p{p}" if p % 3 else p] = texts
    return out


def embeddings_for(data, seed=1, d=6):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=(len(v), d)) for k, v in data.items()}


def chunked_states(metrics, data, emb, mode, rng, first_rows=True):
    """The data cut into random chunks (prompts split across chunks), one state per chunk."""
    keys = list(data)
    pieces = []
    for i, k in enumerate(keys):
        cut = rng.randint(0, len(data[k]))
        pieces += [(i, k, 0, cut), (i, k, cut, len(data[k]))]
    rng.shuffle(pieces)
    states = []
    for start in range(0, len(pieces), 3):
        groups, rows = {}, {}
        for i, k, a, b in sorted(pieces[start:start + 3]):  # one update holds its items in order
            if a == b:
                continue
            cols = groups.setdefault(k, {"texts": []})
            cols["texts"] += data[k][a:b]
            if emb is not None:
                cols.setdefault("embeddings", []).extend(emb[k][a:b])
            rows[k] = min(rows.get(k, (math.inf,)), (i, a))
        s = State([from_spec(m) for m in metrics], Options.default(), mode)
        s.update(groups, complete=False, first_rows=rows if first_rows else None)
        states.append(s)
    return states


def assert_same(got, want, specs):
    for spec, w in zip(specs, want):
        g = got[spec] if isinstance(got, dict) else got[specs.index(spec)]
        w = want[spec] if isinstance(want, dict) else w
        assert g.signature == w.signature, spec
        assert (math.isnan(g.value) and math.isnan(w.value)) or g.value == pytest.approx(w.value, rel=1e-12, abs=1e-12), \
            (spec, g.value, w.value)
        assert g.n_samples == w.n_samples and g.n_groups == w.n_groups, spec


@pytest.mark.parametrize("seed", range(4))
def test_pooled_statistics_from_random_chunks_and_merges_equal_one_pass(seed):
    rng = random.Random(seed)
    data = corpus(seed=seed)
    emb = embeddings_for(data, seed)
    metrics = STAT_METRICS + VECTOR_STAT_METRICS + RAW_METRICS
    want = quiet(diversity.score, data, metrics, embeddings=emb, aggregate="pooled")
    states = chunked_states(metrics, data, emb, "pooled", rng)
    rng.shuffle(states)
    merged = Plan.merge(states)
    got = dict(zip(metrics, quiet(merged.results)))
    assert_same(got, want, metrics)
    for spec in metrics:  # details too (per-completion values in input order)
        assert str(got[spec].details) == str(want[spec].details), spec


def test_a_pooled_state_of_metrics_with_statistics_keeps_no_texts():
    data = corpus(40, seed=3)
    metrics = STAT_METRICS + VECTOR_STAT_METRICS
    s = State([from_spec(m) for m in metrics], Options.default(), "pooled")
    s.update({k: {"texts": v, "embeddings": list(e)} for (k, v), e in zip(data.items(), embeddings_for(data).values())},
             complete=False)
    assert s.pool.items == {} and s.pool.raw_idx == []
    held = pickle.dumps(s)
    raw = pickle.dumps(data)
    assert all(t not in held for t in (b"naive", data["p1"][0].encode()) if t)  # no completion travels
    assert s.pool.stats.n_items == sum(1 for v in data.values() for t in v if t.strip())
    got = dict(zip(metrics, quiet(s.results)))
    assert_same(got, quiet(diversity.score, data, metrics, embeddings=embeddings_for(data), aggregate="pooled"),
                metrics)
    assert len(raw) > 0


def test_ngram_table_merge_is_exact_against_a_counter():
    rng = random.Random(5)
    vocab = ["a", "b", "c", "Ä", "東", "a b", "", "\x00"]
    seqs = [[rng.choice(vocab) for _ in range(rng.randint(0, 9))] for _ in range(40)]
    for n in (1, 2, 3):
        want = collections.Counter(tuple(s[i:i + n]) for s in seqs for i in range(len(s) - n + 1))
        tables = []
        for part in (seqs[:13], seqs[13:29], seqs[29:]):
            ids, starts, index = [], [], {}
            for s in part:
                codes = [index.setdefault(t, len(index)) for t in s]
                starts += [i < len(s) - n + 1 for i in range(len(s))]
                ids += codes
            tokens = list(index)
            tables.append(NgramTable.from_tokens(np.array(ids, dtype=np.int64), np.array(starts[:max(len(ids) - n + 1, 0)],
                                                                                           dtype=bool), tokens, n))
        t = tables[2].merge(tables[0]).merge(tables[1])
        got = collections.Counter({tuple(t.vocab[list(g)]): int(c) for g, c in zip(t.grams, t.counts)})
        assert got == want
        totals = t.totals()
        assert totals.unique[0] == len(want) and totals.total[0] == sum(want.values())
        assert totals.sum_clogc[0] == pytest.approx(sum(c * math.log(c) for c in want.values()), rel=1e-12)


def test_pooled_statistics_are_smaller_than_the_texts_they_summarise():
    data = {f"p{i}": [f"answer {j % 7} to question {i % 5} with some shared words" for j in range(20)]
            for i in range(200)}
    s = State([from_spec(m) for m in ["distinct-1", "distinct-2", "unique-fraction"]], Options.default(), "pooled")
    s.update({k: {"texts": v} for k, v in data.items()}, complete=False)
    text_bytes = sum(len(t.encode()) for v in data.values() for t in v)
    assert s.pool.stats.nbytes < text_bytes / 10


def test_results_list_prompts_in_input_order_whatever_the_merge_order():
    data = corpus(15, seed=7)
    metrics = ["distinct-2", "self-bleu"]
    want = quiet(diversity.score, data, metrics)
    for seed in range(3):
        rng = random.Random(seed)
        states = chunked_states(metrics, data, None, "per-prompt", rng)
        rng.shuffle(states)
        got = dict(zip(metrics, quiet(Plan.merge(states).results)))
        for spec in metrics:
            assert got[spec].groups == want[spec].groups
            assert np.allclose(got[spec].per_group, want[spec].per_group, equal_nan=True, rtol=1e-12)
            assert got[spec].ci == want[spec].ci and got[spec].signature == want[spec].signature


def test_without_positions_the_order_of_updates_and_merges_is_kept():
    a = State([from_spec("distinct-1")], Options.default()).update({"z": {"texts": ["a b"]}}, complete=False)
    b = State([from_spec("distinct-1")], Options.default()).update({"a": {"texts": ["c d"]}}, complete=False,
                                                                   first_rows={"a": (0,)})
    assert quiet(a.merge(b).results)[0].groups == ("z", "a")
    with pytest.raises(ValueError, match="first_rows has no position for prompt 'q'"):
        State([from_spec("distinct-1")], Options.default()).update({"q": {"texts": ["x"]}}, first_rows={})


def test_a_finished_pooled_set_refuses_more_data():
    s = State([from_spec("distinct-1")], Options.default(), "pooled").update({"p": {"texts": ["a b"]}})
    quiet(s.results)
    with pytest.raises(ValueError, match="pooled set was already finished"):
        s.update({"q": {"texts": ["c"]}})


def test_in_memory_batches_in_worker_processes_equal_one_process(monkeypatch):
    data = corpus(30, seed=11)
    metrics = ["distinct-1", "distinct-2", "ngram-entropy-2", "self-bleu", "unique-fraction", "compression-ratio",
               "mattr?window=3"]
    want = quiet(diversity.score, data, metrics, n_resamples=500)
    monkeypatch.setattr(plan_module, "BATCH_ITEMS", 25)  # several batches, so several processes
    got = quiet(diversity.score, data, metrics, n_resamples=500, n_jobs=2)
    for spec in metrics:
        assert got[spec].signature == want[spec].signature
        assert got[spec].groups == want[spec].groups and got[spec].ci == want[spec].ci
        assert np.allclose(got[spec].per_group, want[spec].per_group, equal_nan=True, rtol=1e-12, atol=0)
    emb = embeddings_for(data)
    vec = ["mean-pairwise-distance", "vendi"]
    assert_same(quiet(diversity.score, data, vec, embeddings=emb, n_jobs=2),
                quiet(diversity.score, data, vec, embeddings=emb), vec)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_n_jobs_is_validated(bad):
    with pytest.raises(InvalidParameterError, match="'n_jobs' parameter of score must be a positive int or -1"):
        diversity.score({"p": ["a b"]}, ["distinct-1"], n_jobs=bad)


def test_pooled_statistics_merge_keeps_counts():
    a, b = PooledStatistics(["unit-sum"]), PooledStatistics(["unit-sum"])
    assert a.merge(b).n_items == 0 and a.merge(b).views == {"unit-sum": None}


class ByteEmbedder:
    """A deterministic 8-d embedder of a text's bytes (counts of byte values mod 8, plus one)."""

    model_id, revision, device = "bytes-mod-8", "1", "cpu"

    def __init__(self):
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        out = np.ones((len(texts), 8))
        for i, t in enumerate(texts):
            for b in t.encode():
                out[i, b % 8] += 1
        return out


def test_worker_processes_get_vectors_embedded_once_in_this_process(monkeypatch):
    data = corpus(30, seed=12)
    metrics = ["mean-pairwise-distance", "vendi", "semantic-clusters", "distinct-1"]
    want = quiet(diversity.score, data, metrics, embedder=ByteEmbedder())
    monkeypatch.setattr(plan_module, "BATCH_ITEMS", 25)
    e = ByteEmbedder()
    got = quiet(diversity.score, data, metrics, embedder=e, n_jobs=2)
    assert e.calls == 1  # every text of every batch in one call here; the workers never see the model
    for spec in metrics:
        assert got[spec].signature == want[spec].signature and got[spec].groups == want[spec].groups
        assert np.allclose(got[spec].per_group, want[spec].per_group, equal_nan=True, rtol=1e-12, atol=1e-15)


def test_worker_tasks_run_metrics_in_one_thread(monkeypatch):
    """gzip runs beside the other metrics in a second thread, except inside a worker task (one task per core)."""
    import concurrent.futures

    from diversity.core.compute import one_thread_per_task

    made = []
    real = concurrent.futures.ThreadPoolExecutor
    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor",
                        lambda *a, **k: made.append(k.get("thread_name_prefix")) or real(*a, **k))
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    data = corpus(6)
    want = quiet(diversity.score, data, ["distinct-1", "compression-ratio"])
    assert made == ["diversity-metric"]
    with one_thread_per_task():
        got = quiet(diversity.score, data, ["distinct-1", "compression-ratio"])
    assert made == ["diversity-metric"]  # no second thread inside the block
    assert got["compression-ratio"].per_group == want["compression-ratio"].per_group


class TextsEmbedder(ByteEmbedder):
    """ByteEmbedder that records every text it embeds."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def encode(self, texts):
        self.seen += list(texts)
        return super().encode(texts)


def test_a_finished_pooled_state_is_not_merged():
    metrics = [from_spec("distinct-1"), from_spec("self-bleu")]
    a = State(metrics, Options.default(), "pooled").update({"p": {"texts": ["a b", "c d"]}})
    b = State(metrics, Options.default(), "pooled").update({"q": {"texts": ["x y", "z w"]}})
    quiet(a.results)
    for x, y in ((a, b), (b, a)):
        with pytest.raises(ValueError, match="cannot merge a finished pooled set"):
            x.merge(y)


@pytest.mark.parametrize("blank_first", [True, False])
def test_pooled_chunks_without_content_never_cause_texts_to_be_embedded_twice(blank_first):
    """A chunk whose completions are all blank has no vectors to add; the others' vectors are kept."""
    e = TextsEmbedder()
    metrics = [from_spec("vendi"), from_spec("chamfer")]  # one metric with statistics, one with items
    full = State(metrics, Options.default(), "pooled", embedder=e)
    full.update({"p": {"texts": ["", "  "]}, "q": {"texts": ["a b", "c d", "e f"]}}, complete=False,
                first_rows={"p": (0,), "q": (1,)})
    want = [r.value for r in quiet(full.results)]
    e.seen.clear()
    s1 = State(metrics, Options.default(), "pooled", embedder=e)
    s1.update({"q": {"texts": ["a b", "c d", "e f"]}}, complete=False, first_rows={"q": (1,)})
    s2 = State(metrics, Options.default(), "pooled", embedder=e)
    s2.update({"p": {"texts": ["", "  "]}}, complete=False, first_rows={"p": (0,)})
    merged = s2.merge(s1) if blank_first else s1.merge(s2)
    assert [r.value for r in quiet(merged.results)] == pytest.approx(want, rel=1e-12)
    assert sorted(e.seen) == ["a b", "c d", "e f"]


def test_worker_processes_embed_only_the_completions_a_gate_keeps(monkeypatch):
    data = {f"p{i}": [f"answer {i} {j} with words" for j in range(4)] + ["I'm sorry, but I can't help with that."]
            for i in range(12)}
    monkeypatch.setattr(plan_module, "BATCH_ITEMS", 20)
    e = TextsEmbedder()
    got = quiet(diversity.score, data, ["vendi", "distinct-1"], embedder=e, gate="no-refusal", n_jobs=2)
    assert not any("sorry" in t for t in e.seen) and len(e.seen) == 48
    want = quiet(diversity.score, data, ["vendi", "distinct-1"], embedder=ByteEmbedder(), gate="no-refusal")
    assert got["vendi"].value == pytest.approx(want["vendi"].value, rel=1e-12)
    assert got["vendi"].signature == want["vendi"].signature
