"""Texts longer than an embedding model reads: which ones are cut, and embedding them whole.

A sentence-transformers model reads at most ``max_seq_length`` word pieces
(special tokens included; 256 for all-MiniLM-L6-v2) and embeds a longer text
by its beginning. :class:`LongTextMixin` gives an embedder
:meth:`~LongTextMixin.truncated` (which texts are cut, so that a comparison can
report the share per side) and the ``long_text="windows"`` mode: a text is
split at word boundaries into windows the model reads whole, and its vector
is the mean of its windows' vectors weighted by their word pieces
(``long:windows<w>-mean`` in the signature).
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

__all__ = ["LONG_TEXT", "LongTextMixin"]

LONG_TEXT = ("truncate", "windows")


class LongTextMixin:
    """Word-piece counts, truncation flags and windowed embedding for an embedder with ``path``,
    ``_model``, ``_tokenizer``, ``long_text``, ``max_seq_length`` and ``_encode_plain``."""

    @property
    def tokenizer(self):
        """The model's tokenizer (loaded alone, offline, when the model is not loaded)."""
        if self._tokenizer is None:
            own = getattr(self._model, "tokenizer", None) if self._model is not None else None
            if own is not None:
                self._tokenizer = own
            else:
                try:
                    from transformers import AutoTokenizer
                except ImportError as e:
                    raise ImportError("Counting word pieces needs transformers: pip install 'llm-diversity[embed]'") \
                        from e
                old = os.environ.get("HF_HUB_OFFLINE")
                os.environ["HF_HUB_OFFLINE"] = "1"
                try:
                    self._tokenizer = AutoTokenizer.from_pretrained(str(self.path))
                finally:
                    if old is None:
                        del os.environ["HF_HUB_OFFLINE"]
                    else:
                        os.environ["HF_HUB_OFFLINE"] = old
        return self._tokenizer

    def word_pieces(self, texts: Sequence[str]) -> np.ndarray:
        """Word pieces of every text as the model counts them (special tokens included)."""
        texts = list(texts)
        if not texts:
            return np.zeros(0, dtype=np.int64)
        ids = self.tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return np.array([len(x) for x in ids], dtype=np.int64)

    def truncated(self, texts: Sequence[str]) -> list[bool]:
        """For every text, whether the model reads only its beginning (longer than ``max_seq_length``
        word pieces; never with ``long_text="windows"``)."""
        texts = list(texts)
        limit = self.max_seq_length
        if self.long_text == "windows" or not limit:
            return [False] * len(texts)
        return (self.word_pieces(texts) > int(limit)).tolist()

    @property
    def window_size(self) -> int:
        """Word pieces per window: ``max_seq_length`` minus the special tokens the tokenizer adds."""
        limit = int(self.max_seq_length or 512)
        special = len(self.tokenizer("", add_special_tokens=True)["input_ids"])
        return max(1, limit - special)

    def windows(self, text: str) -> list[tuple[str, int]]:
        """``text`` as consecutive windows of at most :attr:`window_size` word pieces, cut between
        words (a single longer word is cut inside), each with its number of word pieces."""
        w = self.window_size
        enc = self.tokenizer(text, add_special_tokens=False, truncation=False, return_offsets_mapping=True,
                             verbose=False)
        offsets = enc["offset_mapping"]
        n = len(offsets)
        if n <= w:
            return [(text, n)]
        words = enc.word_ids()
        out, start = [], 0
        while start < n:
            end = min(start + w, n)
            if end < n:
                cut = end
                while cut > start and words[cut] is not None and words[cut] == words[cut - 1]:
                    cut -= 1
                end = cut if cut > start else end
            out.append((text[offsets[start][0]:offsets[end - 1][1]], end - start))
            start = end
        return out

    def _encode_windows(self, texts: Sequence[str]) -> np.ndarray:
        """Every text embedded whole: the weighted mean of its windows' vectors."""
        texts = list(texts)
        unique = list(dict.fromkeys(texts))
        pieces = [self.windows(t) if t.strip() else [(t, 1)] for t in unique]
        flat = [c for ps in pieces for c, _ in ps]
        vecs = self._encode_plain(flat)
        if not unique:
            return vecs
        pooled, at = [], 0
        for ps in pieces:
            weights = np.array([max(n, 1) for _, n in ps], dtype=np.float64)
            pooled.append(np.average(vecs[at:at + len(ps)].astype(np.float64), axis=0, weights=weights))
            at += len(ps)
        table = np.stack(pooled).astype(np.float32)
        pos = {t: i for i, t in enumerate(unique)}
        return table[[pos[t] for t in texts]]

