"""The on-disk embedding cache: vectors keyed by the SHA-256 of the text, one
folder per model and revision, written in chunks as encoding proceeds. Each
shard records its namespace; a shard of another namespace found in a folder
(two namespaces whose folder names coincide, or a file copied by hand) is
never served.

See :mod:`diversity.embed` for the guarantees (a crash loses at most the
chunk in flight; an unusable folder degrades to no cache with one warning;
shards that do not fit are set aside, damaged ones removed once reported).
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import uuid
from pathlib import Path
from typing import Sequence, Union

import numpy as np
from ..core.errors import warn as _warn_user


__all__ = ["EmbeddingCache", "EmbeddingCacheWarning", "default_cache_dir", "text_key", "STALE_TMP_SECONDS"]

STALE_TMP_SECONDS = 600.0
"""Age after which a ``tmp-*.npz`` file counts as left by an interrupted write."""


class EmbeddingCacheWarning(RuntimeWarning):
    """A problem with the on-disk embedding cache; the embeddings returned are unaffected."""


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
    * a shard written for another namespace is skipped (left in place, one
      warning); shards written before namespaces were recorded are served;
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
        self.namespace = str(namespace)
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
        _warn_user(message, EmbeddingCacheWarning)

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
        foreign: dict[str, list[Path]] = {}
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
                keys, vecs, namespace = _parse_shard(data)
            except Exception as e:  # a damaged file must not poison later runs
                damaged.append((path, e))
                continue
            if namespace is not None and namespace != self.namespace:
                foreign.setdefault(namespace, []).append(path)
                continue
            self._shards.append((path, keys, vecs))
        for namespace, paths in sorted(foreign.items()):
            new = [p for p in paths if p not in self._reported]
            if new:
                self._reported.update(new)
                self._warn(f"skipping {len(new)} embedding cache file(s) in {self.directory} written for "
                           f"{namespace!r}, not {self.namespace!r}: {_names(new)} (left in place, never served "
                           "here)")
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
                np.savez(f, keys=np.array(keys, dtype="S64"), vecs=vecs, namespace=np.array(self.namespace))
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


def _parse_shard(data: bytes) -> tuple[list[bytes], np.ndarray, str | None]:
    """Keys, vectors and namespace (None in shards written before namespaces were recorded)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        keys, vecs = z["keys"], z["vecs"]
        namespace = z["namespace"] if "namespace" in z.files else None
    if namespace is not None:
        if namespace.ndim != 0 or namespace.dtype.kind != "U":
            raise ValueError(f"namespace is not a string (shape {namespace.shape}, dtype {namespace.dtype})")
        namespace = str(namespace)
    if keys.ndim != 1 or keys.dtype.kind != "S":
        raise ValueError(f"keys are not a 1-D byte-string array (shape {keys.shape}, dtype {keys.dtype})")
    if vecs.ndim != 2 or vecs.dtype.kind != "f" or vecs.shape[1] < 1:
        raise ValueError(f"vectors are not a 2-D float array (shape {vecs.shape}, dtype {vecs.dtype})")
    if len(keys) != len(vecs):
        raise ValueError(f"keys and vectors differ in length ({len(keys)} and {len(vecs)})")
    if not np.isfinite(vecs).all():
        raise ValueError("vectors contain NaN or infinity")
    return keys.tolist(), vecs.astype(np.float32, copy=False), namespace
