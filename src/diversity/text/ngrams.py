"""Vectorised n-gram counting: the engine under every lexical metric.

Texts are tokenized once and every token is mapped to an integer id
(:class:`Vocabulary`). An n-gram is then one int64 code: the ids written in
base ``radix`` (the vocabulary size) when ``radix**n`` fits in 63 bits, else
the dense rank of its (n-1)-gram prefix times ``radix`` plus its last id. Both
encodings are exact (no hashing, no collisions). N-grams never cross the
boundary between two completions.

Counting is a sort of the codes (keyed by group when several sets are
counted together) and a run-length pass, so a whole grouped corpus is counted
in one vectorised pass, with no Python object per n-gram. The sorted runs of
a corpus (:func:`ngram_runs`) need no codes: the order-n sort follows from the
order-(n-1) one by a radix pass over token ids (prefix doubling).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import Sequence

import numpy as np

from .ngram_sort import changes, index_type, sorted_starts
from .tokenize import Tokenizer

_INT63 = 2**63 - 1


class Vocabulary:
    """A growing ``token -> id`` map; ids are dense and stable."""

    def __init__(self) -> None:
        self.index: dict[str, int] = _Index()
        self.tokens: list[str] = []

    def __len__(self) -> int:
        return len(self.index)

    def encode(self, flat_tokens) -> np.ndarray:
        """Ids of an iterable of tokens, adding new types in order of first appearance.

        A fresh vocabulary given many tokens numbers them with pandas' hash
        table when pandas is installed (about twice as fast as a dict; the same
        ids: order of first appearance)."""
        index = self.index
        if not index and _pd_factorize() is not None:
            tokens = np.fromiter(flat_tokens, dtype=object)
            if len(tokens) >= _FACTORIZE_MIN:
                codes, uniques = _pd_factorize()(tokens)
                index.update(zip(uniques.tolist(), range(len(uniques))))
                self.tokens.extend(uniques.tolist())
                return codes.astype(np.int64, copy=False)
            flat_tokens = tokens
        before = len(index)
        ids = np.fromiter(map(index.__getitem__, flat_tokens), dtype=np.int64)
        if len(index) > before:
            self.tokens.extend(list(index)[before:])
        return ids


_FACTORIZE_MIN = 100_000  # tokens from which pandas' factorize is worth its import


def _pd_factorize():
    """``pandas.factorize`` (order of first appearance), or None without pandas."""
    global _FACTORIZE
    if _FACTORIZE is _UNSET:
        try:
            from pandas import factorize
        except ImportError:
            factorize = None
        _FACTORIZE = factorize
    return _FACTORIZE


_UNSET = object()
_FACTORIZE: object = _UNSET


class _Index(dict):
    """A dict that gives an unseen key the next id: known tokens are looked up
    at C speed, only new types run Python code."""

    def __missing__(self, key: str) -> int:
        value = self[key] = len(self)
        return value


@dataclass(frozen=True)
class TokenizedTexts:
    """Token ids of many texts, concatenated, with each text's length."""

    ids: np.ndarray  # int64, all tokens of all texts
    lengths: np.ndarray  # int64, tokens per text
    vocab: Vocabulary

    @cached_property
    def offsets(self) -> np.ndarray:
        out = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=out[1:])
        return out

    def start_mask(self, n: int) -> np.ndarray:
        """``mask[i]`` is True when an n-gram of one text starts at ``ids[i]``
        (length ``len(ids) - n + 1``)."""
        m = max(len(self.ids) - n + 1, 0)
        mask = np.ones(m, dtype=bool)
        if n > 1 and m:
            # the last n-1 positions of every text cannot start an n-gram; for a text
            # shorter than n-1 this also marks positions of the text before it, which
            # cannot start one either (the n-gram would run past this short text)
            bad = (self.offsets[1:, None] - np.arange(1, n, dtype=np.int64)[None, :]).ravel()
            mask[bad[(bad >= 0) & (bad < m)]] = False
        return mask


