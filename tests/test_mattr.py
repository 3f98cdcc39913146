"""MATTR: hand-computed values, a plain loop over windows, and the lexical-diversity package."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import diversity
from diversity.text.tokenize import get_tokenizer


def loop_mattr(tokens, w):
    """Reference: the mean type-token ratio over every window, written as a plain loop."""
    if len(tokens) <= w:
        return len(set(tokens)) / len(tokens)
    return float(np.mean([len(set(tokens[j:j + w])) / w for j in range(len(tokens) - w + 1)]))


def test_hand_computed():
    assert diversity.mattr(["a a b a"], window=3).value == pytest.approx(2 / 3)  # a a b, a b a
    assert diversity.mattr(["a b c d"], window=2).value == 1.0
    assert diversity.mattr(["a a a a"], window=2).value == 0.5
    assert diversity.mattr(["a a", "a b"], window=5).value == pytest.approx((0.5 + 1.0) / 2)  # shorter: TTR
    r = diversity.mattr({"p": ["x y x"], "q": ["z z z z"]}, window=2, ci=False)
    assert r.per_group == (1.0, 0.5) and "|win:2|tok:unicode-v2|" in r.signature


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from("a b c d e f".split()), min_size=1, max_size=30).map(" ".join),
                min_size=1, max_size=6), st.integers(1, 12))
def test_equals_a_plain_loop(texts, w):
    tok = get_tokenizer("unicode")
    want = np.mean([loop_mattr(tok(t), w) for t in texts])
    assert diversity.mattr(texts, window=w).value == pytest.approx(want, rel=1e-12)


def test_equals_the_lexical_diversity_package(real_sets):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ld = pytest.importorskip("lexical_diversity.lex_div")
    tok = get_tokenizer("unicode")
    for samples in real_sets:
        for texts in samples.values():
            for w in (5, 10, 50):
                ours = diversity.mattr(texts, window=w).value
                assert ours == pytest.approx(np.mean([ld.mattr(tok(t), window_length=w) for t in texts]), rel=1e-12)


def test_window_is_validated():
    with pytest.raises(diversity.InvalidParameterError, match="'window' parameter of mattr must be an int"):
        diversity.mattr(["a"], window=0)
