"""The fast kernels give the values of the plain ones exactly: the vectorised
bit-parallel LCS (ROUGE-L), the n-gram statistics taken from self-BLEU's sort,
and metrics computed in another order or in a second thread."""

import warnings

import numpy as np
import pytest

import diversity
from diversity.core.options import Options
from diversity.metrics._pairwise import _masks, lcs_length, lcs_lengths, pairwise_rouge_l
from diversity.text.ngrams import count_runs, ngram_codes, ngram_runs, ngram_totals, select_keys, \
    tokenize_texts, totals_from_runs


def reference_lcs(ids, offsets, a, b):
    return [lcs_length(_masks(ids[offsets[x]:offsets[x + 1]]), int(offsets[x + 1] - offsets[x]),
                       ids[offsets[y]:offsets[y + 1]]) for x, y in zip(a, b)]


def dp_lcs(x, y):
    table = np.zeros((len(x) + 1, len(y) + 1), dtype=int)
    for p in range(len(x)):
        for q in range(len(y)):
            table[p + 1, q + 1] = table[p, q] + 1 if x[p] == y[q] else max(table[p, q + 1], table[p + 1, q])
    return int(table[-1, -1])


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_lcs_equals_the_one_pair_recurrence(seed):
    rng = np.random.default_rng(seed)
    n = 24
    lens = rng.integers(0, [5, 70, 140, 300, 64, 65][seed], size=n)  # one word, two, five; 64/65 at the edge
    ids = rng.integers(0, [2, 5, 30, 1000, 3, 50][seed], size=int(lens.sum())).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    group = rng.integers(0, 3, size=n)
    i, j = np.triu_indices(n, 1)
    keep = (lens[i] > 0) & (lens[j] > 0) & (group[i] == group[j])
    i, j = i[keep], j[keep]
    swap = lens[i] > lens[j]
    a, b = np.where(swap, j, i), np.where(swap, i, j)
    assert lcs_lengths(ids, offsets, a, b, group[a]).tolist() == reference_lcs(ids, offsets, a, b)
    assert lcs_lengths(ids, offsets, a, b).tolist() == reference_lcs(ids, offsets, a, b)  # one group


def test_lcs_against_dynamic_programming_by_hand():
    x, y = [1, 2, 3, 2, 4, 1, 2], [2, 4, 3, 1, 2, 1]
    ids = np.array(x + y, dtype=np.int64)
    offsets = np.array([0, len(x), len(x) + len(y)], dtype=np.int64)
    assert lcs_lengths(ids, offsets, np.array([1]), np.array([0])).tolist() == [dp_lcs(x, y)] == [4]


def test_rouge_l_values_are_bit_for_bit_those_of_the_pairwise_loop():
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choice(words, size=int(rng.integers(0, 150)))) for _ in range(30)]
    tt = tokenize_texts(texts, Options.default().tokenizer, False)
    i, j = np.triu_indices(len(texts), 1)
    got = pairwise_rouge_l(tt, i, j, np.zeros(len(i), dtype=np.int64))
    offs, L = tt.offsets, tt.lengths
    want = []
    for a, b in zip(i.tolist(), j.tolist()):
        la, lb = int(L[a]), int(L[b])
        if la == 0 or lb == 0:
            want.append(0.0)
            continue
        x, y = (a, b) if la < lb else (b, a)
        lcs = lcs_length(_masks(tt.ids[offs[x]:offs[x + 1]]), int(L[x]), tt.ids[offs[y]:offs[y + 1]])
        want.append(2.0 * lcs / (la + lb))
    assert got.tolist() == want


def test_homogenization_with_sampled_pairs_is_unchanged():
    samples = {f"p{g}": [" ".join(f"w{(g * 7 + i * k) % 23}" for k in range(3 + i % 9)) for i in range(20)]
               for g in range(5)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = diversity.score(samples, ["homogenization-rouge-l?max_pairs=30", "homogenization-rouge-l"], ci=False)
    # pinned from the one-pair-at-a-time kernel (commit e3d1977), which this one replaces
    assert r["homogenization-rouge-l"].value == 0.29641899072809913
    assert r["homogenization-rouge-l?max_pairs=30"].value == 0.3065346280253401


@pytest.mark.parametrize("n", [1, 2, 3])
def test_totals_from_the_shared_sort_equal_the_direct_count(n):
    rng = np.random.default_rng(n)
    texts = [" ".join(f"t{x}" for x in rng.integers(0, 12, size=int(rng.integers(0, 9)))) for _ in range(40)]
    tt = tokenize_texts(texts, Options.default().tokenizer, False)
    group = np.repeat(np.arange(8), 5)
    runs = ngram_runs(tt, n)
    codes, mask = ngram_codes(tt, n)
    token_group = select_keys(np.repeat(group, tt.lengths), mask)
    token_text = select_keys(np.repeat(np.arange(40), tt.lengths), mask)
    for keys, key_of_text, n_keys in ((token_group, group, 8), (token_text, np.arange(40), 40)):
        want = ngram_totals(codes, keys, n_keys, n)
        got = totals_from_runs(runs, key_of_text, n_keys)
        assert got.unique.tolist() == want.unique.tolist() and got.total.tolist() == want.total.tolist()
        np.testing.assert_allclose(got.sum_clogc, want.sum_clogc, rtol=1e-13, atol=0)
    assert len(count_runs(codes, token_text, 40)[0]) == len(runs.code)


def test_metric_order_and_the_second_thread_do_not_change_values():
    samples = {f"p{g}": [f"a b c {g} {i}" * (1 + i % 3) for i in range(6)] for g in range(4)}
    specs = ["distinct-2", "ngram-entropy-3", "compression-ratio", "self-bleu", "distinct-2?variant=per-completion"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        together = diversity.score(samples, specs, ci=False)
        for s in specs:
            alone = diversity.score(samples, [s], ci=False)[s]
            assert alone.value == pytest.approx(together[s].value, rel=1e-14, abs=0)
            assert alone.per_group == pytest.approx(together[s].per_group, rel=1e-14, abs=0)


def test_vocabulary_ids_are_the_same_with_and_without_pandas(monkeypatch):
    pytest.importorskip("pandas")
    from diversity.text import ngrams

    rng = np.random.default_rng(4)
    pool = ["a", "A", "1", "1.0", "True", "é", "e\u0301", "naïve", "", " ", "NaN", "None"] + [f"w{i}" for i in range(500)]
    tokens = [pool[i] for i in rng.integers(0, len(pool), size=ngrams._FACTORIZE_MIN + 7)]
    fast = ngrams.Vocabulary()
    ids_fast = fast.encode(iter(tokens))
    monkeypatch.setattr(ngrams, "_FACTORIZE", None)  # as without pandas
    slow = ngrams.Vocabulary()
    ids_slow = slow.encode(iter(tokens))
    assert ids_fast.tolist() == ids_slow.tolist()
    assert fast.tokens == slow.tokens and dict(fast.index) == dict(slow.index)
    assert fast.encode(iter(["w1", "brand-new"])).tolist() == [fast.index["w1"], len(slow.tokens)]  # grows as before
