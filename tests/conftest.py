from collections import Counter
from pathlib import Path

import pytest

from diversity.io.datasets import load_handwritten

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def _cache_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("diversity-cache")


@pytest.fixture(autouse=True)
def _private_embedding_cache(_cache_folder, monkeypatch):
    """Tests never write to the user's real embedding cache (DIVERSITY_CACHE_DIR points at a temporary folder)."""
    monkeypatch.setenv("DIVERSITY_CACHE_DIR", str(_cache_folder))


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
