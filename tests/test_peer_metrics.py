"""The metrics peers have: n-gram Vendi (against the vendi-score package), self-repetition (against
golden values from Shaib et al.'s package, tests/data/peers/) and homogenization by embedding
similarity (hand cases and its identity with mean pairwise distance)."""

import json
import math
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

import diversity
from diversity import get_tokenizer

PEERS = Path(__file__).resolve().parent / "data" / "peers"
SETS = [
    ["the cat sat on the mat", "the cat sat on the mat", "a dog ran far away today"],
    ["a b c d", "a b c d", "w x y z"],
    ["Once upon a time, there was a keeper.", "The keeper of the light, once upon a time.",
     "Rain. Rain, again! and again", "a"],  # "a" has no 2-, 3- or 4-gram: diagonal below 1
    ["x x x x x", "x x y y", "y y y", "z"],
]


@pytest.fixture(scope="module")
def peer_ngram_vendi():
    """vendi-score 0.0.3's ngram_vendi_score. Its text_utils imports ``datasets`` (used only by its MNLI
    loader, not installed here: a stub module stands in) and calls ``csr_matrix.A``, removed in
    SciPy 1.14 (restored as ``toarray()`` for the test)."""
    sys.modules.setdefault("datasets", types.ModuleType("datasets"))
    import scipy.sparse as sp

    if not hasattr(sp.csr_matrix, "A"):
        sp.csr_matrix.A = property(lambda self: self.toarray())
    text_utils = pytest.importorskip("vendi_score.text_utils")
    return text_utils.ngram_vendi_score


@pytest.mark.parametrize("max_n", [1, 2, 3, 4])
@pytest.mark.parametrize("texts", SETS, ids=range(len(SETS)))
def test_ngram_vendi_matches_the_vendi_score_package(peer_ngram_vendi, texts, max_n):
    tok = get_tokenizer("unicode")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn: token_pattern unused with a tokenizer
        ref = peer_ngram_vendi(texts, ns=list(range(1, max_n + 1)), tokenizer=lambda s: tok.tokenize_many([s])[0])
    assert diversity.ngram_vendi_score(texts, max_n=max_n).value == pytest.approx(ref, abs=1e-9, rel=0)


def test_ngram_vendi_hand_cases_orders_and_signature():
    assert diversity.ngram_vendi_score(["a b", "a b", "a b"], max_n=2).value == pytest.approx(1.0, abs=1e-12)
    # as in vendi-score: completions shorter than max_n keep zero rows, so the diagonal is 2/4 here and
    # the spectrum (1/2) is not rescaled: exp(-(1/2) ln(1/2)) = sqrt(2), not 1
    assert diversity.ngram_vendi_score(["a b", "a b", "a b"]).value == pytest.approx(math.sqrt(2), abs=1e-12)
    assert diversity.ngram_vendi_score(["a b c d", "e f g h", "i j k l"]).value == pytest.approx(3.0, abs=1e-12)
    # two identical profiles and one disjoint: eigenvalues 2/3 and 1/3
    two = diversity.ngram_vendi_score(["a b c d", "a b c d", "w x y z"], q=2)
    assert two.value == pytest.approx(1 / ((2 / 3) ** 2 + (1 / 3) ** 2), abs=1e-12)
    assert diversity.ngram_vendi_score(["a b c d", "a b c d", "w x y z"], q=math.inf).value == pytest.approx(1.5)
    r = diversity.ngram_vendi_score({"p": ["a b c", "a b d"], "q": ["x y", "z w"]}, max_n=2)
    assert r.signature.startswith("ngram-vendi?max_n=2|ngrams:1-2|q:1|tok:unicode-v2|lc:no|agg:per-prompt-mean|k:2")
    assert r.per_group[1] == pytest.approx(2.0)
    assert diversity.from_spec(r.metric) == diversity.NgramVendi(max_n=2)


