"""Sampling completions from a model into a resumable JSONL file.

One row per completion: ``prompt_id``, ``prompt``, ``completion``, ``model``,
``sample_index``, ``finish_reason`` and, when asked, ``top_logprobs`` (the
top-n log-probabilities of the model's next-token distribution at every
generated position, for :func:`diversity.token_entropy`). The decoding
settings, the model and the prompt format go into a sidecar
``<file>.meta.json``; resuming with other settings is an error.

Prompt format. Aligned (chat) models are prompted through their chat
template; base models, which have none, as plain text continuation of a
documented zero-shot template (default ``"Question: {prompt}\\nAnswer:"``),
and their continuation is cut at the template's next turn
(``"\\nQuestion:"``). The format used is recorded, because the template alone
moves diversity.

Resuming. All completions of a prompt are written in one write followed by
fsync, so an interrupted run loses at most the prompt in flight; a rerun
skips finished prompts and drops a torn last line. Each prompt has its own
seed (derived from ``seed`` and the prompt id), so a resumed run writes what
an uninterrupted one would have.

Backends: :class:`TransformersBackend` (a local Hugging Face folder or GGUF
file; extras ``hf`` + torch) and :class:`OpenAIBackend` (any
OpenAI-compatible HTTP endpoint: vLLM, llama.cpp server, TGI), standard
library only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence, Union

from ._version import __version__

__all__ = ["DecodingConfig", "Generation", "Prompt", "TransformersBackend", "OpenAIBackend", "sample_to_jsonl",
           "load_prompts", "prompt_seed", "read_meta"]


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
    """

    def __init__(self, base_url: str, model: str, *, chat: bool, api_key: str | None = None,
                 timeout: float = 300.0, retries: int = 3) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_id = model
        self.chat = chat
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.timeout = timeout
        self.retries = retries

    def prompt_format(self, config: DecodingConfig) -> str:
        return "chat-template (server)" if self.chat else "base-template"

    def _post(self, route: str, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode("utf-8")
        last: Exception | None = None
        for attempt in range(self.retries):
            req = urllib.request.Request(self.base_url + route, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as e:
                if e.code < 500:
                    raise ValueError(f"{self.base_url}{route} answered {e.code}: {e.read()[:300]!r}") from None
                last = e
            except (urllib.error.URLError, TimeoutError) as e:
                last = e
            time.sleep(min(2**attempt, 10))
        raise ConnectionError(f"{self.base_url}{route} failed after {self.retries} tries: {last}")

    def generate(self, prompt: str, config: DecodingConfig, seed: int) -> list[Generation]:
        body: dict[str, Any] = {"model": self.model_id, "n": config.k, "temperature": config.temperature,
                                "top_p": config.top_p, "max_tokens": config.max_new_tokens, "seed": seed}
        if self.chat:
            body["messages"] = [{"role": "user", "content": prompt}]
            if config.top_logprobs:
                body["logprobs"], body["top_logprobs"] = True, config.top_logprobs
            resp = self._post("/chat/completions", body)
        else:
            body["prompt"] = config.base_template.format(prompt=prompt)
            if config.stop:
                body["stop"] = list(config.stop)
            if config.top_logprobs:
                body["logprobs"] = config.top_logprobs
            resp = self._post("/completions", body)
        choices = sorted(resp.get("choices", []), key=lambda c: c.get("index", 0))
        if len(choices) != config.k:
            raise ValueError(f"the endpoint returned {len(choices)} choices, expected n={config.k}")
        out = []
        for c in choices:
            text = c["message"]["content"] if self.chat else c["text"]
            text, stopped = _cut(text or "", config.stop)
            lps = None
            if config.top_logprobs:
                lp = c.get("logprobs") or {}
                if self.chat:
                    lps = [sorted((t["logprob"] for t in pos.get("top_logprobs", [])), reverse=True)
                           for pos in lp.get("content") or []]
                else:
                    lps = [sorted(d.values(), reverse=True) for d in lp.get("top_logprobs") or []]
            reason = "stop" if stopped else c.get("finish_reason") or "stop"
            out.append(Generation(text, reason, lps))
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


def _existing(out: Path) -> dict[str, int]:
    """Completed rows per prompt id; a torn last line (crash mid-write) is cut off."""
    counts: dict[str, int] = {}
    if not out.exists():
        return counts
    good_bytes = 0
    with open(out, "rb") as f:
        for raw in f:
            try:
                row = json.loads(raw)
            except json.JSONDecodeError:
                break
            if not raw.endswith(b"\n"):
                break
            counts[row["prompt_id"]] = counts.get(row["prompt_id"], 0) + 1
            good_bytes += len(raw)
    if good_bytes != out.stat().st_size:
        with open(out, "r+b") as f:
            f.truncate(good_bytes)
    return counts


def sample_to_jsonl(backend: Backend, prompts: Iterable[Prompt], out: Union[str, os.PathLike],
                    config: DecodingConfig = DecodingConfig(), *, progress: bool = True,
                    extra_meta: dict[str, Any] | None = None) -> Path:
    """Sample ``config.k`` completions for every prompt into ``out`` (JSONL), resumably.

    Returns the path. Raises ``ValueError`` when ``out`` was started with a
    different model or decoding settings, or holds an incomplete prompt
    (which cannot come from this writer).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    prompts = list(prompts)
    fmt = backend.prompt_format(config)
    meta = {"model": backend.model_id, "decoding": dataclasses.asdict(config), "prompt_format": fmt,
            "library": f"diversity {__version__}", "n_prompts": len(prompts)}
    meta.update(extra_meta or {})
    mp = _meta_path(out)
    if mp.exists():
        old = json.loads(mp.read_text(encoding="utf-8"))
        for key in ("model", "decoding", "prompt_format"):
            if json.loads(json.dumps(old.get(key))) != json.loads(json.dumps(meta[key])):
                raise ValueError(f"{out} was sampled with a different {key} ({old.get(key)!r}); "
                                 "write to a new file instead of mixing settings.")
    else:
        tmp = mp.with_name(mp.name + ".tmp")
        tmp.write_text(json.dumps(dict(meta, started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                       command=" ".join(sys.argv)), indent=2), encoding="utf-8")
        os.replace(tmp, mp)
    done = _existing(out)
    partial = [p for p, n in done.items() if n != config.k]
    if partial:
        raise ValueError(f"{out} has prompts with {done[partial[0]]} rows instead of k={config.k} "
                         f"(e.g. {partial[0]!r}); it was not written by this sampler with these settings.")
    todo = [p for p in prompts if p.id not in done]
    with open(out, "a", encoding="utf-8") as f:
        for n_done, p in enumerate(todo, 1):
            t0 = time.perf_counter()
            gens = backend.generate(p.text, config, prompt_seed(config.seed, p.id))
            lines = []
            for i, g in enumerate(gens):
                row = {"prompt_id": p.id, "task": p.task, "prompt": p.text, "completion": g.text,
                       "model": backend.model_id, "sample_index": i, "finish_reason": g.finish_reason}
                if g.top_logprobs is not None:
                    row["top_logprobs"] = g.top_logprobs
                lines.append(json.dumps(row, ensure_ascii=False) + "\n")
            f.write("".join(lines))
            f.flush()
            os.fsync(f.fileno())
            if progress:
                print(f"[{backend.model_id}] {len(done) + n_done}/{len(prompts)} prompts "
                      f"({time.perf_counter() - t0:.1f} s: {p.id})", file=sys.stderr, flush=True)
    return out
