"""Sampling completions from a model into a resumable JSONL file.

One row per completion: ``prompt_id``, ``task``, ``prompt``, ``completion``,
``model``, ``settings``, ``sample_index``, ``finish_reason`` and, when asked,
``top_logprobs`` (the top-n log-probabilities of the model's next-token
distribution at every generated position, for :func:`diversity.token_entropy`)
and, for a prompt with a forced ``prefix``, ``prefix`` (the completion is then
the continuation after it).
``settings`` is a fingerprint of everything that changes what is sampled (the
model id, the :class:`DecodingConfig` and the prompt format; see
:func:`settings_fingerprint`). Those settings themselves, the library version
and the command line go into a sidecar ``<file>.meta.json``.

Prompt format. Aligned (chat) models are prompted through their chat
template; base models, which have none, as plain text continuation of a
documented zero-shot template (default ``"Question: {prompt}\\nAnswer:"``),
and their continuation is cut at the template's next turn
(``"\\nQuestion:"``). The format used is recorded, because the template alone
moves diversity.

Resuming. All completions of a prompt are written in one write followed by
fsync, so an interrupted run loses at most the prompt in flight. Each prompt
has its own seed (derived from ``seed`` and the prompt id), so a resumed run
writes what an uninterrupted one would have. Before sampling, every existing
row is read and checked; rows on disk are never rewritten:

- a row's ``settings`` must equal this run's fingerprint and its ``prompt``
  (and ``prefix``) must equal this run's text (and prefix) for its id; rows without a fingerprint (written
  by diversity 0.1) must be vouched for by a sidecar with this run's
  settings. Otherwise :class:`ResumeError` names the file, the line and,
  when the sidecar can tell, the setting that differs;
- a line that is not a valid row, followed by anything, and a
  ``(prompt_id, sample_index)`` written twice are :class:`ResumeError`; the
  file is left byte-for-byte as it was;
- the tail after the last newline, when it is not a complete row, is the
  write in flight of a crash: its bytes are appended (plus a newline) to
  ``<file>.damaged``, then it is cut off, with a :class:`RuntimeWarning`. A
  complete last row that lacks only its newline is kept and the newline added;
- per prompt, only the missing ``sample_index`` values are sampled again (the
  prompt is regenerated with its own seed and only the missing rows are
  appended at the end).

The sidecar is written (atomically) once the file holds at least one row, so a
run that wrote nothing (say, a mistyped model name) blocks nothing; a missing
sidecar next to valid fingerprinted rows is recreated.

Backends: :class:`TransformersBackend` (a local Hugging Face folder or GGUF
file; extras ``hf`` + torch) and :class:`OpenAIBackend` (any
OpenAI-compatible HTTP endpoint: vLLM, llama.cpp server, TGI), standard
library only. :class:`OpenAIBackend` retries what is transient (HTTP 408,
429, 5xx, refused or reset connections, timeouts, truncated bodies) with
exponential backoff, honouring ``Retry-After`` (capped at
``max_retry_delay``), and fails with :class:`EndpointError` naming the URL,
the HTTP status, the server's own message and the number of attempts. A
choice without a completion (``null`` or absent text) is an error, never an
empty completion.
"""


from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Union

from .._version import __version__
from .config import (Backend, DecodingConfig, Prompt, ResumeError, _clip, _settings, prompt_seed,
                     settings_fingerprint)
from ..core.errors import warn as _warn_user

__all__ = ["sample_to_jsonl", "load_prompts", "read_meta"]


def load_prompts(path: Union[str, os.PathLike]) -> list[Prompt]:
    """Prompts from JSONL rows ``{"id": ..., "prompt": ..., "task": ..., "prefix": ...}`` (ids must be
    unique; ``task`` and ``prefix``, a forced start of the completions, are optional)."""
    prompts, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                p = Prompt(str(row["id"]), str(row["prompt"]), str(row.get("task", "open")),
                           str(row.get("prefix", "") or ""))
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise ValueError(f"{path}:{lineno}: a prompt row needs 'id' and 'prompt' ({e})") from None
            if p.id in seen:
                raise ValueError(f"{path}:{lineno}: duplicate prompt id {p.id!r}")
            seen.add(p.id)
            prompts.append(p)
    return prompts


