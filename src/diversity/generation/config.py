"""Sampling settings and records: the decoding configuration, prompts,
generations, per-prompt seeds, the settings fingerprint every row carries,
and the library's errors for resuming and endpoints."""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import json
import math
import time
import zlib
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence


__all__ = ["server_message", "retry_after", "DecodingConfig", "Generation", "Prompt", "Backend", "prompt_seed", "settings_fingerprint", "ResumeError",
           "EndpointError"]


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
    """A prompt to sample; ``prefix`` (optional) is a forced start of every
    completion: it is appended to the rendered prompt, the model continues
    it, and the stored completion is the continuation alone (the row records
    the prefix). Perturbation experiments (attractor states) use it."""

    id: str
    text: str
    task: str = "open"
    prefix: str = ""


@dataclass
class Generation:
    """One sampled completion; ``entropy`` (nats) and ``token_logprobs``, one per kept position, are the full
    sampling distribution's entropy and the sampled token's log-probability under it, where the backend has the
    full distribution (local models)."""

    text: str
    finish_reason: str
    top_logprobs: list[list[float]] | None = None
    entropy: list[float] | None = None
    token_logprobs: list[float] | None = None


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
    # backends that support forced prefixes also take ``prefix: str`` (keyword): the start of every
    # completion, appended to the rendered prompt; the generations hold the continuation only


def _clip(text: str, n: int = 300) -> str:
    return " ".join(text.split())[:n]


# ---- shared by the clients of OpenAI-compatible servers (the sampler's OpenAIBackend, embed.openai) ----------

def server_message(body: bytes, limit: int = 300) -> str:
    """The server's own error message: ``{"error": {"message": ...}}``, ``{"error": "..."}``, or the body's
    start, on one line and at most ``limit`` characters."""
    text = body.decode("utf-8", errors="replace")
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict) and obj.get("error"):
        err = obj["error"]
        text = str(err["message"]) if isinstance(err, dict) and err.get("message") else (
            err if isinstance(err, str) else json.dumps(err, ensure_ascii=False))
    return _clip(text, limit)


def retry_after(value: str | None) -> float | None:
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

