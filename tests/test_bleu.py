"""Self-BLEU and homogenization, pinned to nltk's sentence_bleu and to
rouge_score's ROUGE-L on real text and on degenerate cases."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

import diversity
from diversity import UndefinedMetricWarning
from diversity.metrics._pairwise import all_pairs, lcs_length, sample_pairs, _masks
from diversity.text.tokenize import get_tokenizer

TOK = get_tokenizer("unicode")
SF = SmoothingFunction()
NLTK_SMOOTHING = {"none": SF.method0, "method1": SF.method1, "exp": SF.method3}


def nltk_self_bleu(texts, weights=(0.25,) * 4, smoothing="method1"):
    toks = [TOK(t) for t in texts]
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nltk warns for zero counts under method0
        for i, hyp in enumerate(toks):
            refs = toks[:i] + toks[i + 1:]
            out.append(sentence_bleu(refs, hyp, weights=weights, smoothing_function=NLTK_SMOOTHING[smoothing]))
    return out


DEGENERATE = [
    ["the cat sat", "the cat sat", "the cat sat"],               # identical completions
    ["a", "the cat sat on the mat", "b c"],                      # shorter than n
    ["", "the cat sat on the mat", "the dog sat on the log"],     # an empty completion
    ["x y z", "p q r", "u v w"],                                 # nothing shared
    ["a a a a a a", "a a", "a a a"],                             # clipping with repeats
    ["one two three four", "one two three four five six", "one two"],  # brevity ties
    ["a b", "c d e f", "g h i j k l"],                            # closest length ties to the shorter
]


@pytest.mark.parametrize("smoothing", ["none", "method1", "exp"])
def test_per_completion_equals_nltk_on_real_text(real_sets, smoothing):
    for samples in real_sets:
        r = diversity.self_bleu(samples, smoothing=smoothing, ci=False)
        ours = np.array(r.details["per_completion"])
        ref = np.array([v for texts in samples.values() for v in nltk_self_bleu(texts, smoothing=smoothing)])
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)
        means = [np.mean(nltk_self_bleu(texts, smoothing=smoothing)) for texts in samples.values()]
        np.testing.assert_allclose(r.per_group, means, atol=1e-9)


@pytest.mark.parametrize("smoothing", ["none", "method1", "exp"])
@pytest.mark.parametrize("texts", DEGENERATE)
def test_degenerate_cases_equal_nltk(texts, smoothing):
    # an empty completion is a non-answer: left out (NaN), never scored 0 ("most diverse") as nltk would
    ours = np.array(diversity.self_bleu(texts, smoothing=smoothing).details["per_completion"])
    content = [t for t in texts if t.strip()]
    assert np.isnan(ours[[not t.strip() for t in texts]]).all()
    np.testing.assert_allclose(ours[[bool(t.strip()) for t in texts]], nltk_self_bleu(content, smoothing=smoothing),
                               rtol=0, atol=1e-9)


def test_pooled_and_weights_equal_nltk(real_sets):
    base, _ = real_sets
    texts = [t for ts in base.values() for t in ts]
    r = diversity.self_bleu(base, aggregate="pooled", max_n=2, weights=(0.7, 0.3))
    np.testing.assert_allclose(r.details["per_completion"], nltk_self_bleu(texts, weights=(0.7, 0.3)), atol=1e-9)
    assert "|n:2|w:0.7,0.3|smooth:method1|ref:others|" in r.signature


WORDS = st.sampled_from("a b c the cat sat on mat .".split())


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(WORDS, max_size=9).map(" ".join), min_size=2, max_size=7),
       st.sampled_from(["none", "method1", "exp"]), st.integers(1, 4))
def test_random_sets_equal_nltk(texts, smoothing, max_n):
    w = (1 / max_n,) * max_n
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", diversity.UndefinedMetricWarning)
        ours = np.array(diversity.self_bleu(texts, max_n=max_n, smoothing=smoothing).details["per_completion"])
    has = np.array([bool(t.strip()) for t in texts])
    assert np.isnan(ours[~has]).all()  # empty completions are left out
    content = [t for t in texts if t.strip()]
    if len(content) >= 2:
        np.testing.assert_allclose(ours[has], nltk_self_bleu(content, weights=w, smoothing=smoothing), rtol=0,
                                   atol=1e-9)


def test_texygen_includes_itself():
    """Texygen scores each sentence against a list that contains it: always 1.0. Ours excludes it."""
    texts = ["the cat sat on the mat", "a dog ran in the park", "birds fly south in winter"]
    toks = [TOK(t) for t in texts]
    texygen = [sentence_bleu(toks, h, smoothing_function=SF.method1) for h in toks]
    assert texygen == [1.0, 1.0, 1.0]
    assert diversity.self_bleu(texts).value < 0.2


def test_self_bleu_direction_and_undefined():
    r = diversity.self_bleu(["a b c d e", "a b c d e"])
    assert r.value == 1.0 and r.higher_is_more_diverse is False and "lower = more diverse" in repr(r)
    with pytest.warns(UndefinedMetricWarning, match="at least 2 completions"):
        assert math.isnan(diversity.self_bleu(["only one"]).value)
    with pytest.warns(UndefinedMetricWarning, match=r"undefined for 1 of 2 prompts"):
        r = diversity.self_bleu({"p": ["a b", "a c"], "q": ["alone"]})
    assert math.isnan(r.per_group[1]) and not math.isnan(r.value)


def test_self_bleu_bad_parameters():
    with pytest.raises(ValueError, match="'smoothing' parameter of self_bleu must be one of 'none', 'method1', 'exp'"):
        diversity.self_bleu(["a", "b"], smoothing="method2")
    with pytest.raises(ValueError, match="'weights' parameter of self_bleu must be 4 finite non-negative"):
        diversity.self_bleu(["a", "b"], weights=(1, 0))
    with pytest.raises(ValueError, match="'max_n' parameter of self_bleu"):
        diversity.self_bleu(["a", "b"], max_n=0)


def test_self_bleu_signature_pinned():
    r = diversity.self_bleu({"p": ["a b", "a c"], "q": ["x y", "x z"]}, ci=False)
    assert r.signature == ("self-bleu|n:4|w:uniform|smooth:method1|ref:others|tok:unicode-v2|lc:no|"
                           f"agg:per-prompt-mean|k:2|v:{diversity.__version__}")


def test_large_codes_take_dense_rank_path():
    # 4-gram codes times N overflow int64 here, so clipped counts use dense ranks
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(3000)]
    texts = [" ".join(rng.choice(words, size=12)) for _ in range(40)] + ["w1 w2 w3 w4 w5"] * 3
    ours = diversity.self_bleu(texts).details["per_completion"]
    np.testing.assert_allclose(ours, nltk_self_bleu(texts), atol=1e-9)


# ---- homogenization ---------------------------------------------------------

def ref_lcs(a, b):
    dp = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a)):
        for j in range(len(b)):
            dp[i + 1][j + 1] = dp[i][j] + 1 if a[i] == b[j] else max(dp[i][j + 1], dp[i + 1][j])
    return dp[-1][-1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=70), st.lists(st.integers(0, 5), max_size=70))
def test_bit_parallel_lcs_equals_dp(a, b):
    if not a:
        return
    assert lcs_length(_masks(np.array(a)), len(a), np.array(b)) == ref_lcs(a, b)


def test_rouge_l_equals_rouge_score(real_sets):
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")

    class OurTokenizer:
        def tokenize(self, text):
            return TOK(text)

    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=OurTokenizer())
    for samples in real_sets:
        r = diversity.homogenization(samples, ci=False)
        for texts, value in zip(samples.values(), r.per_group):
            pairs = [scorer.score(texts[i], texts[j])["rougeL"].fmeasure
                     for i in range(len(texts)) for j in range(i + 1, len(texts))]
            assert value == pytest.approx(np.mean(pairs), abs=1e-12)


def test_homogenization_bleu_equals_nltk_pairs(real_sets):
    base, _ = real_sets
    for texts in list(base.values())[:3]:
        toks = [TOK(t) for t in texts]
        ref = np.mean([sentence_bleu([toks[j]], toks[i], smoothing_function=SF.method1)
                       for i in range(len(toks)) for j in range(len(toks)) if i != j])
        assert diversity.homogenization(texts, "bleu").value == pytest.approx(ref, abs=1e-9)


def test_homogenization_extremes_unlike_the_diversity_package():
    # identical -> 1; nothing in common -> 0 (the `diversity` package returns 1.0 here)
    assert diversity.homogenization(["a b c", "a b c"]).value == 1.0
    assert diversity.homogenization(["a b c", "d e f", "g h"]).value == 0.0
    assert diversity.homogenization(["a b c", "d e f", "g h"], "bleu").value == 0.0
    with pytest.warns(diversity.UndefinedMetricWarning, match="needs at least 2 completions"):
        assert math.isnan(diversity.homogenization(["", "a"]).value)  # a pair with a non-answer is not "diverse"


def test_homogenization_pair_sampling():
    texts = [f"w{i % 7} w{i % 5} w{i % 3} common" for i in range(60)]
    exact = diversity.homogenization(texts)
    sampled = diversity.homogenization(texts, max_pairs=500, pair_seed=1)
    again = diversity.homogenization(texts, max_pairs=500, pair_seed=1)
    assert sampled.value == again.value
    assert abs(sampled.value - exact.value) < 0.05
    assert "|pairs:sample-500-seed1|" in sampled.signature and "|pairs:all|" in exact.signature
    # asking for more pairs than exist means all pairs
    everything = diversity.homogenization(texts, max_pairs=10**6)
    assert everything.value == exact.value and everything.signature.fields == exact.signature.fields


@pytest.mark.parametrize("k", [2, 3, 10, 257, 2000])
def test_sample_pairs_are_distinct_valid_pairs(k):
    total = k * (k - 1) // 2
    m = min(total, 1000)
    i, j = sample_pairs(k, m, np.random.default_rng(0))
    assert np.all(i < j) and np.all(j < k) and np.all(i >= 0)
    assert len(set(zip(i.tolist(), j.tolist()))) == m
    if m == total:
        ai, aj = all_pairs(k)
        assert set(zip(i.tolist(), j.tolist())) == set(zip(ai.tolist(), aj.tolist()))


def test_homogenization_undefined_and_errors():
    with pytest.warns(UndefinedMetricWarning, match="at least 2 completions to form a pair"):
        assert math.isnan(diversity.homogenization(["alone"]).value)
    with pytest.raises(ValueError, match="'measure' parameter of homogenization must be one of 'rouge-l', 'bleu'"):
        diversity.homogenization(["a", "b"], "bertscore")
