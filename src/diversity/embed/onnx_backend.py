"""ONNX Runtime backends for sentence-transformers models: ``"onnx"`` (fp32) and
``"onnx-int8"`` (dynamic int8 quantisation of the fp32 export).

The model's transformer is exported locally, from the model folder, with
``torch.onnx.export`` (inputs ``input_ids``, ``attention_mask``,
``token_type_ids``; dynamic batch and sequence axes), once per model, weights
hash and backend, into ``<cache dir>/onnx/<model>@<hash>/<backend>/``. Nothing
is downloaded. The pipeline around it is the model's own: its tokenizer
(truncation at ``max_seq_length`` word pieces), mean pooling over the
attention mask (the Pooling module), then L2 normalisation (the Normalize
module). Only models of that shape (Transformer, mean Pooling, optional
Normalize) are supported; anything else is a ``ValueError``.

The export is written to a temporary folder beside its final place and moved
there with one ``os.replace``, so a reader never sees half an export, and two
processes exporting at once both end with the same good copy (the first
rename wins; the other's copy is discarded). ``export.json`` records the
size and SHA-256 of every file; an export that does not match (truncated,
edited, a file missing) is reported once with an :class:`OnnxExportWarning`
and exported again. A cache folder that cannot be written costs a warning:
the export then goes to a temporary folder for this process only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from .cache import EmbeddingCacheWarning
from ..core.errors import warn as _warn_user

__all__ = ["OnnxSentenceModel", "OnnxExportWarning", "BACKENDS", "EXPORT_FORMAT"]

BACKENDS = ("torch", "onnx", "onnx-int8")
"""The backends :class:`~diversity.embed.SentenceTransformerEmbedder` accepts."""

EXPORT_FORMAT = 1
"""Bumped whenever the export procedure changes, so old exports are not reused."""

OPSET = 17


class OnnxExportWarning(EmbeddingCacheWarning):
    """A cached ONNX export was damaged (and is exported again) or could not be cached."""


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_pipeline(folder: Path) -> None:
    """Raise ValueError unless the folder is Transformer -> mean Pooling -> (Normalize)."""
    try:
        modules = sorted(json.loads((folder / "modules.json").read_text()), key=lambda m: m.get("idx", 0))
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        pooling = next(m for m in modules if str(m["type"]).endswith("Pooling"))
        cfg = json.loads((folder / pooling.get("path", "") / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError, StopIteration) as e:
        raise ValueError(f"The ONNX backends need a sentence-transformers model folder with modules.json; "
                         f"{folder} cannot be read as one ({e}).") from e
    modes = [k for k, v in cfg.items() if k.startswith("pooling_mode_") and v]
    if kinds[:2] != ["Transformer", "Pooling"] or kinds[2:] not in ([], ["Normalize"]) \
            or modes != ["pooling_mode_mean_tokens"] or (folder / modules[0].get("path", "")).resolve() != folder.resolve():
        raise ValueError(f"The ONNX backends support Transformer -> mean Pooling -> (Normalize) models with the "
                         f"transformer at the folder's root; {folder} has {kinds} with pooling {modes}. "
                         f"Use backend='torch'.")


class OnnxSentenceModel:
    """A sentence-transformers model run by ONNX Runtime; ``encode`` matches
    ``SentenceTransformer.encode`` for what the embedder uses.

    Parameters
    ----------
    folder : path
        The sentence-transformers model folder (the export is made from it).
    backend : {"onnx", "onnx-int8"}
    export_dir : path
        Where this model's export lives (``<cache dir>/onnx/<model>@<hash>/<backend>``).
    max_seq_length : int
        Word pieces read per text (the model's ``max_seq_length``).
    """

    def __init__(self, folder: os.PathLike, *, backend: str, export_dir: os.PathLike | None,
                 max_seq_length: int) -> None:
        if backend not in ("onnx", "onnx-int8"):
            raise ValueError(f"The 'backend' parameter of OnnxSentenceModel must be 'onnx' or 'onnx-int8'. "
                             f"Got {backend!r} instead.")
        try:
            import onnxruntime  # noqa: F401
        except ImportError as e:
            raise ImportError(f"backend={backend!r} needs onnx and onnxruntime: pip install 'llm-diversity[onnx]'") from e
        self.folder = Path(folder)
        _check_pipeline(self.folder)
        self.backend = backend
        self.max_seq_length = int(max_seq_length)
        self.normalize = any(str(m["type"]).endswith("Normalize")
                             for m in json.loads((self.folder / "modules.json").read_text()))
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.n_exports = 0  # exports made by this object (0 when an existing one was reused)
        path = self._ensure_export()
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder), local_files_only=True)
        cfg = json.loads((self.folder / "config.json").read_text())
        self._dim = int(cfg["hidden_size"])

    # ---- the export -------------------------------------------------------------------------------------

    def _valid(self, target: Path) -> bool:
        """True when ``target`` holds a complete export matching its ``export.json``; False when absent."""
        meta_path = target / "export.json"
        if not target.exists():
            return False
        try:
            meta = json.loads(meta_path.read_text())
            ok = meta.get("format") == EXPORT_FORMAT and meta.get("backend") == self.backend and meta["files"]
            for name, (size, digest) in meta["files"].items():
                p = target / name
                ok = ok and p.is_file() and p.stat().st_size == size and _file_digest(p) == digest
            if ok:
                return True
            why = "its files do not match export.json (truncated or changed)"
        except (OSError, ValueError, KeyError, TypeError) as e:
            why = f"export.json is missing or unreadable ({e.__class__.__name__}: {e})"
        _warn_user(f"The cached ONNX export {target} is damaged: {why}; exporting it again.",
                      OnnxExportWarning)
        self._discard(target)
        return False

    @staticmethod
    def _discard(target: Path) -> None:
        aside = target.with_name(f"{target.name}.damaged-{uuid.uuid4().hex[:8]}")
        try:
            os.replace(target, aside)
        except OSError:
            return  # gone already (another process moved it) or not ours to move
        shutil.rmtree(aside, ignore_errors=True)

    def _ensure_export(self) -> Path:
        if self.export_dir is not None:
            target = self.export_dir
            if self._valid(target):
                return target / "model.onnx"
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
            except OSError as e:
                _warn_user(f"Cannot write the ONNX export to {target.parent} ({e}); exporting to a temporary "
                              f"folder for this process only.", OnnxExportWarning)
            else:
                try:
                    self._export_into(tmp)
                    try:
                        os.replace(tmp, target)
                    except OSError:  # another process renamed its export into place first
                        if not self._valid(target):
                            raise
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
                return target / "model.onnx"
        self._tmp_export = tempfile.TemporaryDirectory(prefix="diversity-onnx-")
        tmp = Path(self._tmp_export.name)
        self._export_into(tmp)
        return tmp / "model.onnx"

    def _export_into(self, out: Path) -> None:
        """Export the transformer (and quantise it for ``onnx-int8``) into the empty folder ``out``."""
        import torch
        from sentence_transformers import SentenceTransformer

        old = os.environ.get("HF_HUB_OFFLINE")
        os.environ["HF_HUB_OFFLINE"] = "1"
        try:
            from ..core.progress import quiet_model_loading

            with quiet_model_loading():
                st = SentenceTransformer(str(self.folder), device="cpu")
        finally:
            if old is None:
                del os.environ["HF_HUB_OFFLINE"]
            else:
                os.environ["HF_HUB_OFFLINE"] = old
        hf = st[0].auto_model.eval()

        class _Wrapped(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.m(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids, return_dict=True).last_hidden_state

        prep = getattr(st, "preprocess", None) or st.tokenize  # tokenize is deprecated in sentence-transformers 6
        enc = prep(["an example sentence to trace the graph", "a second one"])
        args = tuple(enc[k] for k in ("input_ids", "attention_mask", "token_type_ids"))
        fp32 = out / ("model.onnx" if self.backend == "onnx" else "fp32.onnx")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_Wrapped(hf), args, str(fp32), input_names=["input_ids", "attention_mask", "token_type_ids"],
                              output_names=["last_hidden_state"], opset_version=OPSET, dynamo=False,
                              dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                            "attention_mask": {0: "batch", 1: "sequence"},
                                            "token_type_ids": {0: "batch", 1: "sequence"},
                                            "last_hidden_state": {0: "batch", 1: "sequence"}})
        if self.backend == "onnx-int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(out / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul"])
            for p in out.iterdir():
                if p.name != "model.onnx":
                    p.unlink() if p.is_file() else shutil.rmtree(p)
        files = {p.name: [p.stat().st_size, _file_digest(p)] for p in sorted(out.iterdir()) if p.is_file()}
        meta = {"format": EXPORT_FORMAT, "backend": self.backend, "opset": OPSET, "torch": torch.__version__,
                "files": files}
        with open(out / "export.json", "w") as f:
            json.dump(meta, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        self.n_exports += 1

    # ---- the SentenceTransformer.encode subset the embedder uses ---------------------------------------

    def get_sentence_embedding_dimension(self) -> int:
        return self._dim

    def tokenize(self, texts: Sequence[str]) -> dict:
        return self.tokenizer(list(texts), padding=True, truncation="longest_first",
                              max_length=self.max_seq_length, return_tensors="np")

    def encode(self, texts: Sequence[str], *, batch_size: int = 32, show_progress_bar: bool = False,
               convert_to_numpy: bool = True) -> np.ndarray:
        texts = list(texts)
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for b in range(0, len(texts), batch_size):
            idx = order[b:b + batch_size]
            enc = self.tokenize([texts[i] for i in idx])
            feed = {k: np.asarray(enc[k], dtype=np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")
                    if k in self._inputs}
            if "token_type_ids" in self._inputs and "token_type_ids" not in enc:
                feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
            (hidden,) = self.session.run(["last_hidden_state"], feed)
            mask = feed["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            if self.normalize:
                pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[idx] = pooled
        return out
