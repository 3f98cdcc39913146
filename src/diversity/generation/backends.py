"""Sampling backends: local Hugging Face models and GGUF files
(:class:`TransformersBackend`) and any OpenAI-compatible HTTP endpoint
(:class:`OpenAIBackend`, standard library only, with retries)."""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Union

from .config import DecodingConfig, EndpointError, Generation, _clip, _cut
from .config import retry_after as _retry_after, server_message as _server_message
from ..core.errors import warn as _warn_user

__all__ = ["TransformersBackend", "OpenAIBackend"]


class TransformersBackend:
    """Sample with Hugging Face transformers from a local folder or GGUF file (CPU or GPU).

    Parameters
    ----------
    model : path
        A model folder, or a ``.gguf`` file (loaded with ``gguf_file=``,
        de-quantized; needs the ``gguf`` and ``accelerate`` packages).
    model_id : str or None
        Name recorded in the rows (default: the folder or file name).

    The tokenizer loads at once (the prompt format and the resume checks need
    it); the weights load on the first generation, so a resumed run whose rows
    are all written never loads them.
    """

    def __init__(self, model: Union[str, os.PathLike], *, model_id: str | None = None, device: str = "cpu",
                 dtype: str = "float32") -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:  # pragma: no cover
            raise ImportError("TransformersBackend needs torch and transformers: pip install torch, then "
                              "pip install 'llm-diversity[sample]'") from e
        path = Path(model)
        kw: dict[str, Any] = {}
        folder = path
        if path.suffix == ".gguf":
            folder, kw["gguf_file"] = path.parent, path.name
        if not folder.exists():
            raise FileNotFoundError(f"no model at {str(path)!r}")
        self.model_id = model_id or path.name
        from ..core.progress import quiet_model_loading

        with quiet_model_loading():
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, **kw)
        self._load = (AutoModelForCausalLM, str(folder), getattr(torch, dtype), kw)
        self._model = None
        self.device = device
        self._torch = torch

    @property
    def model(self) -> Any:
        """The causal language model, loaded (and de-quantized for GGUF) on first use."""
        if self._model is None:
            from ..core.progress import quiet_model_loading

            auto, folder, dtype, kw = self._load
            with quiet_model_loading():
                self._model = auto.from_pretrained(folder, local_files_only=True, dtype=dtype, **kw).to(self.device)
            self._model.eval()
        return self._model

    def _continuation(self, context: list[int], ids: list[int], head: str | None = None) -> str:
        return _decode_continuation(self.tokenizer, context, ids, head)

    def _positions(self, context: list[int], ids: list[int], n_chars: int, head: str | None = None) -> int:
        """How many of the generated ``ids`` lie within the first ``n_chars`` characters of the continuation
        (the text kept before a stop string): the largest m whose decoded continuation is no longer. Counted
        by decoding, not by re-tokenizing the kept text, which can split differently (a SentencePiece
        tokenizer encodes " Ana" as two tokens, where the model wrote one)."""
        lo, hi = 0, len(ids)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if len(self._continuation(context, ids[:mid], head)) <= n_chars:
                lo = mid
            else:
                hi = mid - 1
        return lo

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

    def generate(self, prompt: str, config: DecodingConfig, seed: int, *, prefix: str = "") -> list[Generation]:
        """``config.k`` samples for ``prompt``; ``prefix`` is forced: appended to the rendered prompt
        (tokenized with it) so that the model continues it; the generations hold the continuation."""
        torch = self._torch
        text = self.render(prompt, config) + prefix
        enc = self.tokenizer([text] * config.k, return_tensors="pt", add_special_tokens=not self._use_chat(config))
        enc = {k: v.to(self.device) for k, v in enc.items()}
        tok = self.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        torch.manual_seed(seed)
        with torch.no_grad():
            out = self.model.generate(**enc, do_sample=True, temperature=config.temperature, top_p=config.top_p,
                                      top_k=0, max_new_tokens=config.max_new_tokens, pad_token_id=pad,
                                      return_dict_in_generate=True, output_logits=config.top_logprobs > 0,
                                      output_scores=config.top_logprobs > 0)
        start = enc["input_ids"].shape[1]
        eos = set([tok.eos_token_id] if isinstance(tok.eos_token_id, int) else (tok.eos_token_id or []))
        gen_eos = getattr(self.model.generation_config, "eos_token_id", None)
        eos |= set([gen_eos] if isinstance(gen_eos, int) else (gen_eos or []))
        # the k contexts are one prompt (no padding): its decoded text is computed once
        context = enc["input_ids"][0].tolist()
        head = tok.decode(context, skip_special_tokens=True)
        results = []
        for i in range(config.k):
            ids = out.sequences[i, start:].tolist()
            n = next((j for j, t in enumerate(ids) if t in eos), None)
            ended = n is not None
            ids = ids[:n] if ended else ids
            raw = self._continuation(context, ids, head)
            textout, stopped = _cut(raw, config.stop)
            lps = ent = tlp = None
            if config.top_logprobs > 0:
                n_pos = len(ids) if not stopped else self._positions(context, ids, len(textout), head)
                lps, ent, tlp = [], [], []
                for j in range(min(n_pos, len(out.logits))):
                    logp = torch.log_softmax(out.logits[j][i].float(), dim=-1)
                    top = torch.topk(logp, config.top_logprobs).values
                    lps.append([round(float(v), 5) for v in top])
                    h, lt = _sampling_entropy(torch, out.scores[j][i], ids[j])
                    ent.append(round(h, 6))
                    tlp.append(round(lt, 6))
            results.append(Generation(textout, "stop" if (ended or stopped) else "length", lps, ent, tlp))
        return results