def test_ngram_vendi_is_lowercase_aware_and_rejects_bad_parameters():
    assert diversity.ngram_vendi_score(["A b", "a B"], max_n=2, lowercase=True).value == pytest.approx(1.0)
    assert diversity.ngram_vendi_score(["A b", "a B"], max_n=2).value == pytest.approx(2.0)
    with pytest.raises(diversity.InvalidParameterError, match="'max_n' parameter of ngram_vendi_score"):
        diversity.ngram_vendi_score(["a b"], max_n=0)
    with pytest.raises(diversity.InvalidParameterError, match="'q' parameter of ngram_vendi_score"):
        diversity.ngram_vendi_score(["a b"], q=0)


def test_self_repetition_matches_shaib_et_al_golden_values():
    golden = json.loads((PEERS / "self_repetition.json").read_text(encoding="utf-8"))
    assert "diversity 0.3.1" in golden["produced_by"]
    for texts, values in zip(golden["sets"], golden["values"]):
        for n, ref in values.items():
            ours = diversity.self_repetition(texts, n=int(n), tokenizer="whitespace").value
            assert ours == pytest.approx(ref, abs=1e-12, rel=0), (texts[:1], n)


def test_self_repetition_hand_case_per_completion_and_direction():
    r = diversity.self_repetition(["a b c", "a b d", "x y z"], n=2)
    assert list(r.details["per_completion"]) == pytest.approx([math.log(2), math.log(2), 0.0])
    # a repeated n-gram inside one completion counts once; three copies count 2 others each
    r = diversity.self_repetition(["a b a b", "a b", "a b"], n=2)
    assert list(r.details["per_completion"]) == pytest.approx([math.log(3), math.log(3), math.log(3)])
    assert diversity.SelfRepetition.higher_is_more_diverse is False
    grouped = diversity.self_repetition({"p": ["a b c", "a b c"], "q": ["a b c", "x y z"]}, n=3)
    assert grouped.per_group == pytest.approx([math.log(2), 0.0])  # never across prompts
    assert grouped.signature.startswith("self-repetition-3|tok:unicode-v2|lc:no|agg:per-prompt-mean|k:2")
    with pytest.raises(diversity.InvalidParameterError, match="'n' parameter of self_repetition"):
        diversity.self_repetition(["a b"], n=0)


def test_embedding_homogenization_is_mean_pairwise_cosine_similarity():
    rng = np.random.default_rng(0)
    x = {"p": rng.normal(size=(5, 8)), "q": rng.normal(size=(3, 8))}
    r = diversity.embedding_homogenization(embeddings=x)
    for key, v in zip(r.groups, r.per_group):
        u = x[key] / np.linalg.norm(x[key], axis=1, keepdims=True)
        k = len(u)
        brute = ((u @ u.T).sum() - k) / (k * (k - 1))
        assert v == pytest.approx(brute, abs=1e-12)
    mpd = diversity.mean_pairwise_distance(embeddings=x)
    assert r.value == pytest.approx(1 - mpd.value, abs=1e-12)
    assert r.signature.startswith("embedding-homogenization|sim:cosine|emb:precomputed")
    with pytest.warns(diversity.UndefinedMetricWarning, match="at least 2 completions"):
        assert math.isnan(diversity.embedding_homogenization(embeddings=np.ones((1, 3))).value)


def test_ngram_vendi_refuses_a_kernel_over_the_memory_limit(monkeypatch):
    monkeypatch.setenv("DIVERSITY_MEMORY_LIMIT", "1K")  # 3 x 8 x 7^2 bytes > 1 KiB
    with pytest.raises(diversity.MemoryLimitError, match="a set of 7 completions needs about"):
        diversity.ngram_vendi_score([f"w{i} x" for i in range(7)])
    monkeypatch.setenv("DIVERSITY_MEMORY_LIMIT", "1M")
    assert diversity.ngram_vendi_score([f"w{i} x" for i in range(7)], max_n=2).value > 1
