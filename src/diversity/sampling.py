"""Sampling completions from a model into a resumable JSONL file.

One row per completion: ``prompt_id``, ``task``, ``prompt``, ``completion``,
``model``, ``settings``, ``sample_index``, ``finish_reason`` and, when asked,
``top_logprobs`` (the top-n log-probabilities of the model's next-token
distribution at every generated position, for :func:`diversity.token_entropy`).
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
  must equal this run's text for its id; rows without a fingerprint (written
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

import dataclasses
import email.utils
import hashlib
import http.client
import json
import math
import os
import sys
import time
import urllib.error
import urllib.request
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol, Sequence, Union

from ._version import __version__

__all__ = ["DecodingConfig", "Generation", "Prompt", "TransformersBackend", "OpenAIBackend", "sample_to_jsonl",
           "load_prompts", "prompt_seed", "read_meta", "settings_fingerprint", "ResumeError", "EndpointError"]


class ResumeError(ValueError):
    """An existing sample file cannot be resumed by this run; the message names ``file:line``.

    Raised before anything is written: the file and its sidecar are left as
    they were.
    """


class EndpointError(ConnectionError):
    """An HTTP endpoint failed or gave an answer that holds no usable completions.

    The message names the URL, the HTTP status (when there was one), the
    server's own error message and the number of attempts; the same facts are
    attributes (``url``, ``status``, ``server_message``, ``attempts``).
    """

    def __init__(self, message: str, *, url: str = "", status: int | None = None, server_message: str | None = None,
                 attempts: int | None = None) -> None:
        super().__init__(message)
        self.url, self.status, self.server_message, self.attempts = url, status, server_message, attempts


@dataclass(frozen=True)
class DecodingConfig:
    """Everything that changes what is sampled (recorded in the sidecar)."""

    k: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64
    seed: int = 0
    top_logprobs: int = 0
    chat_template: bool | None = None  # None: the model's chat template if it has one
    base_template: str = "Question: {prompt}\nAnswer:"
    stop: tuple[str, ...] = ("\nQuestion:",)

    def __post_init__(self) -> None:
        if not (isinstance(self.k, int) and self.k >= 1):
            raise ValueError(f"k must be a positive int, got {self.k!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0 (sampling), got {self.temperature!r}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if not (isinstance(self.max_new_tokens, int) and self.max_new_tokens >= 1):
            raise ValueError(f"max_new_tokens must be a positive int, got {self.max_new_tokens!r}")
        if "{prompt}" not in self.base_template:
            raise ValueError("base_template must contain '{prompt}'")
        # one spelling per setting, so that temperature=1 and 1.0 give the same fingerprint
        object.__setattr__(self, "temperature", float(self.temperature))
        object.__setattr__(self, "top_p", float(self.top_p))
        object.__setattr__(self, "stop", tuple(self.stop))


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str
    task: str = "open"


@dataclass
class Generation:
    text: str
    finish_reason: str
    top_logprobs: list[list[float]] | None = None


def prompt_seed(seed: int, prompt_id: str) -> int:
    """The seed of one prompt: stable across runs, processes and resumes."""
    return (seed * 1_000_003 + zlib.crc32(prompt_id.encode("utf-8"))) % (2**32)


def _settings(model_id: str, decoding: DecodingConfig | Mapping[str, Any], prompt_format: str) -> dict[str, Any]:
    if not isinstance(decoding, DecodingConfig):
        try:
            decoding = DecodingConfig(**decoding)
        except (TypeError, ValueError):  # a sidecar from another version: compare it as written
            return json.loads(json.dumps({"model": model_id, "decoding": dict(decoding),
                                          "prompt_format": prompt_format}))
    return json.loads(json.dumps({"model": model_id, "decoding": dataclasses.asdict(decoding),
                                  "prompt_format": prompt_format}))


def settings_fingerprint(model_id: str, decoding: DecodingConfig | Mapping[str, Any], prompt_format: str) -> str:
    """The ``settings`` field of every row: what changes the samples, in 16 hex digits.

    The first 16 hex digits of the SHA-256 of the canonical JSON (sorted keys,
    no spaces, UTF-8) of ``{"model": model_id, "decoding": <every
    DecodingConfig field>, "prompt_format": prompt_format}``. ``decoding`` may
    be the ``"decoding"`` dict of a sidecar.

    >>> a = settings_fingerprint("m", DecodingConfig(temperature=1), "base-template")
    >>> a == settings_fingerprint("m", {"temperature": 1.0}, "base-template"), len(a)
    (True, 16)
    """
    canonical = json.dumps(_settings(model_id, decoding, prompt_format), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _cut(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class Backend(Protocol):
    model_id: str

    def prompt_format(self, config: DecodingConfig) -> str: ...

    def generate(self, prompt: str, config: DecodingConfig, seed: int) -> list[Generation]: ...


class TransformersBackend:
    """Sample with Hugging Face transformers from a local folder or GGUF file (CPU or GPU).

    Parameters
    ----------
    model : path
        A model folder, or a ``.gguf`` file (loaded with ``gguf_file=``,
        de-quantized; needs the ``gguf`` and ``accelerate`` packages).
    model_id : str or None
        Name recorded in the rows (default: the folder or file name).
    """

    def __init__(self, model: Union[str, os.PathLike], *, model_id: str | None = None, device: str = "cpu",
                 dtype: str = "float32") -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:  # pragma: no cover
            raise ImportError("TransformersBackend needs torch and transformers: pip install torch transformers") from e
        path = Path(model)
        kw: dict[str, Any] = {}
        folder = path
        if path.suffix == ".gguf":
            folder, kw["gguf_file"] = path.parent, path.name
        if not folder.exists():
            raise FileNotFoundError(f"no model at {str(path)!r}")
        self.model_id = model_id or path.name
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, **kw)
        self.model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True,
                                                          dtype=getattr(torch, dtype), **kw).to(device)
        self.model.eval()
        self.device = device
        self._torch = torch

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def _use_chat(self, config: DecodingConfig) -> bool:
        if config.chat_template is None:
            return self.has_chat_template
        if config.chat_template and not self.has_chat_template:
            raise ValueError(f"{self.model_id} has no chat template; use chat_template=False (base template).")
        return config.chat_template

    def prompt_format(self, config: DecodingConfig) -> str:
        return "chat-template" if self._use_chat(config) else "base-template"

    def render(self, prompt: str, config: DecodingConfig) -> str:
        if self._use_chat(config):
            return self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                                      add_generation_prompt=True)
        return config.base_template.format(prompt=prompt)

    def generate(self, prompt: str, config: DecodingConfig, seed: int) -> list[Generation]:
        torch = self._torch
        text = self.render(prompt, config)
        enc = self.tokenizer([text] * config.k, return_tensors="pt", add_special_tokens=not self._use_chat(config))
        enc = {k: v.to(self.device) for k, v in enc.items()}
        tok = self.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        torch.manual_seed(seed)
        with torch.no_grad():
            out = self.model.generate(**enc, do_sample=True, temperature=config.temperature, top_p=config.top_p,
                                      top_k=0, max_new_tokens=config.max_new_tokens, pad_token_id=pad,
                                      return_dict_in_generate=True, output_logits=config.top_logprobs > 0)
        start = enc["input_ids"].shape[1]
        eos = set([tok.eos_token_id] if isinstance(tok.eos_token_id, int) else (tok.eos_token_id or []))
        gen_eos = getattr(self.model.generation_config, "eos_token_id", None)
        eos |= set([gen_eos] if isinstance(gen_eos, int) else (gen_eos or []))
        results = []
        for i in range(config.k):
            ids = out.sequences[i, start:].tolist()
            n = next((j for j, t in enumerate(ids) if t in eos), None)
            ended = n is not None
            ids = ids[:n] if ended else ids
            raw = tok.decode(ids, skip_special_tokens=True)
            textout, stopped = _cut(raw, config.stop)
            lps = None
            if config.top_logprobs > 0:
                n_pos = len(ids) if not stopped else len(tok(textout, add_special_tokens=False)["input_ids"])
                lps = []
                for j in range(min(n_pos, len(out.logits))):
                    logp = torch.log_softmax(out.logits[j][i].float(), dim=-1)
                    top = torch.topk(logp, config.top_logprobs).values
                    lps.append([round(float(v), 5) for v in top])
            results.append(Generation(textout, "stop" if (ended or stopped) else "length", lps))
        return results


def _clip(text: str, n: int = 300) -> str:
    return " ".join(text.split())[:n]


def _server_message(body: bytes) -> str:
    """The server's own error message: ``{"error": {"message": ...}}``, ``{"error": "..."}``, or the body's start."""
    text = body.decode("utf-8", errors="replace")
    try:
        obj = json.loads(text)
    except ValueError:
        return _clip(text)
    if isinstance(obj, dict) and obj.get("error"):
        err = obj["error"]
        if isinstance(err, dict) and err.get("message"):
            return _clip(str(err["message"]))
        return _clip(err if isinstance(err, str) else json.dumps(err, ensure_ascii=False))
    return _clip(text)


def _retry_after(value: str | None) -> float | None:
    """Seconds asked for by ``Retry-After`` (delta-seconds or an HTTP date); ``None`` when absent or unreadable."""
    if value is None:
        return None
    try:
        secs = float(value)
    except ValueError:
        try:
            secs = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return max(0.0, secs) if math.isfinite(secs) else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class OpenAIBackend:
    """Sample from an OpenAI-compatible HTTP endpoint (vLLM, llama.cpp server, TGI...).

    Parameters
    ----------
    base_url : str
        E.g. ``"http://127.0.0.1:8000/v1"``.
    model : str
        The served model name (sent in requests and recorded in rows).
    chat : bool
        ``True``: ``/chat/completions`` (the server applies the chat
        template); ``False``: ``/completions`` with the base template.
    timeout : float
        Seconds per attempt (connecting and reading).
    retries : int
        Retries after the first attempt (``0``: one attempt). Only what is
        transient is retried: HTTP 408, 429 and 5xx, refused or reset
        connections, timeouts and truncated bodies.
    retry_delay : float
        Seconds before the first retry; each further retry waits twice as
        long, up to ``max_retry_delay``. A ``Retry-After`` header replaces
        the delay, also capped at ``max_retry_delay``.
    max_retry_delay : float
        The longest wait between two attempts, in seconds.

    Raises :class:`EndpointError` when the endpoint fails (after the retries,
    or at once for a non-transient status such as 404) or answers without
    ``n`` usable completions.
    """

    def __init__(self, base_url: str, model: str, *, chat: bool, api_key: str | None = None,
                 timeout: float = 300.0, retries: int = 3, retry_delay: float = 1.0,
                 max_retry_delay: float = 60.0) -> None:
        if not (isinstance(retries, int) and not isinstance(retries, bool) and retries >= 0):
            raise ValueError(f"retries must be an int >= 0 (retries after the first attempt), got {retries!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        if not (retry_delay >= 0 and max_retry_delay >= 0):
            raise ValueError(f"retry_delay and max_retry_delay must be >= 0 seconds, got {retry_delay!r} and "
                             f"{max_retry_delay!r}")
        self.base_url = base_url.rstrip("/")
        self.model_id = model
        self.chat = chat
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay

    def prompt_format(self, config: DecodingConfig) -> str:
        return "chat-template (server)" if self.chat else "base-template"

    def _post(self, route: str, body: dict) -> dict:
        url = self.base_url + route
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode("utf-8")
        attempts = self.retries + 1
        last = ""
        last_status: int | None = None
        last_message: str | None = None
        for attempt in range(1, attempts + 1):
            req = urllib.request.Request(url, data=data, headers=headers, method="POST")
            wait: float | None = None
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    status = resp.status
                    raw = resp.read()
            except urllib.error.HTTPError as e:
                try:
                    raw = e.read()
                except (OSError, http.client.HTTPException):
                    raw = b""
                last_status, last_message = e.code, _server_message(raw) or str(e.reason)
                last = f"HTTP {e.code}: {last_message}"
                if not (e.code in (408, 429) or e.code >= 500):
                    raise EndpointError(f"{url} answered HTTP {e.code}: {last_message} (after "
                                        f"{_plural(attempt, 'attempt')}; not retried)", url=url, status=e.code,
                                        server_message=last_message, attempts=attempt) from None
                wait = _retry_after(e.headers.get("Retry-After") if e.headers else None)
            except (OSError, http.client.HTTPException) as e:  # refused, reset, timed out, truncated body
                reason = e.reason if isinstance(e, urllib.error.URLError) else e
                last_status, last_message = None, None
                last = (reason if isinstance(reason, str) else
                        f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__)
            else:
                return self._decode(url, status, raw, attempt)
            if attempt < attempts:
                if wait is None:
                    wait = self.retry_delay * 2 ** (attempt - 1)
                time.sleep(min(wait, self.max_retry_delay))
        raise EndpointError(f"{url} failed after {_plural(attempts, 'attempt')}: {last}", url=url, status=last_status,
                            server_message=last_message, attempts=attempts)

    @staticmethod
    def _decode(url: str, status: int, raw: bytes, attempt: int) -> dict:
        try:
            obj = json.loads(raw.decode("utf-8"))
        except ValueError:
            msg = _server_message(raw)
            raise EndpointError(f"{url} answered HTTP {status} with a body that is not JSON: {msg!r} (after "
                                f"{_plural(attempt, 'attempt')})", url=url, status=status, server_message=msg,
                                attempts=attempt) from None
        if isinstance(obj, dict) and obj.get("error"):
            msg = _server_message(raw)
            raise EndpointError(f"{url} answered HTTP {status} with an error: {msg} (after "
                                f"{_plural(attempt, 'attempt')})", url=url, status=status, server_message=msg,
                                attempts=attempt)
        if not isinstance(obj, dict):
            raise EndpointError(f"{url} answered HTTP {status} with JSON that is not an object: "
                                f"{_server_message(raw)!r}", url=url, status=status, attempts=attempt)
        return obj

    def generate(self, prompt: str, config: DecodingConfig, seed: int) -> list[Generation]:
        body: dict[str, Any] = {"model": self.model_id, "n": config.k, "temperature": config.temperature,
                                "top_p": config.top_p, "max_tokens": config.max_new_tokens, "seed": seed}
        if self.chat:
            route = "/chat/completions"
            body["messages"] = [{"role": "user", "content": prompt}]
            if config.top_logprobs:
                body["logprobs"], body["top_logprobs"] = True, config.top_logprobs
        else:
            route = "/completions"
            body["prompt"] = config.base_template.format(prompt=prompt)
            if config.stop:
                body["stop"] = list(config.stop)
            if config.top_logprobs:
                body["logprobs"] = config.top_logprobs
        resp = self._post(route, body)
        url = self.base_url + route

        def fail(what: str) -> EndpointError:
            return EndpointError(f"{url} answered HTTP 200 but {what}", url=url, status=200)

        choices = resp.get("choices")
        if not isinstance(choices, list):
            keys = ", ".join(sorted(map(str, resp))) or "none"
            raise fail(f"without a 'choices' list (keys: {keys})")
        if len(choices) != config.k:
            raise fail(f"with {len(choices)} choices, expected n={config.k}")
        by_index: dict[int, dict] = {}
        for pos, c in enumerate(choices):
            i = c.get("index", pos) if isinstance(c, dict) else None
            if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < config.k or i in by_index:
                raise fail(f"choice {pos} is not an object with a new index in 0..{config.k - 1} "
                           f"({_clip(json.dumps(c), 100)})")
            by_index[i] = c
        out = []
        for i in range(config.k):
            c = by_index[i]
            if self.chat:
                message = c.get("message")
                if not isinstance(message, dict):
                    raise fail(f"choice {i} has no message; a missing completion is not stored as an empty one")
                text, where, name = message.get("content"), message, "message.content"
            else:
                text, where, name = c.get("text"), c, "text"
            if not isinstance(text, str):
                state = "missing" if name.rsplit(".", 1)[-1] not in where else f"{json.dumps(text)}"
                raise fail(f"choice {i} has no completion ({name} is {state}); a missing completion is not stored "
                           "as an empty one")
            text, stopped = _cut(text, config.stop)
            lps = None
            if config.top_logprobs:
                try:
                    lp = c.get("logprobs") or {}
                    if self.chat:
                        lps = [sorted((float(t["logprob"]) for t in pos.get("top_logprobs", [])), reverse=True)
                               for pos in lp.get("content") or []]
                    else:
                        lps = [sorted(map(float, d.values()), reverse=True) for d in lp.get("top_logprobs") or []]
                except (KeyError, TypeError, AttributeError, ValueError) as e:
                    raise fail(f"choice {i} has malformed logprobs ({type(e).__name__}: {e})") from None
            reason = "stop" if stopped else c.get("finish_reason") or "stop"
            out.append(Generation(text, str(reason), lps))
        return out


def load_prompts(path: Union[str, os.PathLike]) -> list[Prompt]:
    """Prompts from JSONL rows ``{"id": ..., "prompt": ..., "task": ...}`` (ids must be unique)."""
    prompts, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                p = Prompt(str(row["id"]), str(row["prompt"]), str(row.get("task", "open")))
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
          sidecar: dict | None, sidecar_state: str) -> _Scan:
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
                    config: DecodingConfig = DecodingConfig(), *, progress: bool = True,
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
    """
    out = Path(out)
    prompts = list(prompts)
    texts: dict[str, str] = {}
    for p in prompts:
        if p.id in texts:
            raise ValueError(f"duplicate prompt id {p.id!r}: every prompt needs its own id")
        texts[p.id] = p.text
    fmt = backend.prompt_format(config)
    current = _settings(backend.model_id, config, fmt)
    fp = settings_fingerprint(backend.model_id, config, fmt)
    mp = _meta_path(out)
    sidecar, sidecar_state = _read_sidecar(mp)
    scan = _scan(out, config, current, fp, texts, sidecar, sidecar_state)

    out.parent.mkdir(parents=True, exist_ok=True)
    if scan.tail:
        damaged = out.with_name(out.name + ".damaged")
        _fsync_append(damaged, scan.tail + b"\n")
        with open(out, "r+b") as f:
            f.truncate(scan.size)
            f.flush()
            os.fsync(f.fileno())
        warnings.warn(f"{out}:{scan.tail_line}: CUT OFF A TORN LAST LINE ({len(scan.tail)} bytes that are not a "
                      f"complete row: the write in flight when a run was interrupted); its bytes were saved to "
                      f"{damaged}; the prompt's missing rows are sampled again.", RuntimeWarning, stacklevel=2)
    elif scan.add_newline:
        _fsync_append(out, b"\n")

    meta = dict(current, library=f"diversity {__version__}", n_prompts=len(prompts))
    meta.update(extra_meta or {})
    meta.update(started=time.strftime("%Y-%m-%dT%H:%M:%S%z"), command=" ".join(sys.argv))
    stale = sidecar is None or settings_fingerprint(sidecar["model"], sidecar["decoding"],
                                                    sidecar["prompt_format"]) != fp

    def write_sidecar() -> None:
        if mp.exists():
            warnings.warn(f"{mp}: replaced a sidecar ({sidecar_state or 'of other settings'}) that did not describe "
                          f"the rows of {out.name}.", RuntimeWarning, stacklevel=3)
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
            gens = backend.generate(p.text, config, prompt_seed(config.seed, p.id))
            if len(gens) != k:
                raise ValueError(f"{backend.model_id}: the backend returned {len(gens)} completions, expected k={k}")
            lines = []
            for i in missing:
                g = gens[i]
                row = {"prompt_id": p.id, "task": p.task, "prompt": p.text, "completion": g.text,
                       "model": backend.model_id, "settings": fp, "sample_index": i, "finish_reason": g.finish_reason}
                if g.top_logprobs is not None:
                    row["top_logprobs"] = g.top_logprobs
                lines.append(json.dumps(row, ensure_ascii=False) + "\n")
            f.write("".join(lines))
            f.flush()
            os.fsync(f.fileno())
            if stale:
                write_sidecar()
                stale = False
            n_complete += 1
            if progress:
                print(f"[{backend.model_id}] {n_complete}/{len(prompts)} prompts "
                      f"({time.perf_counter() - t0:.1f} s: {p.id})", file=sys.stderr, flush=True)
    return out
