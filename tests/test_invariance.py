"""Property tests over every public metric (hypothesis): the number depends on
the data, not on the order in which prompts or completions are listed; an
empty completion is a non-answer that never makes a set "more diverse"; a set
of empty completions is undefined; every value is finite or a documented NaN."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import diversity

WORD = st.sampled_from("a b c d e the cat sat on mat , . ! dog ran".split())
TEXT = st.lists(WORD, min_size=0, max_size=10).map(" ".join)
BLANK = st.sampled_from(["", " ", "\n", "\t "])
SET = st.lists(TEXT, min_size=1, max_size=7)
GROUPED = st.dictionaries(st.sampled_from([f"p{i}" for i in range(6)]), SET, min_size=1, max_size=5)

TEXT_METRICS = {
    "distinct-1": lambda s, **kw: diversity.distinct_n(s, n=1, **kw),
    "distinct-2": lambda s, **kw: diversity.distinct_n(s, n=2, **kw),
    "distinct-2-per-completion": lambda s, **kw: diversity.distinct_n(s, n=2, variant="per-completion", **kw),
    "ead-2": lambda s, **kw: diversity.ead(s, n=2, vocab_size=1000, **kw),
    "ngram-entropy-1": lambda s, **kw: diversity.ngram_entropy(s, n=1, **kw),
    "ngram-entropy-3-norm": lambda s, **kw: diversity.ngram_entropy(s, n=3, normalize=True, **kw),
    "unique-fraction": lambda s, **kw: diversity.unique_fraction(s, **kw),
    "compression-ratio": lambda s, **kw: diversity.compression_ratio(s, **kw),
    "self-bleu": lambda s, **kw: diversity.self_bleu(s, **kw),
    "homogenization-rouge-l": lambda s, **kw: diversity.homogenization(s, **kw),
    "homogenization-bleu": lambda s, **kw: diversity.homogenization(s, "bleu", **kw),
    "homogenization-sampled": lambda s, **kw: diversity.homogenization(s, max_pairs=3, pair_seed=4, **kw),
    "ngram-vendi": lambda s, **kw: diversity.ngram_vendi_score(s, **kw),
    "ngram-vendi-q2": lambda s, **kw: diversity.ngram_vendi_score(s, max_n=2, q=2, **kw),
    "self-repetition-2": lambda s, **kw: diversity.self_repetition(s, n=2, **kw),
}
VECTOR_METRICS = {
    "mean-pairwise-distance": diversity.mean_pairwise_distance,
    "remote-clique": diversity.remote_clique,
    "centroid-distance": diversity.centroid_distance,
    "chamfer": diversity.chamfer,
    "vendi": diversity.vendi_score,
    "semantic-clusters": diversity.semantic_clusters,
    "semantic-entropy": diversity.semantic_entropy,
    "embedding-homogenization": diversity.embedding_homogenization,
}


def run(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", diversity.UndefinedMetricWarning)
        return f(*args, **kwargs)


def same(a, b, tol=1e-12):
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=tol, abs=tol)


def shuffled(x, rnd):
    x = list(x)
    rnd.shuffle(x)
    return x


@settings(max_examples=40, deadline=None)
@given(GROUPED, st.randoms(use_true_random=False))
def test_text_metrics_ignore_prompt_and_completion_order(samples, rnd):
    other = {k: shuffled(samples[k], rnd) for k in shuffled(samples, rnd)}
    for name, f in TEXT_METRICS.items():
        a, b = run(f, samples), run(f, other)
        assert same(a.value, b.value), name
        assert a.signature == b.signature, name
        if a.ci is not None:  # the bootstrap resamples prompts in a canonical order
            assert same(a.ci.low, b.ci.low) and same(a.ci.high, b.ci.high), name
        pooled_a, pooled_b = run(f, samples, aggregate="pooled"), run(f, other, aggregate="pooled")
        assert same(pooled_a.value, pooled_b.value), name


@settings(max_examples=40, deadline=None)
@given(SET, BLANK)
def test_an_empty_completion_never_makes_a_set_more_diverse(texts, blank):
    for name, f in TEXT_METRICS.items():
        before, after = run(f, texts).value, run(f, texts + [blank]).value
        if math.isnan(before):
            continue
        assert same(before, after) or (after <= before if f(["a b", "c d"]).higher_is_more_diverse
                                       else after >= before), name


@settings(max_examples=20, deadline=None)
@given(st.lists(BLANK, min_size=1, max_size=5))
def test_sets_of_empty_completions_are_undefined(texts):
    for name, f in TEXT_METRICS.items():
        with pytest.warns(diversity.UndefinedMetricWarning, match="empty or whitespace"):
            assert math.isnan(f(texts).value), name


@settings(max_examples=30, deadline=None)
@given(GROUPED)
def test_values_are_finite_or_documented_nan(samples):
    for name, f in TEXT_METRICS.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = f(samples)
        for v in r.per_group:
            assert math.isfinite(v) or math.isnan(v), name
        if any(math.isnan(v) for v in r.per_group):  # every NaN comes with a warning that says why
            assert any(issubclass(w.category, diversity.UndefinedMetricWarning) for w in caught), name


VECTORS = st.integers(2, 6).flatmap(lambda k: st.lists(
    st.lists(st.floats(-3, 3, allow_nan=False).filter(lambda v: abs(v) > 1e-3), min_size=3, max_size=3),
    min_size=k, max_size=k))


@settings(max_examples=30, deadline=None)
@given(st.lists(VECTORS, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_vector_metrics_ignore_prompt_and_row_order(groups, rnd):
    emb = {f"p{i}": np.array(g) for i, g in enumerate(groups)}
    other = {k: emb[k][shuffled(range(len(emb[k])), rnd)] for k in shuffled(emb, rnd)}
    for name, f in VECTOR_METRICS.items():
        a, b = run(f, embeddings=emb), run(f, embeddings=other)
        assert same(a.value, b.value, 1e-9), name
        for v in a.per_group:
            assert math.isfinite(v) or math.isnan(v), name


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.sampled_from([f"p{i}" for i in range(8)]), st.lists(TEXT, min_size=3, max_size=5),
                       min_size=3, max_size=8), st.randoms(use_true_random=False))
def test_compare_ignores_prompt_and_completion_order(samples, rnd):
    other_side = {k: [t + " x" for t in v] + ["y"] for k, v in samples.items()}
    reordered = {k: shuffled(samples[k], rnd) for k in shuffled(samples, rnd)}
    kw = dict(metrics=["distinct-1", "self-bleu"], n_resamples=500, k=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c1 = diversity.compare(samples, other_side, **kw)
        c2 = diversity.compare(reordered, other_side, **kw)
    for r1, r2 in zip(c1.rows, c2.rows):
        assert same(r1.diff, r2.diff) and same(r1.p_value, r2.p_value), r1.metric
        assert (r1.diff_ci is None) == (r2.diff_ci is None)
        if r1.diff_ci is not None:
            assert same(r1.diff_ci.low, r2.diff_ci.low) and same(r1.diff_ci.high, r2.diff_ci.high)
    assert c1.signature == c2.signature


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.sampled_from([f"p{i}" for i in range(5)]),
                       st.lists(st.sampled_from(["US", "CN", "MX", "IN", "FR"]), min_size=1, max_size=8),
                       min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_attribute_diversity_ignores_order(values, rnd):
    other = {k: shuffled(values[k], rnd) for k in shuffled(values, rnd)}
    for measure in ("entropy", "richness", "gini-simpson", "inverse-simpson", "hill"):
        a, b = run(diversity.attribute_diversity, values, measure), run(diversity.attribute_diversity, other, measure)
        assert same(a.value, b.value) and a.signature == b.signature
        if a.ci is not None:
            assert same(a.ci.low, b.ci.low) and same(a.ci.high, b.ci.high)


LOGPROB_GEN = st.lists(st.lists(st.floats(-20, 0), min_size=5, max_size=5), min_size=1, max_size=4)


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.sampled_from([f"p{i}" for i in range(5)]), st.lists(LOGPROB_GEN, min_size=1, max_size=3),
                       min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_token_entropy_ignores_order(logprobs, rnd):
    other = {k: shuffled(logprobs[k], rnd) for k in shuffled(logprobs, rnd)}
    a, b = run(diversity.token_entropy, logprobs), run(diversity.token_entropy, other)
    assert same(a.value, b.value) and a.signature == b.signature
