"""The sampler: a tiny randomly initialised Llama built here (determinism,
resume after interruption, metadata, log-probabilities) and the
OpenAI-compatible backend against a small HTTP server on 127.0.0.1."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import diversity
from diversity.generation import (DecodingConfig, EndpointError, OpenAIBackend, Prompt, ResumeError,
                                TransformersBackend, load_prompts, prompt_seed, read_meta, sample_to_jsonl,
                                settings_fingerprint)
from tests.conftest import save_tiny_llama

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

PROMPTS = [Prompt("p1", "the cat"), Prompt("p2", "a dog"), Prompt("p3", "red mat")]


CONFIG = DecodingConfig(k=3, max_new_tokens=6, seed=7, top_logprobs=5)


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sampling_is_deterministic_and_recorded(backend, tmp_path):
    a = sample_to_jsonl(backend, PROMPTS, tmp_path / "a.jsonl", CONFIG, progress=False)
    b = sample_to_jsonl(backend, PROMPTS, tmp_path / "b.jsonl", CONFIG, progress=False)
    assert a.read_bytes() == b.read_bytes()
    r = rows(a)
    assert len(r) == 9 and [x["prompt_id"] for x in r[:3]] == ["p1"] * 3
    assert {x["model"] for x in r} == {"tiny-llama"} and [x["sample_index"] for x in r[:3]] == [0, 1, 2]
    for x in r:
        assert x["finish_reason"] in ("stop", "length")
        assert len(x["top_logprobs"]) <= 6
        for pos in x["top_logprobs"]:
            assert len(pos) == 5 and pos == sorted(pos, reverse=True) and pos[0] <= 0
    meta = read_meta(a)
    assert meta["model"] == "tiny-llama" and meta["prompt_format"] == "chat-template"
    assert meta["decoding"]["temperature"] == 1.0 and meta["decoding"]["seed"] == 7
    other = sample_to_jsonl(backend, PROMPTS, tmp_path / "c.jsonl", DecodingConfig(k=3, max_new_tokens=6, seed=8),
                            progress=False)
    assert rows(other)[0]["completion"] != r[0]["completion"] or rows(other)[1]["completion"] != r[1]["completion"]
    # the samples feed the metrics directly
    samples = diversity.load_samples(a, prompt_field="prompt_id")
    assert set(samples) == {"p1", "p2", "p3"} and all(len(v) == 3 for v in samples.values())
    lp = {p: [x["top_logprobs"] for x in r if x["prompt_id"] == p] for p in samples}
    assert 0 <= diversity.token_entropy(lp, top_k=5).value <= 2.33


class Interrupt(Exception):
    pass


class Flaky:
    """Wraps a backend and dies on its n-th prompt, as a killed process would."""

    def __init__(self, inner, fail_on):
        self.inner, self.fail_on, self.calls = inner, fail_on, 0
        self.model_id = inner.model_id

    def prompt_format(self, config):
        return self.inner.prompt_format(config)

    def generate(self, prompt, config, seed):
        self.calls += 1
        if self.calls == self.fail_on:
            raise Interrupt()
        return self.inner.generate(prompt, config, seed)


def test_resume_after_interruption_equals_an_uninterrupted_run(backend, tmp_path):
    full = sample_to_jsonl(backend, PROMPTS, tmp_path / "full.jsonl", CONFIG, progress=False)
    out = tmp_path / "resumed.jsonl"
    with pytest.raises(Interrupt):
        sample_to_jsonl(Flaky(backend, fail_on=3), PROMPTS, out, CONFIG, progress=False)
    assert [x["prompt_id"] for x in rows(out)] == ["p1"] * 3 + ["p2"] * 3  # lost only the prompt in flight
    with open(out, "a") as f:
        f.write('{"prompt_id": "p3", "compl')  # a torn line from a crash mid-write
    counting = Flaky(backend, fail_on=0)
    with pytest.warns(RuntimeWarning, match=r"resumed.jsonl:7: CUT OFF A TORN LAST LINE \(26 bytes"):
        sample_to_jsonl(counting, PROMPTS, out, CONFIG, progress=False)
    assert counting.calls == 1  # only p3 was generated again
    assert out.read_bytes() == full.read_bytes()
    assert (tmp_path / "resumed.jsonl.damaged").read_bytes() == b'{"prompt_id": "p3", "compl\n'


def test_resume_refuses_other_settings(backend, tmp_path):
    out = sample_to_jsonl(backend, PROMPTS[:1], tmp_path / "s.jsonl", CONFIG, progress=False)
    before = out.read_bytes()
    with pytest.raises(ResumeError, match=r"s.jsonl:1: sampled with a different decoding.seed \(7 in the file, 8 in "):
        sample_to_jsonl(backend, PROMPTS, out, DecodingConfig(k=3, max_new_tokens=6, seed=8, top_logprobs=5),
                        progress=False)
    assert out.read_bytes() == before
    fp = settings_fingerprint("tiny-llama", CONFIG, "chat-template")
    assert {x["settings"] for x in rows(out)} == {fp} and len(fp) == 16


def test_base_template_and_stop(backend, tmp_path):
    cfg = DecodingConfig(k=2, max_new_tokens=5, chat_template=False, base_template="Q: {prompt} A:", stop=("dog",))
    out = sample_to_jsonl(backend, PROMPTS[:2], tmp_path / "base.jsonl", cfg, progress=False)
    assert read_meta(out)["prompt_format"] == "base-template"
    assert backend.render("x", cfg) == "Q: x A:"
    assert all("dog" not in x["completion"] for x in rows(out))


def test_config_and_prompt_validation(tmp_path):
    with pytest.raises(ValueError, match="temperature must be > 0"):
        DecodingConfig(temperature=0)
    with pytest.raises(ValueError, match="base_template must contain"):
        DecodingConfig(base_template="no slot")
    p = tmp_path / "prompts.jsonl"
    p.write_text('{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n')
    with pytest.raises(ValueError, match="duplicate prompt id 'a'"):
        load_prompts(p)
    p.write_text('{"prompt": "x"}\n')
    with pytest.raises(ValueError, match=r"prompts.jsonl:1: a prompt row needs 'id'"):
        load_prompts(p)
    assert prompt_seed(0, "a") == prompt_seed(0, "a") != prompt_seed(1, "a")


# ---- OpenAI-compatible endpoint ---------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    requests: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.requests.append((self.path, body))
        if body.get("model") != "served":
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"error": "no such model"}')
            return
        n = body["n"]
        if self.path.endswith("/chat/completions"):
            choices = [{"index": i, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": f"chat answer {i} seed {body['seed']}"},
                        "logprobs": {"content": [{"token": "x", "logprob": -0.1, "top_logprobs": [
                            {"token": "a", "logprob": -2.0}, {"token": "b", "logprob": -0.5}]}]}}
                       for i in range(n)]
        else:
            choices = [{"index": i, "finish_reason": "length", "text": f" base answer {i}\nQuestion: next",
                        "logprobs": {"top_logprobs": [{"a": -1.0, "b": -0.2}, {"c": -0.7, "d": -3.0}]}}
                       for i in reversed(range(n))]
        data = json.dumps({"choices": choices}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def server():
    srv = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()


def test_openai_completions_endpoint(server, tmp_path):
    cfg = DecodingConfig(k=3, max_new_tokens=8, top_logprobs=2, seed=1)
    out = sample_to_jsonl(OpenAIBackend(server, "served", chat=False), PROMPTS[:1], tmp_path / "e.jsonl", cfg,
                          progress=False)
    r = rows(out)
    assert [x["completion"] for x in r] == [" base answer 0", " base answer 1", " base answer 2"]  # index order
    assert r[0]["finish_reason"] == "stop" and r[0]["top_logprobs"] == [[-0.2, -1.0], [-0.7, -3.0]]
    path, body = Handler.requests[-1]
    assert path == "/v1/completions" and body["prompt"] == "Question: the cat\nAnswer:"
    assert body["n"] == 3 and body["seed"] == prompt_seed(1, "p1") and body["logprobs"] == 2
    assert read_meta(out)["prompt_format"] == "base-template"


def test_openai_chat_endpoint_and_errors(server, tmp_path):
    cfg = DecodingConfig(k=2, top_logprobs=2)
    out = sample_to_jsonl(OpenAIBackend(server, "served", chat=True), PROMPTS[:2], tmp_path / "c.jsonl", cfg,
                          progress=False)
    r = rows(out)
    assert r[0]["completion"].startswith("chat answer 0") and r[0]["top_logprobs"] == [[-0.5, -2.0]]
    path, body = Handler.requests[-1]
    assert path == "/v1/chat/completions" and body["messages"] == [{"role": "user", "content": "a dog"}]
    with pytest.raises(EndpointError, match=r"/v1/chat/completions answered HTTP 404: no such model \(after 1 attempt; "
                                            "not retried"):
        OpenAIBackend(server, "missing", chat=True).generate("x", cfg, 0)
    with pytest.raises(EndpointError, match="127.0.0.1:9/v1/chat/completions failed after 2 attempts: "
                                            "ConnectionRefusedError"):
        OpenAIBackend("http://127.0.0.1:9/v1", "served", chat=True, retries=1, retry_delay=0,
                      timeout=2).generate("x", cfg, 0)


# ---- forced prefixes (perturbation experiments) --------------------------------------

def test_forced_prefix_is_in_the_context(backend):
    cfg = DecodingConfig(k=2, max_new_tokens=3, seed=3, top_logprobs=5, chat_template=False,
                         base_template="{prompt}")
    plain = backend.generate("the cat", cfg, 11)
    forced = backend.generate("the cat", cfg, 11, prefix=" big red log")
    # the first generated position's distribution is the model's next-token distribution after the prefix
    ids = backend.tokenizer("the cat big red log", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(backend.model(ids).logits[0, -1].float(), dim=-1)
    expected = [round(float(v), 5) for v in torch.topk(logp, 5).values]
    assert forced[0].top_logprobs[0] == pytest.approx(expected, abs=2e-5)
    assert plain[0].top_logprobs[0] != pytest.approx(forced[0].top_logprobs[0], abs=1e-3)
    # the generations hold the continuation only
    assert not any(g.text.lstrip().startswith("big red log") for g in forced)


def test_forced_prefix_rows_and_resume(backend, tmp_path):
    cfg = DecodingConfig(k=2, max_new_tokens=4, seed=5)
    prompts = [Prompt("p1", "the cat"), Prompt("p1/prefix", "the cat", prefix=" big red")]
    out = sample_to_jsonl(backend, prompts, tmp_path / "f.jsonl", cfg, progress=False)
    r = rows(out)
    assert ["prefix" in x for x in r] == [False, False, True, True] and r[2]["prefix"] == " big red"
    again = sample_to_jsonl(backend, prompts, out, cfg, progress=False)  # complete: nothing re-sampled
    assert rows(again) == r
    other = [prompts[0], Prompt("p1/prefix", "the cat", prefix=" a dog")]
    with pytest.raises(ResumeError, match=r"f.jsonl:3: prompt 'p1/prefix' was sampled with the forced prefix "
                                          r"' big red', this run forces ' a dog'"):
        sample_to_jsonl(backend, other, out, cfg, progress=False)
    (tmp_path / "prompts.jsonl").write_text('{"id": "a", "prompt": "x", "prefix": " y"}\n{"id": "b", "prompt": "z"}\n')
    assert [p.prefix for p in load_prompts(tmp_path / "prompts.jsonl")] == [" y", ""]


def test_forced_prefix_on_an_endpoint(server):
    cfg = DecodingConfig(k=1, max_new_tokens=8, seed=1)
    OpenAIBackend(server, "served", chat=False).generate("the cat", cfg, 0, prefix=" Once upon")
    path, body = Handler.requests[-1]
    assert path == "/v1/completions" and body["prompt"] == "Question: the cat\nAnswer: Once upon"
    with pytest.raises(ValueError, match="forced prefix needs the completions endpoint"):
        OpenAIBackend(server, "served", chat=True).generate("the cat", cfg, 0, prefix=" Once upon")


def test_a_sentencepiece_continuation_keeps_its_space_and_its_positions(tmp_path):
    """A Llama-2-style (SentencePiece) tokenizer: the normalizer prepends "▁", the decoder strips one leading
    space, so decoding the new ids alone drops the space of a first token "▁sat"; the continuation is the
    decoded whole minus the decoded context."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    words = ["the", "cat", "dog", "sat", "on", "mat", "red", "big"]
    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2, "▁": 3, **{"▁" + w: i + 4 for i, w in enumerate(words)}}
    t = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    t.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    t.pre_tokenizer = pre_tokenizers.Split(pattern="▁", behavior="merged_with_next")
    t.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.Fuse(),
                                   decoders.Strip(content=" ", left=1, right=0)])
    save_tiny_llama(tmp_path, t, seed=1)
    tok = transformers.AutoTokenizer.from_pretrained(tmp_path)
    b = TransformersBackend(tmp_path, model_id="tiny-sentencepiece")
    assert tok.decode(tok("the cat sat")["input_ids"][2:]) == "sat"  # the loss this guards against
    gens = b.generate("the cat", DecodingConfig(k=4, max_new_tokens=3, seed=2, chat_template=False,
                                                base_template="{prompt}"), 5, prefix=" big")
    texts = [g.text for g in gens if g.text]
    assert texts and all(x.startswith(" ") for x in texts)  # every word token carries its space
    for x in texts:  # prompt + prefix + continuation is the text the model's tokens spell
        assert tok.decode(tok("the cat big" + x)["input_ids"]) == "the cat big" + x
    # cut at a stop string, the log-probabilities kept are those of the tokens before it: counted by decoding
    # (re-tokenizing the kept text " big red" with this tokenizer gives "▁", "▁big", "▁red": one too many)
    context = tok("the cat")["input_ids"]
    ids = [vocab["▁big"], vocab["▁red"], vocab["▁mat"], vocab["▁on"]]
    assert len(tok(" big red", add_special_tokens=False)["input_ids"]) == 3
    assert b._positions(context, ids, len(" big red")) == 2
    assert b._positions(context, ids, len(" big red mat on")) == 4 and b._positions(context, ids, 0) == 0


def test_weights_load_on_the_first_generation_only(tiny_model, tmp_path):
    from diversity.generation import TransformersBackend

    lazy = TransformersBackend(tiny_model, model_id="tiny-llama")
    assert lazy._model is None and lazy.prompt_format(CONFIG) in ("chat-template", "base-template")
    out = sample_to_jsonl(lazy, PROMPTS, tmp_path / "s.jsonl", CONFIG, progress=False)
    assert lazy._model is not None
    again = TransformersBackend(tiny_model, model_id="tiny-llama")
    sample_to_jsonl(again, PROMPTS, out, CONFIG, progress=False)  # complete: nothing to sample
    assert again._model is None
