"""The n-gram kernels (sorted runs, per-key totals, self-BLEU clipping) against plain Counter-based
reference implementations, on random and edge-case inputs."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from diversity.core.options import Options
from diversity.metrics._selfbleu import clipped_counts
from diversity.text.ngrams import Vocabulary, encode_token_lists, ngram_runs, totals_from_runs


def _grams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def _random_token_lists(seed: int, n_texts: int, vocab: int, max_len: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [[f"t{x}" for x in rng.integers(0, vocab, size=int(rng.integers(0, max_len + 1)))]
            for _ in range(n_texts)]


CASES = [
    ("random-small-vocab", _random_token_lists(1, 60, 4, 9)),
    ("random-wide-vocab", _random_token_lists(2, 50, 500, 30)),
    ("edge", [[], ["a"], [], ["a", "a", "a", "a", "a"], ["a", "b"], ["b", "a", "b", "a"], [], ["c"], ["a", "b", "a"]]),
    ("all-empty", [[], [], []]),
    ("one-text", [["x", "y", "x", "y", "x"]]),
    ("all-shared", [["a", "b", "c"]] * 4 + [["a", "b"]] * 4),  # no n-gram held by one text alone
]


def _check_runs(token_lists: list[list[str]], n: int, vocab: Vocabulary | None = None) -> None:
    tt = encode_token_lists(token_lists, vocab)
    runs = ngram_runs(tt, n)
    # reference: every (n-gram, text) pair with its count, sorted by the n-gram's ids then the text
    pairs = Counter((tuple(tt.vocab.index[w] for w in g), t) for t, toks in enumerate(token_lists)
                    for g in _grams(toks, n))
    want = sorted(pairs.items())
    assert runs.text.tolist() == [t for (_, t), _ in want]
    assert runs.count.tolist() == [c for _, c in want]
    # equal codes exactly for equal n-grams, in increasing order
    grams = [g for (g, _), _ in want]
    codes = runs.code.tolist()
    for a in range(1, len(grams)):
        assert (codes[a] == codes[a - 1]) == (grams[a] == grams[a - 1]) and codes[a] >= codes[a - 1]


@pytest.mark.parametrize("name,token_lists", CASES, ids=[c[0] for c in CASES])
def test_runs_match_a_counter_in_any_order_of_calls(name, token_lists):
    for n in (1, 2, 3, 4, 5):
        _check_runs(token_lists, n)
    tt = encode_token_lists(token_lists)
    got = {n: ngram_runs(tt, n) for n in (3, 1, 4, 2, 2, 5)}  # out of order: the kept order restarts
    for n, runs in got.items():
        fresh = ngram_runs(encode_token_lists(token_lists), n)
        assert runs.text.tolist() == fresh.text.tolist() and runs.count.tolist() == fresh.count.tolist()


def test_runs_with_ids_beyond_16_bits():
    # a vocabulary of more than 65,536 types: the radix sort takes two digits
    vocab = Vocabulary()
    vocab.encode([f"pad{i}" for i in range(70_000)])
    rng = np.random.default_rng(3)
    pool = [f"pad{i}" for i in (0, 1, 65_535, 65_536, 65_537, 69_999)] + ["new1", "new2"]
    token_lists = [[pool[x] for x in rng.integers(0, len(pool), size=int(rng.integers(0, 12)))] for _ in range(40)]
    for n in (1, 2, 3, 4):
        _check_runs(token_lists, n, vocab)


def _reference_totals(token_lists, n, key_of_text, n_keys):
    per_key = [Counter() for _ in range(n_keys)]
    for t, toks in enumerate(token_lists):
        per_key[key_of_text[t]].update(_grams(toks, n))
    unique = [len(c) for c in per_key]
    total = [sum(c.values()) for c in per_key]
    clogc = [math.fsum(v * math.log(v) for v in c.values()) for c in per_key]
    return unique, total, clogc


@pytest.mark.parametrize("name,token_lists", CASES, ids=[c[0] for c in CASES])
def test_totals_match_a_counter(name, token_lists):
    tt = encode_token_lists(token_lists)
    N = len(token_lists)
    groups = np.repeat(np.arange(N), 1)[:N] // 3
    for n in (1, 2, 3, 4):
        runs = ngram_runs(tt, n)
        for key_of_text, n_keys in ((groups, int(groups.max()) + 1), (np.arange(N), N)):
            got = totals_from_runs(runs, key_of_text, n_keys)
            unique, total, clogc = _reference_totals(token_lists, n, key_of_text, n_keys)
            assert got.unique.tolist() == unique and got.total.tolist() == total
            np.testing.assert_allclose(got.sum_clogc, clogc, rtol=1e-12, atol=1e-12)


def _reference_clipped(token_lists, group, n):
    out = []
    for t, toks in enumerate(token_lists):
        mine = Counter(_grams(toks, n))
        others = [Counter(_grams(token_lists[r], n)) for r in range(len(token_lists)) if r != t and group[r] == group[t]]
        out.append(sum(min(c, max((o[g] for o in others), default=0)) for g, c in mine.items()))
    return out


@pytest.mark.parametrize("name,token_lists", CASES, ids=[c[0] for c in CASES])
def test_clipped_counts_match_nltk_style_clipping(name, token_lists):
    tt = encode_token_lists(token_lists)
    N = len(token_lists)
    group = np.arange(N, dtype=np.int64) // 4
    for n in (1, 2, 3, 4):
        clipped, count = clipped_counts(tt, group, n)
        assert clipped.tolist() == _reference_clipped(token_lists, group, n)
        assert count.tolist() == [max(len(t) - n + 1, 0) for t in token_lists]
        shared, _ = clipped_counts(tt, group, n, ngram_runs(tt, n))
        assert shared.tolist() == clipped.tolist()


def test_clipping_ties_and_repeats():
    # two texts tie on the top count of "a": each is clipped by the other's full count
    token_lists = [["a", "a", "b"], ["a", "a"], ["b", "b", "b", "a"], ["c"]]
    tt = encode_token_lists(token_lists)
    group = np.array([0, 0, 0, 0])
    assert clipped_counts(tt, group, 1)[0].tolist() == _reference_clipped(token_lists, group, 1) == [3, 2, 2, 0]


def test_tokenized_corpus_runs_equal_reference():
    tok = Options.default().tokenizer
    texts = ["the cat sat on the mat", "", "the cat", "a a a a", "mat the on sat cat the"] * 3
    token_lists = tok.tokenize_many(texts)
    for n in (1, 2, 3):
        _check_runs(token_lists, n)