def _sampling_entropy(torch: Any, scores: Any, token: int) -> tuple[float, float]:
    """The entropy (nats) of the distribution a token was sampled from, and that token's log-probability.

    ``scores`` are Hugging Face's processed scores of one position (after temperature and top-p/top-k: the
    distribution ``generate`` samples from), over the whole vocabulary; tokens a processor filtered out are
    ``-inf`` and have probability 0 (they add nothing, where a naive ``p * log p`` would give NaN).
    """
    logp = torch.log_softmax(scores.double(), dim=-1)
    p = logp.exp()
    h = -torch.where(p > 0, p * logp, torch.zeros_like(p)).sum()
    return max(float(h), 0.0), float(logp[token])


def _decode_continuation(tok: Any, context: list[int], ids: list[int], head: str | None = None) -> str:
    """The text the generated ``ids`` add after ``context``: the decoded whole minus the decoded context.

    Decoding the new ids alone loses what a tokenizer writes only between tokens: a SentencePiece
    (Metaspace) decoder drops the leading space of a first token ``▁Ana``, so a continuation of
    ``"Name:"`` would read ``"Ana"`` and a forced prefix built from it ``"Name:Ana"``, a context the
    model never wrote. Falls back to the ids alone when the whole does not start with the context.
    ``head`` is the decoded context, when the caller has it already.
    """
    if head is None:
        head = tok.decode(context, skip_special_tokens=True)
    whole = tok.decode(context + ids, skip_special_tokens=True)
    if whole.startswith(head):
        return whole[len(head):]
    _warn_user("TransformersBackend: the decoded prompt is not a prefix of the decoded prompt and "
                  "continuation (the tokenizer cleans up text across the boundary); this continuation was "
                  "decoded alone, and may have lost a leading space.", RuntimeWarning)
    return tok.decode(ids, skip_special_tokens=True)


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

    def generate(self, prompt: str, config: DecodingConfig, seed: int, *, prefix: str = "") -> list[Generation]:
        """``config.k`` samples for ``prompt``. A forced ``prefix`` needs the completions endpoint
        (``chat=False``): it is appended to the prompt text, and the generations hold the continuation."""
        if prefix and self.chat:
            raise ValueError(f"{self.model_id}: a forced prefix needs the completions endpoint (chat=False): a chat "
                             "endpoint cannot be made to continue a given start of the answer portably.")
        body: dict[str, Any] = {"model": self.model_id, "n": config.k, "temperature": config.temperature,
                                "top_p": config.top_p, "max_tokens": config.max_new_tokens, "seed": seed}
        if self.chat:
            route = "/chat/completions"
            body["messages"] = [{"role": "user", "content": prompt}]
            if config.top_logprobs:
                body["logprobs"], body["top_logprobs"] = True, config.top_logprobs
        else:
            route = "/completions"
            body["prompt"] = config.base_template.format(prompt=prompt) + prefix
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