def _meta_path(out: Path) -> Path:
    return out.with_name(out.name + ".meta.json")


def read_meta(out: Union[str, os.PathLike]) -> dict[str, Any]:
    """The sidecar metadata of a sample file."""
    return json.loads(_meta_path(Path(out)).read_text(encoding="utf-8"))


_ROW_FIELDS = {"prompt_id": str, "prompt": str, "completion": str, "model": str, "finish_reason": str}


def _parse_row(raw: bytes) -> tuple[dict | None, str]:
    """A row, or ``None`` and what is wrong with the line."""
    try:
        row = json.loads(raw)
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        return None, f"not JSON: {e}"
    if not isinstance(row, dict):
        return None, "not a JSON object"
    for name, kind in _ROW_FIELDS.items():
        if not isinstance(row.get(name), kind):
            return None, f"no {name!r} string"
    idx = row.get("sample_index")
    if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0:
        return None, "no 'sample_index' int >= 0"
    if "settings" in row and not isinstance(row["settings"], str):
        return None, "'settings' is not a string"
    return row, ""


def _read_sidecar(mp: Path) -> tuple[dict | None, str]:
    if not mp.exists():
        return None, "missing"
    try:
        meta = json.loads(mp.read_text(encoding="utf-8"))
        if isinstance(meta, dict) and {"model", "decoding", "prompt_format"} <= set(meta) \
                and isinstance(meta["decoding"], dict):
            return meta, ""
    except (OSError, ValueError):
        pass
    return None, "unreadable"


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The settings that differ between two ``_settings`` dicts, as ``name (old in the file, new in this run)``."""
    out = []
    for key in ("model", "prompt_format"):
        if old.get(key) != new[key]:
            out.append(f"{key} ({old.get(key)!r} in the file, {new[key]!r} in this run)")
    od, nd = old.get("decoding") or {}, new["decoding"]
    for key in sorted(set(od) | set(nd), key=lambda k: (k not in nd, k)):
        if od.get(key, "<absent>") != nd.get(key, "<absent>"):
            out.append(f"decoding.{key} ({od.get(key, '<absent>')!r} in the file, {nd.get(key, '<absent>')!r} in "
                       "this run)")
    return out


@dataclass
class _Scan:
    done: dict[str, set[int]] = field(default_factory=dict)  # prompt id -> sample indices on disk
    n_rows: int = 0
    size: int = 0  # bytes up to the end of the last row
    tail: bytes = b""  # a torn last line, to be cut off
    tail_line: int = 0
    add_newline: bool = False  # the last row is complete but lacks its newline


def _scan(out: Path, config: DecodingConfig, current: dict[str, Any], fp: str, texts: dict[str, str],
          sidecar: dict | None, sidecar_state: str, prefixes: dict[str, str] | None = None) -> _Scan:
    """Check every existing row against this run; read only, raises :class:`ResumeError`."""
    scan = _Scan()
    if not out.exists():
        return scan
    side = _settings(sidecar["model"], sidecar["decoding"], sidecar["prompt_format"]) if sidecar else None
    side_fp = settings_fingerprint(side["model"], side["decoding"], side["prompt_format"]) if side else None
    mp = _meta_path(out)
    lines: dict[tuple[str, int], int] = {}
    with open(out, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            at = f"{out}:{lineno}"
            last = not raw.endswith(b"\n")
            if not last and not raw.strip():  # a blank line holds nothing
                scan.size += len(raw)
                continue
            row, problem = _parse_row(raw)
            if row is None:
                if last:  # the write in flight of a crash
                    scan.tail, scan.tail_line = raw, lineno
                    break
                raise ResumeError(f"{at}: not a valid sample row ({problem}); valid rows may follow, so nothing was "
                                  "changed: repair or remove this line by hand, or write to a new file.")
            key = (row["prompt_id"], row["sample_index"])
            if key in lines:
                raise ResumeError(f"{at}: prompt {key[0]!r} sample_index {key[1]} is already on line {lines[key]}; "
                                  "a file with duplicate rows was not written by this sampler: remove one by hand.")
            if row["model"] != current["model"]:
                raise ResumeError(f"{at}: sampled with a different model ({row['model']!r} in the file, "
                                  f"{current['model']!r} in this run); write to a new file instead of mixing settings.")
            if "settings" in row:
                if row["settings"] != fp:
                    diff = _differences(side, current) if side_fp == row["settings"] else []
                    what = ("a different " + ", ".join(diff) if diff else
                            f"different settings (fingerprint {row['settings']} in the file, {fp} in this run; the "
                            f"sidecar {mp.name} is {sidecar_state or 'of other settings'} and cannot tell which)")
                    raise ResumeError(f"{at}: sampled with {what}; write to a new file instead of mixing settings.")
            elif side is None:
                raise ResumeError(f"{at}: this row has no 'settings' fingerprint (written by diversity 0.1) and the "
                                  f"sidecar {mp.name} that could vouch for its settings is {sidecar_state}; "
                                  "write to a new file.")
            elif side_fp != fp:
                diff = _differences(side, current) or ["settings"]
                raise ResumeError(f"{at}: sampled with a different {', '.join(diff)} "
                                  f"(from the sidecar {mp.name}; the row has no fingerprint); write to a new file "
                                  "instead of mixing settings.")
            if row["sample_index"] >= config.k:
                raise ResumeError(f"{at}: sample_index {row['sample_index']} is out of range for k={config.k}.")
            text = texts.get(row["prompt_id"])
            if text is not None and row["prompt"] != text:
                raise ResumeError(f"{at}: prompt {row['prompt_id']!r} has another text in the file "
                                  f"({_clip(row['prompt'], 80)!r}) than in this run ({_clip(text, 80)!r}); "
                                  "write to a new file instead of mixing prompts.")
            prefix = (prefixes or {}).get(row["prompt_id"])
            if prefix is not None and row.get("prefix", "") != prefix:
                raise ResumeError(f"{at}: prompt {row['prompt_id']!r} was sampled with the forced prefix "
                                  f"{str(row.get('prefix', ''))[:80]!r}, this run forces "
                                  f"{prefix[:80]!r}; write to a new file instead of mixing prefixes.")
            lines[key] = lineno
            scan.done.setdefault(key[0], set()).add(key[1])
            scan.n_rows += 1
            scan.size += len(raw)
            scan.add_newline = last
    return scan


def _fsync_append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_meta(mp: Path, meta: dict[str, Any]) -> None:
    tmp = mp.with_name(mp.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(meta, indent=2))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, mp)


def sample_to_jsonl(backend: Backend, prompts: Iterable[Prompt], out: Union[str, os.PathLike],
                    config: DecodingConfig = DecodingConfig(), *, progress: bool | None = None,
                    extra_meta: dict[str, Any] | None = None) -> Path:
    """Sample ``config.k`` completions for every prompt into ``out`` (JSONL), resumably.

    Returns the path. An existing ``out`` is resumed: its rows are checked
    against this run and kept as they are, and only missing
    ``(prompt_id, sample_index)`` rows are sampled and appended (see the
    module docstring). Raises :class:`ResumeError` (before writing anything)
    when a row was sampled with another model, other decoding settings or
    another prompt text, when a line other than the last is not a valid row,
    or when a row is duplicated. A torn last line is saved to
    ``<out>.damaged`` and cut off, with a ``RuntimeWarning``.

    ``progress``: one line per finished prompt on standard error; ``None``
    follows :func:`diversity.set_progress` (automatic: only on a terminal).
    """
    from ..core.progress import show_progress

    out = Path(out)
    prompts = list(prompts)
    show = show_progress(None, own=progress)
    texts: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for p in prompts:
        if p.id in texts:
            raise ValueError(f"duplicate prompt id {p.id!r}: every prompt needs its own id")
        texts[p.id], prefixes[p.id] = p.text, p.prefix
    fmt = backend.prompt_format(config)
    current = _settings(backend.model_id, config, fmt)
    fp = settings_fingerprint(backend.model_id, config, fmt)
    mp = _meta_path(out)
    sidecar, sidecar_state = _read_sidecar(mp)
    scan = _scan(out, config, current, fp, texts, sidecar, sidecar_state, prefixes)

    out.parent.mkdir(parents=True, exist_ok=True)
    if scan.tail:
        damaged = out.with_name(out.name + ".damaged")
        _fsync_append(damaged, scan.tail + b"\n")
        with open(out, "r+b") as f:
            f.truncate(scan.size)
            f.flush()
            os.fsync(f.fileno())
        _warn_user(f"{out}:{scan.tail_line}: CUT OFF A TORN LAST LINE ({len(scan.tail)} bytes that are not a "
                      f"complete row: the write in flight when a run was interrupted); its bytes were saved to "
                      f"{damaged}; the prompt's missing rows are sampled again.", RuntimeWarning)
    elif scan.add_newline:
        _fsync_append(out, b"\n")

    meta = dict(current, library=f"diversity {__version__}", n_prompts=len(prompts))
    meta.update(extra_meta or {})
    meta.update(started=time.strftime("%Y-%m-%dT%H:%M:%S%z"), command=" ".join(sys.argv))
    stale = sidecar is None or settings_fingerprint(sidecar["model"], sidecar["decoding"],
                                                    sidecar["prompt_format"]) != fp

    def write_sidecar() -> None:
        if mp.exists():
            _warn_user(f"{mp}: replaced a sidecar ({sidecar_state or 'of other settings'}) that did not describe "
                          f"the rows of {out.name}.", RuntimeWarning)
        _write_meta(mp, meta)

    if stale and scan.n_rows:  # every row carries this run's fingerprint
        write_sidecar()
        stale = False

    k = config.k
    n_complete = sum(len(scan.done.get(p.id, ())) == k for p in prompts)
    with open(out, "a", encoding="utf-8", newline="\n") as f:
        for p in prompts:
            missing = [i for i in range(k) if i not in scan.done.get(p.id, ())]
            if not missing:
                continue
            t0 = time.perf_counter()
            seed = prompt_seed(config.seed, p.id)
            gens = (backend.generate(p.text, config, seed, prefix=p.prefix) if p.prefix
                    else backend.generate(p.text, config, seed))
            if len(gens) != k:
                raise ValueError(f"{backend.model_id}: the backend returned {len(gens)} completions, expected k={k}")
            lines = []
            for i in missing:
                g = gens[i]
                row = {"prompt_id": p.id, "task": p.task, "prompt": p.text, "completion": g.text,
                       "model": backend.model_id, "settings": fp, "sample_index": i, "finish_reason": g.finish_reason}
                if p.prefix:
                    row["prefix"] = p.prefix
                if g.top_logprobs is not None:
                    row["top_logprobs"] = g.top_logprobs
                for col in ("entropy", "token_logprobs"):  # the full distribution, where the backend has it
                    if getattr(g, col, None) is not None:
                        row[col] = getattr(g, col)
                lines.append(json.dumps(row, ensure_ascii=False) + "\n")
            f.write("".join(lines))
            f.flush()
            os.fsync(f.fileno())
            if stale:
                write_sidecar()
                stale = False
            n_complete += 1
            if show:
                print(f"[{backend.model_id}] {n_complete}/{len(prompts)} prompts "
                      f"({time.perf_counter() - t0:.1f} s: {p.id})", file=sys.stderr, flush=True)
    return out
