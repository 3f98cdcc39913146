"""Fairness of a comparison: prompts paired by key, the same number of
completions per prompt on every side, and length control.

Length control (``length=``):

* ``"full"``: completions as given;
* ``"truncate:<n>"``: every completion cut after its first n tokens;
* ``"match"``: per prompt, both sides' completions are sorted by length (then
  text) and paired rank by rank, and both members of a pair are cut to the
  shorter one's length. Both sides then have the same multiset of lengths per
  prompt, so equal token counts per prompt and equal length distributions; a
  completion is cut only as far as its partner requires.

Cutting returns a prefix of the original text (:meth:`Tokenizer.truncate`),
never tokens re-joined with spaces. The setting is written into every
metric's signature (``len:full``, ``len:trunc50``, ``len:match``).
"""

from __future__ import annotations

import re
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from ..core.data import as_groups
from ..core.errors import InvalidParameterError
from ..stats.seeding import key_rng, text_order
from ..text.tokenize import Tokenizer

__all__ = ["prompt_map", "subsample", "parse_length", "apply_length", "mean_tokens", "LENGTH_RATIO"]

LENGTH_RATIO = 1.5  # mean lengths further apart than this trigger the length warning


def prompt_map(x: Any, name: str) -> dict[Hashable, tuple[str, ...]]:
    """Completions by prompt key (a single set cannot be compared prompt by prompt)."""
    g = as_groups(x, name=name)
    if not g.grouped:
        raise ValueError(f"{name} must be grouped by prompt (a mapping prompt -> completions) to be compared "
                         "prompt by prompt; got a single set.")
    return dict(zip(g.keys, g.sets))


def subsample_indices(texts: Sequence[str], k: int, seed: int, key: Hashable, side: str) -> list[int]:
    """Indices of k of the completions: drawn over the completions in text order by a generator seeded
    by (seed, side, prompt key), so the subset never depends on the order they were listed in."""
    if len(texts) <= k:
        return list(range(len(texts)))
    order = text_order(list(texts))
    pick = np.sort(key_rng(seed, key, f"subsample:{side}").choice(len(texts), size=k, replace=False))
    return [int(i) for i in order[pick]]


def subsample(texts: Sequence[str], k: int, seed: int, key: Hashable, side: str) -> list[str]:
    """The completions at :func:`subsample_indices`."""
    return [texts[i] for i in subsample_indices(texts, k, seed, key, side)]


def parse_length(length: str | None, max_tokens: int | None, func: str) -> tuple[str, int | None]:
    """``("full" | "truncate" | "match", n)`` from ``length=`` (or the older ``max_tokens=``)."""
    if max_tokens is not None:
        if length not in (None, "full"):
            raise InvalidParameterError(f"{func}: give length= or max_tokens=, not both.")
        length = f"truncate:{max_tokens}"
    length = length or "full"
    m = re.fullmatch(r"truncate:(\d+)", length) if isinstance(length, str) else None
    if m and int(m.group(1)) >= 1:
        return "truncate", int(m.group(1))
    if length in ("full", "match"):
        return length, None
    raise InvalidParameterError(f"The 'length' parameter of {func} must be 'full', 'match' or 'truncate:<n>' with "
                                f"n >= 1. Got {length!r} instead.")


def length_field(mode: str, n: int | None) -> str:
    return {"full": "full", "match": "match"}.get(mode, f"trunc{n}")


def apply_length(sides: Sequence[Mapping[Hashable, list[str]]], mode: str, n: int | None,
                 tokenizer: Tokenizer) -> list[dict[Hashable, list[str]]]:
    """The completions of every side after length control (sides share their prompt keys)."""
    return apply_length_with_order(sides, mode, n, tokenizer)[0]


def apply_length_with_order(sides: Sequence[Mapping[Hashable, list[str]]], mode: str, n: int | None,
                            tokenizer: Tokenizer) -> tuple[list[dict[Hashable, list[str]]], list[dict[Hashable, list[int]]]]:
    """As :func:`apply_length`, with the index (in the input lists) of every completion returned,
    so that per-completion values (quality, rewards) follow their completions."""
    if mode in ("full", "truncate"):
        texts = [dict(s) if mode == "full" else {p: [tokenizer.truncate(t, n) for t in ts] for p, ts in s.items()}
                 for s in sides]
        return texts, [{p: list(range(len(ts))) for p, ts in s.items()} for s in sides]
    out: list[dict[Hashable, list[str]]] = [{} for _ in sides]
    index: list[dict[Hashable, list[int]]] = [{} for _ in sides]
    for p in sides[0]:
        ranked = []
        for s in sides:
            lens = [len(tokenizer(t)) for t in s[p]]
            order = sorted(range(len(s[p])), key=lambda i: (lens[i], s[p][i]))
            ranked.append([(s[p][i], lens[i], i) for i in order])
        for r in range(min(len(x) for x in ranked)):
            budget = min(x[r][1] for x in ranked)
            for side, idx, x in zip(out, index, ranked):
                side.setdefault(p, []).append(tokenizer.truncate(x[r][0], budget) if budget else "")
                idx.setdefault(p, []).append(x[r][2])
    return out, index


def mean_tokens(side: Mapping[Hashable, Sequence[str]], tokenizer: Tokenizer, lowercase: bool) -> float:
    lens = [len(tokenizer(t.lower() if lowercase else t)) for ts in side.values() for t in ts]
    return float(np.mean(lens)) if lens else float("nan")
