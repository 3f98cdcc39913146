"""A seeded generator of realistic completions for the speed benchmarks.

Vocabulary and word frequencies are real English: the words of the Python
documentation that ships with CPython (``pydoc_data.topics``), so no download
is needed. Each completion has 20-120 words drawn by their real frequency,
with stock phrases (8-word windows of the same text) spliced in, as LLM
outputs repeat phrases, and punctuation.
"""

from __future__ import annotations

import re

import numpy as np


def _source_words() -> list[str]:
    from pydoc_data.topics import topics

    text = " ".join(topics[k] for k in sorted(topics))
    return re.findall(r"[A-Za-z]+(?:'[a-z]+)?", text)


def make_corpus(n: int, seed: int = 0, *, min_words: int = 20, max_words: int = 120,
                n_phrases: int = 300, phrase_rate: float = 0.15) -> list[str]:
    """``n`` completions, deterministic for a given ``seed``."""
    rng = np.random.default_rng(seed)
    words = _source_words()
    vocab, counts = np.unique(np.array([w.lower() for w in words]), return_counts=True)
    p = counts / counts.sum()
    starts = rng.integers(0, len(words) - 8, size=n_phrases)
    phrases = [" ".join(words[s:s + 8]) for s in starts]
    lengths = rng.integers(min_words, max_words + 1, size=n)
    draws = rng.choice(len(vocab), size=int(lengths.sum()), p=p)
    out, pos = [], 0
    punct = np.array([",", ".", ";", "!", "?"])
    for L in lengths:
        ws = list(vocab[draws[pos:pos + L]])
        pos += L
        i = 0
        while i < len(ws):
            if rng.random() < phrase_rate / 8:
                ws[i:i + 8] = phrases[rng.integers(n_phrases)].split()
                i += 8
            elif rng.random() < 0.06:
                ws[i] = ws[i] + punct[rng.integers(5)]
                i += 1
            else:
                i += 1
        out.append(" ".join(ws[:L]).capitalize() + ".")
    return out
