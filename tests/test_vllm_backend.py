"""VLLMBackend without vLLM: request building and output parsing on outputs in vLLM's documented shape
(tests/data/vllm/request_outputs.json, hand-written: vLLM cannot run here), and the resumable sampler
driven by a stand-in engine that answers like ``vllm.LLM.generate``."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from diversity.generation import DecodingConfig, Prompt, prompt_seed, sample_to_jsonl
from diversity.generation.vllm_backend import VLLMBackend, parse_outputs

RECORDED = json.loads((Path(__file__).parent / "data" / "vllm" / "request_outputs.json").read_text())


def as_objects(x):
    """JSON -> objects with attributes, like vLLM's (dicts of token id -> Logprob stay dicts)."""
    if isinstance(x, dict) and all(k.isdigit() for k in x):
        return {int(k): as_objects(v) for k, v in x.items()}
    if isinstance(x, dict):
        return SimpleNamespace(**{k: as_objects(v) for k, v in x.items()})
    if isinstance(x, list):
        return [as_objects(v) for v in x]
    return x


class Params:
    """Stands in for vllm.SamplingParams: keeps its keyword arguments."""

    def __init__(self, **kw):
        self.kw = kw


class Tokenizer:
    def __init__(self, template=True):
        self.chat_template = "{{ bos }}{% for m in messages %}<u>{{ m.content }}{% endfor %}<a>" if template else None

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        assert tokenize and add_generation_prompt
        return [1] + [ord(c) for c in messages[0]["content"]] + [2]  # 1: BOS, 2: the assistant header

    def encode(self, text, add_special_tokens):
        assert not add_special_tokens
        return [ord(c) for c in text]


class Engine:
    """Answers like vllm.LLM.generate: per seed, k deterministic completions (recorded when asked)."""

    def __init__(self, template=True, recorded=None):
        self.calls, self.tok, self.recorded = [], Tokenizer(template), recorded
        self.llm_engine = SimpleNamespace(model_config=SimpleNamespace(model="org/model-7b"))

    def get_tokenizer(self):
        return self.tok

    def generate(self, prompts, params, use_tqdm):
        assert use_tqdm is False and len(prompts) == 1
        self.calls.append((prompts[0], params.kw))
        if self.recorded is not None:
            return [as_objects(self.recorded)]
        rng = random.Random(params.kw["seed"])
        outs = [{"index": i, "text": f" answer {rng.randint(0, 10**6)}", "finish_reason": "stop", "logprobs": None}
                for i in range(params.kw["n"])]
        return [as_objects({"prompt": prompts[0], "outputs": outs[::-1]})]


def backend(**kw):
    return VLLMBackend(kw.pop("engine", None) or Engine(), sampling_params=Params, **kw)


def test_no_vllm_import():
    backend().generate("q", DecodingConfig(k=2), 1)
    assert "vllm" not in sys.modules


def test_request_base_template_with_prefix_and_params():
    b = backend(engine=Engine(template=False))
    cfg = DecodingConfig(k=3, temperature=0.7, top_p=0.9, max_new_tokens=32, top_logprobs=5)
    prompt, kw = b.request("Name a colour.", cfg, 1234, prefix=" Blue")
    assert prompt == "Question: Name a colour.\nAnswer: Blue"
    assert kw == {"n": 3, "temperature": 0.7, "top_p": 0.9, "max_tokens": 32, "seed": 1234,
                  "stop": ["\nQuestion:"], "logprobs": 5}
    assert b.prompt_format(cfg) == "base-template" and b.model_id == "org/model-7b"


def test_request_chat_template_as_token_ids():
    b = backend()
    prompt, kw = b.request("Hi", DecodingConfig(k=2, stop=()), 7, prefix="Ok")
    assert prompt == {"prompt_token_ids": [1, ord("H"), ord("i"), 2, ord("O"), ord("k")]}  # one BOS, prefix ids
    assert "stop" not in kw and "logprobs" not in kw
    assert b.prompt_format(DecodingConfig()) == "chat-template"
    assert b.prompt_format(DecodingConfig(chat_template=False)) == "base-template"
    with pytest.raises(ValueError, match="has no chat template; use chat_template=False"):
        backend(engine=Engine(template=False)).prompt_format(DecodingConfig(chat_template=True))


