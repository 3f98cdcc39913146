"""Tokenizing a batch in one pass over the joined texts gives the tokens and ids of the text-by-text path."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pytest

from diversity.text.ngrams import encode_token_lists, tokenize_texts
from diversity.text.tokenize import _ASCII_RE, _unicode_re, get_tokenizer

TEXTS = [
    "Héllo wörld, don't l’homme!", "Cafe\u0301 café CAFÉ", "", "   ", "\t\n", "a", "a",
    "日本語のテキスト。中文文本！", "हिन्दी भाषा में पाठ", "مرحبا بالعالم", "...!!!???", "x'y 'quoted' it’s ''",
    "\u0301starts with a mark", "ends with a mark e\u0301", "\u00c5ngstr\u00f6m A\u030angstro\u0308m", "ﬁne ﬂow",
    "🙂🙂 emoji 👍🏽 ok", "tab\tsep\x1cfile\x1dgroup\x1e\x1f", "under_score 3.14 x2 a-b", "ΣΑΣ σας ΟΔΟΣ",
    "word" * 500, " ".join(f"t{i % 37}" for i in range(2000)),
]


def _random_texts(seed: int, n: int) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = list("ab c'’.-_ \t\n\u0301\u0308éÅ日本ß9\u00a0\u2028\x1c!")
    return ["".join(rng.choice(alphabet, size=int(rng.integers(0, 15)))) for _ in range(n)]


@pytest.mark.parametrize("texts", [TEXTS, _random_texts(0, 300), _random_texts(1, 2), ["", ""], ["only"],
                                   ["plain ascii only", "x", "", "y z"], []])
@pytest.mark.parametrize("lowercase", [False, True])
def test_joined_tokenization_equals_text_by_text(texts, lowercase):
    tok = get_tokenizer("unicode")
    src = [t.lower() for t in texts] if lowercase else texts
    want = encode_token_lists(tok.tokenize_many(src))
    got = tokenize_texts(texts, tok, lowercase)
    assert got.ids.tolist() == want.ids.tolist() and got.lengths.tolist() == want.lengths.tolist()
    assert got.vocab.tokens == want.vocab.tokens and dict(got.vocab.index) == dict(want.vocab.index)
    assert len(got.vocab) == len(want.vocab)
    joined = tok.tokenize_joined(src)
    if len(src) > 1:
        tokens, sep = joined
        assert tokens.count(sep) == len(src) - 1
        assert [t for t in tokens if t != sep] == [t for ts in tok.tokenize_many(src) for t in ts]


def test_a_text_with_the_separator_falls_back_to_text_by_text():
    tok = get_tokenizer("unicode")
    texts = ["a \x00 b", "c\x00", "d"]
    assert tok.tokenize_joined(texts) is None
    got = tokenize_texts(texts, tok, False)
    want = encode_token_lists(tok.tokenize_many(texts))
    assert got.ids.tolist() == want.ids.tolist() and got.lengths.tolist() == want.lengths.tolist()


def test_new_tokens_after_the_batch_get_the_next_ids():
    tok = get_tokenizer("unicode")
    tt = tokenize_texts(["b a", "c a", ""], tok, False)
    assert tt.vocab.encode(["zz", "a"]).tolist() == [3, 1]


def test_ascii_pattern_equals_the_unicode_pattern_on_ascii():
    chars = "".join(chr(c) for c in range(128))
    assert re.findall(r"\w", chars) == re.findall(r"[A-Za-z0-9_]", chars)
    rng = np.random.default_rng(0)
    for _ in range(200):
        text = "".join(chr(int(c)) for c in rng.integers(0, 128, size=40))
        assert _ASCII_RE.findall(text) == _unicode_re().findall(unicodedata.normalize("NFC", text))
