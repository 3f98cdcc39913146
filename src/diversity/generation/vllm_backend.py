"""Sampling in-process with vLLM's offline engine (``vllm.LLM``), behind the
resumable sampler (:func:`~diversity.generation.sample_to_jsonl`).

One ``LLM.generate`` call per prompt with ``SamplingParams(n=k, seed=<the
prompt's seed>, ...)``: the k completions of a prompt come from one seeded
request, so a resumed run asks for exactly what an uninterrupted one did.
The engine is built once (``vllm.LLM(model, **llm_kwargs)``) or passed in.

Typed against vLLM's documented offline API (``LLM.generate(prompts,
sampling_params, use_tqdm=...)`` returning ``RequestOutput`` objects whose
``outputs`` are ``CompletionOutput``\\ s with ``index``, ``text``,
``finish_reason`` and, when asked, ``logprobs``: one ``{token_id: Logprob}``
per generated token, ``Logprob.logprob`` and ``Logprob.rank``). vLLM does not
run on the project's machines: request building and output parsing are
tested on outputs in that documented shape; the OpenAI-compatible backend is
the tested path for ``vllm serve``.

Prompt format. With a chat template (the tokenizer's, when it has one and
``chat_template`` is not False) the prompt is rendered by
``tokenizer.apply_chat_template(..., add_generation_prompt=True)`` and sent as
token ids (``{"prompt_token_ids": [...]}``), so no second BOS is added; a base
model gets the documented base template as text. Recorded as
``chat-template`` / ``base-template``, as with the transformers backend.

Log-probabilities. ``top_logprobs=n`` asks vLLM for ``logprobs=n``; vLLM
returns the n most likely tokens of every position plus the sampled token
when it is not among them; rows keep the n most likely (``rank`` <= n),
sorted. They are what vLLM reports (by default the model's raw distribution,
before temperature and top-p), like the OpenAI backend's; the full
distribution's entropy is not available from vLLM.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from ..core.errors import InvalidParameterError
from .config import DecodingConfig, Generation, _clip, _cut

__all__ = ["VLLMBackend"]


class VLLMBackend:
    """Sample with vLLM's offline engine.

    Parameters
    ----------
    model : str or vllm.LLM
        A model name or folder (an engine is built with ``vllm.LLM(model,
        **llm_kwargs)``), or an engine already built.
    model_id : str or None
        Name recorded in the rows (default: ``model`` when a string, else
        the engine's model name).
    llm_kwargs : mapping or None
        Passed to ``vllm.LLM`` (``dtype``, ``tensor_parallel_size``,
        ``gpu_memory_utilization``, ``max_model_len``...).
    sampling_params : callable or None
        What builds the request's parameters (default ``vllm.SamplingParams``).

    Raises
    ------
    ImportError
        ``model`` is a name and vllm is not installed (``pip install 'llm-diversity[vllm]'``).
    ValueError
        From :meth:`generate`, when the engine answers with something other
        than one output holding ``k`` finished completions.
    """

    def __init__(self, model: Any, *, model_id: str | None = None, llm_kwargs: Mapping[str, Any] | None = None,
                 sampling_params: Callable[..., Any] | None = None) -> None:
        if isinstance(model, str):
            if not model:
                raise InvalidParameterError("The 'model' parameter of VLLMBackend must be a model name, a folder or a vllm.LLM. "
                                 "Got '' instead.")
            from ..core.errors import require

            vllm = require("vllm", "vllm", "VLLMBackend")
            self.llm = vllm.LLM(model=model, **dict(llm_kwargs or {}))
            self.model_id = model_id or model
        else:
            if llm_kwargs:
                raise InvalidParameterError("llm_kwargs are for building an engine; VLLMBackend got an engine already built.")
            if not callable(getattr(model, "generate", None)):
                raise InvalidParameterError(f"The 'model' parameter of VLLMBackend must be a model name or a vllm.LLM, got "
                                f"{type(model).__name__}.")
            self.llm = model
            self.model_id = model_id or _engine_model_name(model)
        self._params = sampling_params
        self._tokenizer = None

    # -- prompts ---------------------------------------------------------------------------------------------------

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = self.llm.get_tokenizer()
        return self._tokenizer

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

    def request(self, prompt: str, config: DecodingConfig, seed: int, *, prefix: str = "") -> tuple[Any, dict]:
        """The prompt as vLLM takes it (text, or ``{"prompt_token_ids": [...]}`` for a chat template) and the
        keyword arguments of ``SamplingParams``."""
        if self._use_chat(config):
            ids = list(self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=True,
                                                          add_generation_prompt=True))
            if prefix:
                ids += list(self.tokenizer.encode(prefix, add_special_tokens=False))
            vllm_prompt: Any = {"prompt_token_ids": ids}
        else:
            vllm_prompt = config.base_template.format(prompt=prompt) + prefix
        params: dict[str, Any] = {"n": config.k, "temperature": config.temperature, "top_p": config.top_p,
                                  "max_tokens": config.max_new_tokens, "seed": seed}
        if config.stop:
            params["stop"] = list(config.stop)
        if config.top_logprobs:
            params["logprobs"] = config.top_logprobs
        return vllm_prompt, params

    # -- sampling --------------------------------------------------------------------------------------------------

    def _sampling_params(self, **kw: Any) -> Any:
        if self._params is None:
            from ..core.errors import require

            self._params = require("vllm", "vllm", "VLLMBackend").SamplingParams
        return self._params(**kw)

    def generate(self, prompt: str, config: DecodingConfig, seed: int, *, prefix: str = "") -> list[Generation]:
        """``config.k`` samples for ``prompt`` from one seeded request; ``prefix`` is forced (appended to the
        rendered prompt) and the generations hold the continuation."""
        vllm_prompt, kw = self.request(prompt, config, seed, prefix=prefix)
        outputs = self.llm.generate([vllm_prompt], self._sampling_params(**kw), use_tqdm=False)
        return parse_outputs(outputs, config, self.model_id)


def _engine_model_name(llm: Any) -> str:
    for path in (("llm_engine", "model_config", "model"), ("model_config", "model")):
        obj = llm
        for name in path:
            obj = getattr(obj, name, None)
        if isinstance(obj, str) and obj:
            return obj
    raise ValueError("VLLMBackend could not read the engine's model name; pass model_id=.")


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def parse_outputs(outputs: Any, config: DecodingConfig, model_id: str) -> list[Generation]:
    """``config.k`` :class:`Generation`\\ s from what ``LLM.generate`` returned for one prompt (a list holding
    one ``RequestOutput``); a ``ValueError`` naming the field when it does not fit."""
    where = f"{model_id} (vLLM)"
    if not isinstance(outputs, (list, tuple)) or len(outputs) != 1:
        n = len(outputs) if isinstance(outputs, (list, tuple)) else type(outputs).__name__
        raise ValueError(f"{where}: LLM.generate returned {n} request outputs for one prompt; expected one.")
    completions = _field(outputs[0], "outputs")
    if not isinstance(completions, (list, tuple)):
        raise ValueError(f"{where}: the RequestOutput has no 'outputs' list.")
    if len(completions) != config.k:
        raise ValueError(f"{where}: the RequestOutput holds {len(completions)} completions, expected n={config.k}.")
    by_index: dict[int, Any] = {}
    for pos, c in enumerate(completions):
        i = _field(c, "index")
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < config.k or i in by_index:
            raise ValueError(f"{where}: outputs[{pos}].index is {i!r}; expected a new index in 0..{config.k - 1}.")
        by_index[i] = c
    gens = []
    for i in range(config.k):
        c = by_index[i]
        text = _field(c, "text")
        if not isinstance(text, str):
            raise ValueError(f"{where}: outputs[{i}].text is {_clip(repr(text), 80)}, not a string; a missing "
                             "completion is not stored as an empty one.")
        reason = _field(c, "finish_reason")
        if reason not in ("stop", "length"):
            raise ValueError(f"{where}: outputs[{i}] did not finish (finish_reason={reason!r}); only finished "
                             "completions are stored.")
        text, stopped = _cut(text, config.stop)
        lps = None
        if config.top_logprobs:
            lps = _top_logprobs(_field(c, "logprobs"), config.top_logprobs, f"{where}: outputs[{i}].logprobs")
        gens.append(Generation(text, "stop" if stopped else reason, lps))
    return gens


def _top_logprobs(positions: Any, n: int, where: str) -> list[list[float]]:
    """Per position, the n highest log-probabilities (decreasing) from ``{token_id: Logprob}`` dicts."""
    if not isinstance(positions, (list, tuple)):
        raise ValueError(f"{where} is {type(positions).__name__}; log-probabilities were asked for "
                         f"(top_logprobs={n}), so vLLM must return one dict per generated token.")
    out = []
    for j, pos in enumerate(positions):
        if not isinstance(pos, Mapping) or not pos:
            raise ValueError(f"{where}[{j}] is {_clip(json.dumps(pos, default=str), 80)}; expected a non-empty "
                             "{token_id: Logprob} dict.")
        values = []
        for tok, lp in pos.items():
            value = _field(lp, "logprob") if not isinstance(lp, (int, float)) else lp
            rank = _field(lp, "rank") if not isinstance(lp, (int, float)) else None
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value or value > 0:
                raise ValueError(f"{where}[{j}][{tok!r}].logprob is {value!r}; expected a log-probability <= 0.")
            if rank is None or rank <= n:  # vLLM adds the sampled token when it is outside the top n
                values.append(float(value))
        out.append(sorted(values, reverse=True)[:n])
    return out
