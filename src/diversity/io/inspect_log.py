"""inspect-ai eval logs as library rows (see :mod:`diversity.io.formats`): ``.eval`` files (a zip
holding ``header.json`` and ``samples/<id>_epoch_<n>.json``, members stored with deflate or, since
2025, Zstandard) and ``.json`` logs (one object with ``eval`` and ``samples``)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Iterator

from .formats import _content, _fields, _messages, _short, render_prompt
from .lines import SampleFileError

__all__ = ["inspect_rows"]


def inspect_rows(path: Path) -> Iterator[tuple[str, dict]]:
    if path.suffix.lower() == ".eval" or zipfile.is_zipfile(path):
        header, samples = _inspect_zip(path)
    else:
        from .reader import parse_json

        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise SampleFileError(f"{path}: not UTF-8 text at byte {e.start}; an inspect-ai JSON log is UTF-8.") \
                from None
        log = parse_json(text, str(path))
        if not isinstance(log, dict) or "eval" not in log:
            raise SampleFileError(f"{path}: not an inspect-ai eval log: no 'eval' object (fields: "
                                  f"{_fields(log) if isinstance(log, dict) else type(log).__name__}).")
        if not isinstance(log.get("samples"), list):
            raise SampleFileError(f"{path}: the inspect-ai log holds no 'samples' (written with --no-log-samples, "
                                  "or read header-only); there are no completions to read.")
        header = log
        samples = [(f"{path} samples[{i}]", s) for i, s in enumerate(log["samples"])]
    ev = header.get("eval") if isinstance(header.get("eval"), dict) else {}
    model, task = ev.get("model"), ev.get("task")
    order: dict[Any, int] = {}
    items = []
    for loc, s in samples:
        if not isinstance(s, dict):
            raise SampleFileError(f"{loc}: expected an inspect-ai sample object, got {type(s).__name__}.")
        for field in ("id", "epoch", "input", "output"):
            if field not in s:
                raise SampleFileError(f"{loc}: not an inspect-ai sample: no {field!r} field (fields: {_fields(s)}).")
        order.setdefault(s["id"], len(order))
        items.append((order[s["id"]], s["epoch"] if isinstance(s["epoch"], int) else 0, loc, s))
    if not items:
        raise SampleFileError(f"{path}: the inspect-ai log holds no samples.")
    counters: dict[Any, int] = {}
    for _, _, loc, s in sorted(items, key=lambda t: (t[0], t[1])):
        sid, epoch = s["id"], s["epoch"]
        if s.get("error"):
            err = s["error"].get("message") if isinstance(s["error"], dict) else s["error"]
            raise SampleFileError(f"{loc}: sample {sid!r} epoch {epoch} ended in an error ({_short(err, 120)}); it has "
                                  "no completion to read. Rerun it, or drop it from the log explicitly.")
        prompt = s["input"] if isinstance(s["input"], str) else render_prompt(
            _messages(s["input"], loc, "input"))
        choices = s["output"].get("choices") if isinstance(s["output"], dict) else None
        if not isinstance(choices, list) or not choices:
            raise SampleFileError(f"{loc}: sample {sid!r} epoch {epoch} has no output ('output.choices' is "
                                  f"{_short(choices)}).")
        for c, choice in enumerate(choices):
            message = choice.get("message") if isinstance(choice, dict) else None
            if not isinstance(message, dict) or "content" not in message:
                raise SampleFileError(f"{loc}: 'output.choices[{c}].message.content' is missing.")
            text = _content(message["content"], loc, f"output.choices[{c}].message.content", skip_reasoning=True)
            j = counters.get(sid, 0)
            counters[sid] = j + 1
            row = {"prompt": prompt, "prompt_id": sid, "completion": text, "sample_index": j, "epoch": epoch}
            if model is not None:
                row["model"] = model
            if task is not None:
                row["task"] = task
            yield loc, row


ZIP_ZSTANDARD = 93  # the compression method of .eval members written by recent inspect-ai versions


def _member(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes; Zstandard members (which Python's zipfile reads only from 3.14) through ``zstandard``."""
    if info.compress_type != ZIP_ZSTANDARD:
        return z.read(info)
    from ..core.errors import require

    zstd = require("zstandard", "inspect", "reading an inspect-ai .eval log (Zstandard-compressed)")
    f = z.fp
    f.seek(info.header_offset)
    local = f.read(30)
    if local[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header of {info.filename}")
    start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
    f.seek(start)
    data = zstd.ZstdDecompressor().decompressobj().decompress(f.read(info.compress_size))
    if len(data) != info.file_size:
        raise zipfile.BadZipFile(f"{info.filename} decompressed to {len(data)} bytes, not {info.file_size}")
    return data


def _inspect_zip(path: Path) -> tuple[dict, list[tuple[str, Any]]]:
    from .reader import parse_json

    def load(z: zipfile.ZipFile, name: str) -> Any:
        return parse_json(_member(z, z.getinfo(name)).decode("utf-8"), f"{path}:{name}")

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            header = load(z, "header.json") if "header.json" in names else (
                load(z, "_journal/start.json") if "_journal/start.json" in names else {})
            members = [n for n in names if n.startswith("samples/") and n.endswith(".json")]
            if not members:
                raise SampleFileError(f"{path}: the inspect-ai log holds no samples/*.json (written with "
                                      "--no-log-samples?); there are no completions to read.")
            samples = [(f"{path}:{n}", load(z, n)) for n in members]
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError, NotImplementedError) as e:
        raise SampleFileError(f"{path}: not a readable inspect-ai .eval log ({type(e).__name__}: {e}).") from None
    return header if isinstance(header, dict) else {}, samples