def test_parse_recorded_outputs():
    b = backend(engine=Engine(template=False, recorded=RECORDED), model_id="m")
    gens = b.generate("Name a colour.", DecodingConfig(k=3, top_logprobs=2), 5)
    assert [g.text for g in gens] == [" Ochre.", " Teal, like the sea.", " Grey"]  # by index; cut at the stop
    assert [g.finish_reason for g in gens] == ["stop", "stop", "length"]
    assert gens[1].top_logprobs == [[-0.5, -1.2], [-0.3, -1.9], [-0.6, -0.9]]  # the rank-4 sampled token left out
    assert gens[2].top_logprobs == [[-0.8, -1.0]]
    assert gens[0].entropy is None and gens[0].token_logprobs is None


def test_sampler_writes_resumable_rows(tmp_path):
    engine = Engine(template=False)
    b = backend(engine=engine)
    prompts = [Prompt("a", "First?"), Prompt("b", "Second?")]
    cfg = DecodingConfig(k=3, seed=11)
    out = sample_to_jsonl(b, prompts, tmp_path / "s.jsonl", cfg, progress=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["prompt_id"], r["sample_index"]) for r in rows] == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1),
                                                                   ("b", 2)]
    assert {r["model"] for r in rows} == {"org/model-7b"}
    assert [c[1]["seed"] for c in engine.calls] == [prompt_seed(11, "a"), prompt_seed(11, "b")]
    # lose prompt b's last row: only b is asked again, with its own seed, and the row is what it was
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:-1]))
    engine.calls.clear()
    sample_to_jsonl(b, prompts, out, cfg, progress=False)
    assert [c[1]["seed"] for c in engine.calls] == [prompt_seed(11, "b")]
    assert out.read_text() == "".join(lines)


@pytest.mark.parametrize("mutate, msg", [
    (lambda r: r["outputs"].pop(), r"holds 2 completions, expected n=3"),
    (lambda r: r["outputs"][0].update(index=0), r"outputs\[1\].index is 0; expected a new index in 0..2"),
    (lambda r: r["outputs"][0].update(text=None), r"outputs\[1\].text is None, not a string"),
    (lambda r: r["outputs"][0].update(finish_reason="abort"), r"outputs\[1\] did not finish "
                                                              r"\(finish_reason='abort'\)"),
    (lambda r: r["outputs"][0].update(logprobs=None), r"outputs\[1\].logprobs is NoneType; log-probabilities were "
                                                      r"asked for \(top_logprobs=2\)"),
    (lambda r: r["outputs"][0]["logprobs"].__setitem__(0, {}), r"outputs\[1\].logprobs\[0\] is \{\}; expected a "
                                                               r"non-empty"),
    (lambda r: r["outputs"][0]["logprobs"][0]["4"].update(logprob=0.5), r"logprobs\[0\]\[4\].logprob is 0.5; "
                                                                        r"expected a log-probability <= 0"),
])
def test_malformed_outputs_are_errors_naming_the_field(mutate, msg):
    rec = json.loads(json.dumps(RECORDED))
    mutate(rec)
    with pytest.raises(ValueError, match=r"m \(vLLM\): .*" + msg):
        parse_outputs([as_objects(rec)], DecodingConfig(k=3, top_logprobs=2), "m")
    with pytest.raises(ValueError, match=r"LLM.generate returned 2 request outputs for one prompt"):
        parse_outputs([1, 2], DecodingConfig(k=3), "m")


def test_constructor_errors():
    with pytest.raises(TypeError, match="must be a model name or a vllm.LLM, got int"):
        VLLMBackend(3)
    with pytest.raises(ValueError, match="llm_kwargs are for building an engine"):
        VLLMBackend(Engine(), llm_kwargs={"dtype": "half"})
    with pytest.raises(ValueError, match="could not read the engine's model name; pass model_id="):
        VLLMBackend(SimpleNamespace(generate=lambda *a, **k: None))
    with pytest.raises(ValueError, match="must be a model name, a folder or a vllm.LLM"):
        VLLMBackend("")
    if "vllm" not in sys.modules:
        with pytest.raises(ImportError, match=r"VLLMBackend needs vllm: pip install 'llm-diversity\[vllm\]'"):
            VLLMBackend("org/model-7b")
