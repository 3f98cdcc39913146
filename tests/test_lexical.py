"""Lexical metrics: hand-computed cases and golden values from independent
reference implementations on real (natural English) text.

References used here:
* distinct-n: the ParlAI / GEM-metrics definition (set of n-grams over the
  count of n-grams, per text, never across texts), written with
  collections.Counter and nltk.util.ngrams;
* n-gram entropy: nltk.probability.FreqDist frequencies, entropy summed here;
* EAD: the formula of Liu et al. (2022) evaluated in plain floating point;
* compression ratio: gzip.compress once, against the double compression of the
  `diversity` PyPI package (reproduced with the same two gzip calls).
"""

import gzip
import math

import numpy as np
import pytest
from nltk.probability import FreqDist
from nltk.util import ngrams as nltk_ngrams

import diversity
from diversity import UndefinedMetricWarning
from diversity.text.tokenize import get_tokenizer

TOK = get_tokenizer("unicode")


def ref_distinct(texts, n):
    grams = [g for t in texts for g in nltk_ngrams(TOK(t), n)]
    return len(set(grams)) / len(grams) if grams else math.nan


def ref_entropy(texts, n):
    fd = FreqDist(g for t in texts for g in nltk_ngrams(TOK(t), n))
    if not fd:
        return math.nan
    return -sum(fd.freq(g) * math.log2(fd.freq(g)) for g in fd)


# ---- hand-computable cases -------------------------------------------------

def test_distinct_hand_computed():
    # bigrams: (a b) (b a) (a b) | (b c)  -> 3 unique / 4 total; no (b b) across the boundary
    assert diversity.distinct_n(["a b a b", "b c"], n=2).value == 0.75
    # per-completion: 2/3 and 1/1 -> mean 5/6
    assert diversity.distinct_n(["a b a b", "b c"], n=2, variant="per-completion").value == pytest.approx(5 / 6)


def test_ngrams_never_cross_completions():
    # joined, "x y" + "y x" would add (y y); it must not be counted
    assert diversity.distinct_n(["x y", "y x"], n=2).value == 1.0
    assert diversity.ngram_entropy(["x y", "y x"], n=2).value == 1.0


def test_entropy_hand_computed():
    assert diversity.ngram_entropy(["a a b b"], n=1).value == pytest.approx(1.0)
    assert diversity.ngram_entropy(["a a b b"], n=1, base=math.e).value == pytest.approx(math.log(2))
    # normalised: H / log2(C) = 1 / log2(4)
    assert diversity.ngram_entropy(["a a b b"], n=1, normalize=True).value == pytest.approx(0.5)
    assert diversity.ngram_entropy(["a b c d"], n=1, normalize=True).value == pytest.approx(1.0)
    assert diversity.ngram_entropy(["a a a"], n=1).value == 0.0


def test_ead_hand_computed():
    # U = 3 unique bigrams, C = 4, V = 10: 3 / (10 * (1 - 0.9**4))
    expected = 3 / (10 * (1 - 0.9**4))
    assert diversity.ead(["the cat sat", "the cat ran"], n=2, vocab_size=10).value == pytest.approx(expected, rel=1e-12)


def test_ead_needs_vocab_size():
    with pytest.raises(ValueError, match="ead needs vocab_size: the tokenizer 'unicode-v2' has no fixed vocabulary"):
        diversity.ead(["a b"], n=1)
    with pytest.raises(ValueError, match="'vocab_size' parameter of ead"):
        diversity.ead(["a b"], n=1, vocab_size=1)


def test_ead_large_vocab_is_stable():
    # for huge V the expectation tends to C: EAD -> distinct-n
    texts = ["one two three four five six", "one two seven eight"]
    e = diversity.ead(texts, n=1, vocab_size=10**15).value
    assert e == pytest.approx(diversity.distinct_n(texts, n=1).value, rel=1e-9)


def test_unique_fraction():
    assert diversity.unique_fraction(["Yes.", "yes.", "Yes. ", "No."]).value == 0.75
    assert diversity.unique_fraction(["Yes.", "yes.", "Yes. ", "No."], normalize="exact").value == 1.0
    assert diversity.unique_fraction(["Yes.", "yes.", "Yes. ", "No."], normalize="casefold-whitespace").value == 0.5
    assert diversity.unique_fraction(["only one"]).value == 1.0


def test_compression_once_not_twice():
    texts = ["The quick brown fox jumps over the lazy dog.",
             "The quick brown fox jumps over the lazy dog again.",
             "Suddenly, the quick brown fox leaps swiftly over the sleeping dog."]
    raw = " ".join(texts).encode("utf-8")
    ours = diversity.compression_ratio(texts, order="given").value  # Shaib et al.'s order: as listed
    assert ours == len(raw) / len(gzip.compress(raw, compresslevel=9, mtime=0))
    assert ours == pytest.approx(1.5)  # 162 bytes -> 108 bytes
    # the `diversity` PyPI package writes gzip.compress(raw) through a GzipFile: compressed twice
    double = len(raw) / len(gzip.compress(gzip.compress(raw, mtime=0), mtime=0))
    assert double < ours and round(double, 3) == 1.256
    # the default joins the completions in code-point order: the same value for any listing order
    sorted_raw = " ".join(sorted(texts)).encode("utf-8")
    assert diversity.compression_ratio(texts).value == len(sorted_raw) / len(gzip.compress(sorted_raw, mtime=0))
    assert diversity.compression_ratio(texts[::-1]).value == diversity.compression_ratio(texts).value


