"""Vectorised n-gram counting: the engine under every lexical metric.

Texts are tokenized once and every token is mapped to an integer id
(:class:`Vocabulary`). An n-gram is then one int64 code: the ids written in
base ``radix`` (the vocabulary size) when ``radix**n`` fits in 63 bits, else
the dense rank of its (n-1)-gram prefix times ``radix`` plus its last id. Both
encodings are exact (no hashing, no collisions). N-grams never cross the
boundary between two completions.

Counting is a sort of the codes (keyed by group when several sets are
counted together) and a run-length pass, so a whole grouped corpus is counted
in one vectorised pass, with no Python object per n-gram.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Sequence

import numpy as np

from .tokenize import Tokenizer

_INT63 = 2**63 - 1


class Vocabulary:
    """A growing ``token -> id`` map; ids are dense and stable."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.tokens: list[str] = []

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, flat_tokens: list[str]) -> np.ndarray:
        index = self.index
        # dict.fromkeys dedups in C; only the new types go through Python
        for t in dict.fromkeys(flat_tokens):
            if t not in index:
                index[t] = len(self.tokens)
                self.tokens.append(t)
        return np.fromiter(map(index.__getitem__, flat_tokens), dtype=np.int64, count=len(flat_tokens))


@dataclass(frozen=True)
class TokenizedTexts:
    """Token ids of many texts, concatenated, with each text's length."""

    ids: np.ndarray  # int64, all tokens of all texts
    lengths: np.ndarray  # int64, tokens per text
    vocab: Vocabulary

    @property
    def offsets(self) -> np.ndarray:
        out = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=out[1:])
        return out


def tokenize_texts(texts: Sequence[str], tokenizer: Tokenizer, lowercase: bool,
                   vocab: Vocabulary | None = None) -> TokenizedTexts:
    f = tokenizer
    toks = [f(t.lower()) for t in texts] if lowercase else tokenizer.tokenize_many(texts)
    lengths = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
    vocab = Vocabulary() if vocab is None else vocab
    ids = vocab.encode(list(chain.from_iterable(toks)))
    return TokenizedTexts(ids=ids, lengths=lengths, vocab=vocab)


def ngram_codes(tt: TokenizedTexts, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact int64 codes of every n-gram and the index of the text it comes from."""
    codes, text_idx, _ = ngram_codes_at(tt, n)
    return codes, text_idx


def ngram_codes_at(tt: TokenizedTexts, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """As :func:`ngram_codes`, plus each n-gram's start position in ``tt.ids``
    (``None`` for n = 1, where it is ``arange``)."""
    ids, lengths = tt.ids, tt.lengths
    T = len(ids)
    text_of_token = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    if n == 1:
        return ids, text_of_token, None
    m = T - n + 1
    if m <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    pos = np.arange(m, dtype=np.int64) - np.repeat(tt.offsets[:-1], lengths)[:m]
    valid = pos <= lengths[text_of_token[:m]] - n
    radix = max(len(tt.vocab), 1)
    if radix**n <= _INT63:
        codes = ids[:m].copy()
        for j in range(1, n):
            codes *= radix
            codes += ids[j:m + j]
    else:
        # dense rank of the prefix keeps codes below T * radix < 2**63
        codes = ids.copy()
        for j in range(1, n):
            k = T - j
            _, rank = np.unique(codes[:k], return_inverse=True)
            codes = rank.astype(np.int64).reshape(-1) * radix + ids[j:j + k]
        codes = codes[:m]
    return codes[valid], text_of_token[:m][valid], np.flatnonzero(valid)


def count_runs(codes: np.ndarray, keys: np.ndarray | None, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Count equal (key, code) pairs.

    Returns ``(run_key, run_count)``: one entry per distinct (key, n-gram)
    pair, with the key it belongs to and how often it occurs.
    """
    if len(codes) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if keys is None or n_keys == 1:
        s = np.sort(codes)
        starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
        run_key = np.zeros(len(starts), dtype=np.int64)
    else:
        span = int(codes.max()) + 1
        if n_keys * span <= _INT63:
            s = np.sort(keys * span + codes)
            starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
            run_key = s[starts] // span
        else:
            order = np.lexsort((codes, keys))
            sc, sk = codes[order], keys[order]
            starts = np.flatnonzero(np.concatenate(([True], (sc[1:] != sc[:-1]) | (sk[1:] != sk[:-1]))))
            run_key = sk[starts]
    run_count = np.diff(np.concatenate((starts, [len(codes)])))
    return run_key, run_count


@dataclass(frozen=True)
class NgramTotals:
    """Per-key sufficient statistics of the n-gram distribution."""

    n: int
    unique: np.ndarray  # distinct n-grams per key
    total: np.ndarray  # n-gram occurrences per key
    sum_clogc: np.ndarray  # sum over distinct n-grams of c * ln(c), per key

    def entropy(self, base: float = 2.0) -> np.ndarray:
        """Shannon entropy of each key's n-gram distribution (NaN where total is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.log(self.total) - self.sum_clogc / self.total
        h = np.where(self.total > 0, np.maximum(h, 0.0), np.nan)
        return h / np.log(base)


def ngram_totals(codes: np.ndarray, keys: np.ndarray | None, n_keys: int, n: int) -> NgramTotals:
    run_key, run_count = count_runs(codes, keys, n_keys)
    c = run_count.astype(np.float64)
    return NgramTotals(
        n=n,
        unique=np.bincount(run_key, minlength=n_keys).astype(np.int64),
        total=np.bincount(run_key, weights=c, minlength=n_keys).astype(np.int64),
        sum_clogc=np.bincount(run_key, weights=c * np.log(c), minlength=n_keys),
    )