def tokenize_texts(texts: Sequence[str], tokenizer: Tokenizer, lowercase: bool,
                   vocab: Vocabulary | None = None) -> TokenizedTexts:
    """Tokenize and number: in one pass over the texts joined when the tokenizer has one
    (:meth:`~diversity.text.tokenize.Tokenizer.tokenize_joined`), else text by text."""
    texts = [t.lower() for t in texts] if lowercase else texts
    joined = tokenizer.tokenize_joined(texts) if vocab is None and len(texts) > 1 else None
    if joined is None:
        return encode_token_lists(tokenizer.tokenize_many(texts), vocab)
    tokens, sep = joined
    vocab = Vocabulary()
    ids = vocab.encode(tokens)
    s = vocab.index[sep]  # there is one: at least two texts
    is_sep = ids == s
    lengths = np.diff(np.flatnonzero(np.concatenate(([True], is_sep, [True])))) - 1
    ids = ids[~is_sep]
    ids -= ids > s  # the ids in order of first appearance, the separator left out
    del vocab.tokens[s]
    vocab.index = _Index(zip(vocab.tokens, range(len(vocab.tokens))))
    return TokenizedTexts(ids=ids, lengths=lengths.astype(np.int64), vocab=vocab)


def encode_token_lists(token_lists: list[list[str]], vocab: Vocabulary | None = None) -> TokenizedTexts:
    """Map already-tokenized texts to ids (the step after the tokenizer)."""
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    vocab = Vocabulary() if vocab is None else vocab
    ids = vocab.encode(chain.from_iterable(token_lists))
    return TokenizedTexts(ids=ids, lengths=lengths, vocab=vocab)


