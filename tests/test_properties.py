"""Property tests shared by every lexical metric."""

import math
import warnings

import pytest
from hypothesis import given, settings, strategies as st

import diversity
from diversity import NgramCounts
from tests.conftest import ref_counter
from diversity.text.tokenize import get_tokenizer

WORD = st.sampled_from("a b c d e f g the cat sat on mat , .".split())
TEXT = st.lists(WORD, min_size=0, max_size=12).map(" ".join)
SET = st.lists(TEXT, min_size=1, max_size=8)

METRICS = [
    lambda s: diversity.distinct_n(s, n=1),
    lambda s: diversity.distinct_n(s, n=2),
    lambda s: diversity.distinct_n(s, n=2, variant="per-completion"),
    lambda s: diversity.ead(s, n=2, vocab_size=1000),
    lambda s: diversity.ngram_entropy(s, n=1),
    lambda s: diversity.ngram_entropy(s, n=3, normalize=True),
    lambda s: diversity.unique_fraction(s),
    lambda s: diversity.compression_ratio(s),
]


def value(f, s):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", diversity.UndefinedMetricWarning)
        return f(s).value


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(SET, st.randoms(use_true_random=False))
def test_order_invariance(texts, rnd):
    shuffled = list(texts)
    rnd.shuffle(shuffled)
    for f in METRICS[:-1]:  # compression depends on order of the joined bytes
        assert same(value(f, texts), value(f, shuffled))


@settings(max_examples=60, deadline=None)
@given(SET, TEXT)
def test_adding_a_duplicate_never_raises_distinct(texts, extra):
    for n in (1, 2, 3):
        before = value(lambda s: diversity.distinct_n(s, n=n), texts)
        after = value(lambda s: diversity.distinct_n(s, n=n), texts + [texts[0]])
        if not math.isnan(before):
            assert after <= before + 1e-15


@settings(max_examples=40, deadline=None)
@given(st.lists(WORD, min_size=3, max_size=10).map(" ".join), st.integers(2, 6))
def test_identical_completions_are_least_diverse(text, k):
    same_set = [text] * k
    assert diversity.unique_fraction(same_set).value == 1 / k
    # distinct-n of k copies is the single text's value divided by k: the minimum for that text
    for n in (1, 2):
        single = diversity.distinct_n([text], n=n).value
        assert diversity.distinct_n(same_set, n=n).value == pytest.approx(single / k)


@settings(max_examples=40, deadline=None)
@given(st.lists(SET, min_size=1, max_size=5))
def test_grouped_equals_loop_over_sets(sets):
    """One vectorised pass over all prompts gives what each set gives alone."""
    for f_name, kw in [("distinct_n", {"n": 2}), ("ngram_entropy", {"n": 1}), ("ead", {"n": 1, "vocab_size": 50}),
                       ("distinct_n", {"n": 2, "variant": "per-completion"})]:
        f = getattr(diversity, f_name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", diversity.UndefinedMetricWarning)
            grouped = f(sets, ci=False, **kw).per_group
            alone = [f(s, **kw).value for s in sets]
        assert all(same(a, b) for a, b in zip(grouped, alone))


@settings(max_examples=40, deadline=None)
@given(st.lists(SET, min_size=1, max_size=4))
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_streaming_counts_merge_exactly(chunks):
    everything = [t for c in chunks for t in c]
    total = NgramCounts.from_texts(chunks[0], n_max=3)
    for c in chunks[1:]:
        total = total + NgramCounts.from_texts(c, n_max=3)
    tok = get_tokenizer("unicode")
    for n in (1, 2, 3):
        ref = ref_counter([tok(t) for t in everything], n)
        assert total.unique(n) == len(ref) and total.total(n) == sum(ref.values())
        assert same(total.distinct(n), value(lambda s: diversity.distinct_n(s, n=n), everything))
        assert same(total.entropy(n), value(lambda s: diversity.ngram_entropy(s, n=n), everything))
        assert same(total.ead(n, 77), value(lambda s: diversity.ead(s, n=n, vocab_size=77), everything))
    assert total.n_texts == len(everything)


@settings(max_examples=30, deadline=None)
@given(SET)
def test_runs_are_deterministic(texts):
    for f in METRICS:
        assert same(value(f, texts), value(f, texts))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_streaming_merge_checks_settings():
    a = NgramCounts.from_texts(["a b"], n_max=2)
    with pytest.raises(ValueError, match="different lowercase"):
        a + NgramCounts.from_texts(["a b"], n_max=2, lowercase=True)
    with pytest.raises(ValueError, match="go up to n_max=2"):
        a.distinct(3)
    with pytest.raises(TypeError, match="takes one set"):
        NgramCounts.from_texts([["a"], ["b"]])