def test_compression_direction_and_repetition():
    rep = diversity.compression_ratio(["to be or not to be"] * 20)
    var = diversity.compression_ratio([f"sentence number {i} says {w}" for i, w in enumerate("abcdefghijklmnopqrst")])
    assert rep.higher_is_more_diverse is False
    assert rep.value > var.value


# ---- undefined cases -------------------------------------------------------

def test_no_ngrams_gives_nan_with_warning():
    with pytest.warns(UndefinedMetricWarning, match="no completion has 3 or more tokens"):
        r = diversity.distinct_n(["a b", "c"], n=3)
    assert math.isnan(r.value)
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(diversity.ngram_entropy(["", ""], n=1).value)
    with pytest.warns(UndefinedMetricWarning, match="fewer than 2"):
        assert math.isnan(diversity.ngram_entropy(["a"], n=1, normalize=True).value)
    with pytest.warns(UndefinedMetricWarning, match="every completion is empty"):
        assert math.isnan(diversity.compression_ratio(["", ""]).value)
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(diversity.ead([""], n=1, vocab_size=100).value)


def test_undefined_prompts_left_out_of_mean_with_warning():
    samples = {"long": ["a b c", "a b d"], "short": ["x", "y"]}
    with pytest.warns(UndefinedMetricWarning, match=r"undefined for 1 of 2 prompts .* \['short'\]"):
        r = diversity.distinct_n(samples, n=2)
    assert r.value == 0.75 and math.isnan(r.per_group[1])
    assert r.details["n_undefined_groups"] == 1


def test_per_completion_skips_short_completions():
    # "x" has no bigram; the mean is over the two others
    r = diversity.distinct_n(["a b a b", "x", "c d"], n=2, variant="per-completion")
    assert r.value == pytest.approx((2 / 3 + 1) / 2)


# ---- golden values against references on real text -------------------------

@pytest.mark.filterwarnings("ignore::diversity.UndefinedMetricWarning")  # one prompt has 1-2 word answers
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_distinct_matches_reference_on_real_text(real_sets, n):
    for samples in real_sets:
        r = diversity.distinct_n(samples, n=n, ci=False)
        expected = [ref_distinct(texts, n) for texts in samples.values()]
        np.testing.assert_allclose(r.per_group, expected, rtol=0, atol=1e-15)
        assert r.value == pytest.approx(np.nanmean(expected), abs=1e-15)
        pooled = diversity.distinct_n(samples, n=n, aggregate="pooled")
        allt = [t for ts in samples.values() for t in ts]
        assert pooled.value == pytest.approx(ref_distinct(allt, n), abs=1e-15)


@pytest.mark.filterwarnings("ignore::diversity.UndefinedMetricWarning")
@pytest.mark.parametrize("n", [1, 2, 3])
def test_entropy_matches_nltk_freqdist_on_real_text(real_sets, n):
    for samples in real_sets:
        r = diversity.ngram_entropy(samples, n=n, ci=False)
        expected = [ref_entropy(texts, n) for texts in samples.values()]
        np.testing.assert_allclose(r.per_group, expected, rtol=1e-12)


def test_ead_matches_reference_formula_on_real_text(real_sets):
    V = 32000
    base, _ = real_sets
    for texts in base.values():
        grams = [g for t in texts for g in nltk_ngrams(TOK(t), 2)]
        expected = len(set(grams)) / (V * (1 - ((V - 1) / V) ** len(grams)))
        assert diversity.ead(texts, n=2, vocab_size=V).value == pytest.approx(expected, rel=1e-9)


def test_aligned_stand_in_is_less_diverse(real_sets):
    base, aligned = real_sets
    for name in ["distinct-1", "distinct-2", "ngram-entropy-2", "unique-fraction"]:
        res_b, res_a = diversity.score(base, [name]), diversity.score(aligned, [name])
        assert res_b[name].value > res_a[name].value
    assert diversity.compression_ratio(base).value < diversity.compression_ratio(aligned).value


def test_large_vocabulary_uses_exact_fallback():
    # 60,000 types: 60000**4 > 2**63, so 4-gram codes take the dense-rank path
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60_000)]
    texts = [" ".join(words[j] for j in rng.integers(0, 60_000, size=rng.integers(3, 30))) for _ in range(3000)]
    texts += texts[:500]  # duplicates, so repeated 4-grams exist
    texts.append(" ".join(words))  # make sure every type occurs
    for n in (3, 4):
        assert diversity.distinct_n(texts, n=n).value == pytest.approx(ref_distinct(texts, n), abs=1e-15)


def test_length_details():
    r = diversity.distinct_n(["a b c", "a", ""], n=1)
    assert r.details["mean_tokens"] == pytest.approx(4 / 3)
    assert r.details["std_tokens"] == pytest.approx(np.std([3, 1, 0], ddof=1))
    assert r.details["total_tokens"] == 4