def ngram_codes(tt: TokenizedTexts, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Exact int64 codes of every n-gram, in order of position, and the start
    mask they were selected with (``None`` for n = 1: every token)."""
    ids = tt.ids
    if n == 1:
        return ids, None
    mask = tt.start_mask(n)
    m = len(mask)
    if m == 0:
        return np.empty(0, np.int64), mask
    radix = max(len(tt.vocab), 1)
    if radix**n <= _INT63:
        codes = ids[:m].copy()
        for j in range(1, n):
            codes *= radix
            codes += ids[j:j + m]
    else:
        # dense rank of the prefix keeps codes below T * radix < 2**63
        T = len(ids)
        codes = ids.copy()
        for j in range(1, n):
            k = T - j
            _, rank = np.unique(codes[:k], return_inverse=True)
            codes = rank.astype(np.int64).reshape(-1) * radix + ids[j:j + k]
    return codes[mask], mask


def select_keys(token_keys: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Per-token keys (text or group index) for the n-grams chosen by ``mask``."""
    return token_keys if mask is None else token_keys[:len(mask)][mask]


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
            # codes too wide to pack with the key: replace them by their dense rank (< number of n-grams),
            # then pack; two plain sorts instead of a lexsort, and identical counts
            rank = np.unique(codes, return_inverse=True)[1].reshape(-1).astype(np.int64)
            span = int(rank.max()) + 1
            s = np.sort(keys * span + rank)
            starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
            run_key = s[starts] // span
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


def ngram_totals(codes: np.ndarray, keys: np.ndarray | None, n_keys: int, n: int,
                 radix: int | None = None) -> NgramTotals:
    """Distinct n-grams, occurrences and sum of c*ln(c) per key.

    With ``radix`` (an exclusive bound on the codes) small enough, counting is
    a ``bincount`` (linear time) instead of a sort.
    """
    if keys is None or n_keys == 1:
        if radix is not None and radix <= 4 * len(codes) + 1024:
            bc = np.bincount(codes, minlength=radix)
            c = bc[bc > 0]
        else:
            c = count_runs(codes, None, 1)[1]
        c = c.astype(np.float64)
        return NgramTotals(n=n, unique=np.array([len(c)], np.int64), total=np.array([len(codes)], np.int64),
                           sum_clogc=np.array([float((c * np.log(c)).sum())]))
    run_key, run_count = count_runs(codes, keys, n_keys)
    c = run_count.astype(np.float64)
    return NgramTotals(n=n, unique=np.bincount(run_key, minlength=n_keys).astype(np.int64),
                       total=np.bincount(run_key, weights=c, minlength=n_keys).astype(np.int64),
                       sum_clogc=np.bincount(run_key, weights=c * np.log(c), minlength=n_keys))


@dataclass(frozen=True)
class NgramRuns:
    """Every distinct (n-gram, text) pair, sorted by n-gram (lexicographic in token ids) then by
    text, with its count. Integer arrays are int32 (int64 from 2**31 tokens on)."""

    n: int
    n_texts: int
    code: np.ndarray  # the dense rank of the n-gram, from 1 (equal n-grams, equal codes)
    text: np.ndarray  # the text holding it
    count: np.ndarray  # its occurrences in that text
    lengths: np.ndarray | None = field(default=None, compare=False, repr=False)  # tokens per text

    def segments(self, key_of_text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(start, key)`` of every segment of runs with equal (n-gram, key), for keys that do not
        decrease with the text index; kept for the last ``key_of_text`` (the same array object)."""
        got = self.__dict__.get("_segments")
        if got is not None and got[0] is key_of_text:
            return got[1]
        key = np.asarray(key_of_text).astype(self.text.dtype)[self.text]  # keys < texts: int32 when texts are
        cut = changes(key)
        cut[1:] |= self.code[1:] != self.code[:-1]
        seg = np.flatnonzero(cut)
        self.__dict__["_segments"] = (key_of_text, (seg, key[seg]))
        return seg, key[seg]


def ngram_runs(tt: TokenizedTexts, n: int) -> NgramRuns:
    """All n-grams sorted by (n-gram, text): what self-BLEU's clipping needs, and from which the
    n-gram statistics of any grouping of consecutive texts follow (:func:`totals_from_runs`).

    The n-gram starts come sorted by (n-gram, position) from :func:`~diversity.text.ngram_sort.sorted_starts` (one radix
    pass per order, no comparison sort); a run is cut where the n-gram or the text changes."""
    N, idx = len(tt.lengths), index_type(tt)
    st = sorted_starts(tt, n) if len(tt.ids) >= n else None
    if st is None or len(st.pos) == 0:
        empty = np.empty(0, idx)
        return NgramRuns(n, N, empty, empty, empty)
    cut = changes(st.text)
    cut[1:] |= st.rank[1:] != st.rank[:-1]
    starts = np.flatnonzero(cut).astype(idx)
    count = np.empty(len(starts), dtype=idx)
    np.subtract(starts[1:], starts[:-1], out=count[:-1])
    count[-1] = len(st.pos) - starts[-1]
    return NgramRuns(n, N, st.rank[starts], st.text[starts], count, tt.lengths)


def totals_from_runs(runs: NgramRuns, key_of_text: np.ndarray, n_keys: int) -> NgramTotals:
    """:class:`NgramTotals` per key, for keys that do not decrease with the text index (groups of
    consecutive texts, or the texts themselves): the same counts as :func:`ngram_totals`.

    A segment is a run of equal (n-gram, key) (:meth:`NgramRuns.segments`); with the texts as keys
    every run is one. Segments seen once add c * ln(c) = 0 and are skipped in that sum (the other
    terms are added in the same order, so the sums are the same floats)."""
    if len(runs.code) == 0:
        zeros = np.zeros(n_keys, np.int64)
        return NgramTotals(n=runs.n, unique=zeros, total=zeros.copy(), sum_clogc=np.zeros(n_keys))
    per_text = n_keys == runs.n_texts and np.array_equal(key_of_text, np.arange(n_keys))
    if per_text:
        k, c = runs.text, runs.count
    else:
        seg, k = runs.segments(key_of_text)
        c = np.add.reduceat(runs.count, seg)
    if runs.lengths is None:
        total = np.bincount(k, weights=c, minlength=n_keys).astype(np.int64)
    else:  # every n-gram of a text is counted in one of its runs: the total is max(L - n + 1, 0)
        total = np.maximum(runs.lengths.astype(np.int64) - (runs.n - 1), 0)
        if not per_text:
            total = np.bincount(key_of_text, weights=total, minlength=n_keys).astype(np.int64)
    many = c > 1
    cm = c[many].astype(np.float64)
    return NgramTotals(n=runs.n, unique=np.bincount(k, minlength=n_keys).astype(np.int64), total=total,
                       sum_clogc=np.bincount(k[many], weights=cm * np.log(cm), minlength=n_keys))
