from collections import Counter
from pathlib import Path

import pytest

from diversity.datasets import load_handwritten

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def real_sets():
    """Hand-written but natural English sets (both sides of the bundled example)."""
    return load_handwritten("base"), load_handwritten("aligned")


def ref_ngrams(tokens, n):
    """Reference n-grams of one token list (plain Python; the nltk.util.ngrams definition)."""
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def ref_counter(token_lists, n):
    c = Counter()
    for toks in token_lists:
        c.update(ref_ngrams(toks, n))
    return c
