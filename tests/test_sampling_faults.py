"""Faults the sampler must survive without losing or mixing data: a process
killed with SIGKILL at random points, a write torn at every byte offset of
the last rows, damaged and duplicated lines, settings and prompt texts that
drift without a sidecar, rows of version 0.1, and an OpenAI-compatible
endpoint that throttles, fails, truncates or answers nonsense (a scripted HTTP
server on 127.0.0.1).

The fake backend needs no model: its completions are a pure function of
(prompt, seed), so a resumed run must write exactly what an uninterrupted run
writes."""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from diversity.generation import (DecodingConfig, EndpointError, Generation, OpenAIBackend, Prompt, ResumeError,
                                read_meta, sample_to_jsonl)

PROMPTS = [Prompt("a", "write a poem"), Prompt("b", "name a colour"), Prompt("c", "tell a story, ünïcode")]
CONFIG = DecodingConfig(k=3, max_new_tokens=8, seed=5, top_logprobs=2)


class FakeBackend:
    """Deterministic per (prompt, seed); counts its calls; ``fail`` raises like an endpoint with a mistyped model."""

    def __init__(self, model_id="fake", fail=False):
        self.model_id, self.fail, self.calls = model_id, fail, []

    def prompt_format(self, config):
        return "base-template"

    def generate(self, prompt, config, seed):
        self.calls.append(prompt)
        if self.fail:
            raise EndpointError(f"http://x/v1/completions answered HTTP 404: model {self.model_id!r} not found")
        rng = random.Random(f"{prompt}|{seed}|{config.temperature}")
        words = ["red", "cat", "sea", "ünï", "ran"]
        return [Generation(" ".join(rng.choice(words) for _ in range(rng.randint(1, 6))),
                           rng.choice(["stop", "length"]), [[-0.1, -2.5]] * 2) for _ in range(config.k)]


def rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def keys(path):
    return [(r["prompt_id"], r["sample_index"]) for r in rows(path)]


def every_key_once(path, prompts=PROMPTS, k=CONFIG.k):
    got = keys(path)
    assert sorted(got) == sorted((p.id, i) for p in prompts for i in range(k))


@pytest.fixture
def full(tmp_path):
    """An uninterrupted run, its bytes and its sidecar's bytes."""
    out = sample_to_jsonl(FakeBackend(), PROMPTS, tmp_path / "full.jsonl", CONFIG, progress=False)
    return out, out.read_bytes(), (tmp_path / "full.jsonl.meta.json").read_bytes()


def put(tmp_path, name, data, meta=None):
    out = tmp_path / name
    out.write_bytes(data)
    if meta is not None:
        (tmp_path / (name + ".meta.json")).write_bytes(meta)
    return out


def resume(out, backend=None, prompts=PROMPTS, config=CONFIG):
    return sample_to_jsonl(backend or FakeBackend(), prompts, out, config, progress=False)


# ---- torn, damaged and duplicated lines ---------------------------------------------

def test_torn_write_at_every_byte_offset_of_the_last_two_rows(full, tmp_path, monkeypatch):
    _, data, meta = full
    synced = []
    monkeypatch.setattr(os, "fsync", synced.append)  # ~500 resumes: durability is not what is tested here
    start = data.rstrip(b"\n").rfind(b"\n", 0, data.rstrip(b"\n").rfind(b"\n")) + 1  # the second-to-last row
    assert data[start:].count(b"\n") == 2
    damaged = tmp_path / "t.jsonl.damaged"
    for off in range(start, len(data)):
        out = put(tmp_path, "t.jsonl", data[:off], meta)
        damaged.unlink(missing_ok=True)
        kept = data[:data.rfind(b"\n", 0, off) + 1]  # the complete rows before the cut
        tail = data[len(kept):off]
        backend = FakeBackend()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resume(out, backend)
        assert out.read_bytes() == data, off  # nothing lost, nothing twice, nothing moved
        assert backend.calls == ([] if off == len(data) - 1 else [PROMPTS[-1].text])
        if tail and data[off:off + 1] != b"\n":  # a torn row: saved, cut off, loudly
            assert damaged.read_bytes() == tail + b"\n"
            assert [str(w.message) for w in caught if "TORN" in str(w.message)], off
        else:  # a clean cut, or a complete last row lacking only its newline: kept
            assert not damaged.exists() and not caught, off
    assert synced


def test_complete_last_row_without_newline_is_kept(full, tmp_path):
    _, data, meta = full
    out = put(tmp_path, "n.jsonl", data[:-1], meta)
    backend = FakeBackend()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resume(out, backend)
    assert out.read_bytes() == data and backend.calls == []


def test_torn_last_line_is_saved_then_cut_with_a_warning(full, tmp_path):
    _, data, meta = full
    out = put(tmp_path, "w.jsonl", data + b'{"prompt_id": "c", "sample_', meta)
    with pytest.warns(RuntimeWarning, match=r"w.jsonl:10: CUT OFF A TORN LAST LINE \(27 bytes.*saved to .*"
                                            r"w.jsonl.damaged"):
        resume(out)
    assert out.read_bytes() == data
    assert (tmp_path / "w.jsonl.damaged").read_bytes() == b'{"prompt_id": "c", "sample_\n'


@pytest.mark.parametrize("line, problem", [
    (b"garbage from an editor\n", r"not JSON"),
    (b'{"prompt_id": "b", "sample_index": 1}\n', r"no 'prompt' string"),
    (b'{"prompt_id": "b", "prompt": "x", "completion": "y", "model": "fake", "finish_reason": "stop", '
     b'"sample_index": -1}\n', r"no 'sample_index' int >= 0"),
    (b"\x00\x00\x00\n", r"not JSON"),
])
def test_damaged_middle_line_is_an_error_and_changes_nothing(full, tmp_path, line, problem):
    _, data, meta = full
    lines = data.splitlines(keepends=True)
    damaged = b"".join(lines[:4]) + line + b"".join(lines[4:])
    out = put(tmp_path, "m.jsonl", damaged, meta)
    with pytest.raises(ResumeError, match=rf"m.jsonl:5: not a valid sample row \({problem}.*nothing was changed"):
        resume(out)
    assert out.read_bytes() == damaged
    assert (tmp_path / "m.jsonl.meta.json").read_bytes() == meta
    assert not (tmp_path / "m.jsonl.damaged").exists()


def test_damaged_last_line_with_its_newline_is_an_error(full, tmp_path):
    _, data, meta = full
    out = put(tmp_path, "l.jsonl", data + b'{"prompt_id": "c", "sam\n', meta)
    with pytest.raises(ResumeError, match=r"l.jsonl:10: not a valid sample row \(not JSON"):
        resume(out)
    assert out.read_bytes() == data + b'{"prompt_id": "c", "sam\n'


def test_duplicate_rows_name_both_lines(full, tmp_path):
    _, data, meta = full
    lines = data.splitlines(keepends=True)
    out = put(tmp_path, "d.jsonl", data + lines[1], meta)
    with pytest.raises(ResumeError, match=r"d.jsonl:10: prompt 'a' sample_index 1 is already on line 2"):
        resume(out)
    assert out.read_bytes() == data + lines[1]


def test_only_missing_sample_indices_are_sampled_and_appended(full, tmp_path):
    _, data, meta = full
    lines = data.splitlines(keepends=True)
    out = put(tmp_path, "g.jsonl", b"".join(lines[:1] + lines[2:]), meta)  # prompt a lost its sample 1
    backend = FakeBackend()
    resume(out, backend)
    assert backend.calls == [PROMPTS[0].text]
    assert out.read_bytes() == b"".join(lines[:1] + lines[2:] + lines[1:2])  # on disk untouched, appended at the end
    every_key_once(out)


def test_sample_index_out_of_range_is_refused(full, tmp_path):
    _, data, meta = full
    row = json.loads(data.splitlines()[0])
    row["sample_index"] = 3
    bad = data + (json.dumps(row) + "\n").encode()
    out = put(tmp_path, "r.jsonl", bad, meta)
    with pytest.raises(ResumeError, match=r"r.jsonl:10: sample_index 3 is out of range for k=3"):
        resume(out)
    assert out.read_bytes() == bad


def test_duplicate_prompt_ids_are_refused(tmp_path):
    with pytest.raises(ValueError, match="duplicate prompt id 'a'"):
        resume(tmp_path / "x.jsonl", prompts=[Prompt("a", "x"), Prompt("a", "y")])
    assert not (tmp_path / "x.jsonl").exists()


# ---- settings drift -----------------------------------------------------------------

def test_missing_sidecar_with_changed_temperature_is_refused(full, tmp_path):
    _, data, _ = full
    out = put(tmp_path, "s.jsonl", data)
    with pytest.raises(ResumeError, match=r"s.jsonl:1: sampled with different settings \(fingerprint [0-9a-f]{16} in "
                                          r"the file, [0-9a-f]{16} in this run; the sidecar s.jsonl.meta.json is "
                                          r"missing"):
        resume(out, config=DecodingConfig(k=3, max_new_tokens=8, seed=5, top_logprobs=2, temperature=0.5))
    assert out.read_bytes() == data and not (tmp_path / "s.jsonl.meta.json").exists()
    backend = FakeBackend()  # the run with the settings of the rows recreates the sidecar and samples nothing
    resume(out, backend)
    assert out.read_bytes() == data and backend.calls == []
    assert read_meta(out)["decoding"]["temperature"] == 1.0


def test_changed_temperature_is_named_when_the_sidecar_can_tell(full, tmp_path):
    _, data, meta = full
    out = put(tmp_path, "s.jsonl", data, meta)
    with pytest.raises(ResumeError, match=r"s.jsonl:1: sampled with a different decoding.temperature \(1.0 in the "
                                          r"file, 0.5 in this run\)"):
        resume(out, config=DecodingConfig(k=3, max_new_tokens=8, seed=5, top_logprobs=2, temperature=0.5))
    with pytest.raises(ResumeError, match=r"s.jsonl:1: sampled with a different model \('fake' in the file, 'other'"):
        resume(out, FakeBackend("other"))
    assert out.read_bytes() == data and (tmp_path / "s.jsonl.meta.json").read_bytes() == meta


def test_same_ids_with_new_prompt_texts_are_refused(full, tmp_path):
    _, data, _ = full
    out = put(tmp_path, "p.jsonl", data)
    new = [PROMPTS[0], Prompt("b", "name a flower"), PROMPTS[2]]
    with pytest.raises(ResumeError, match=r"p.jsonl:4: prompt 'b' has another text in the file \('name a colour'\) "
                                          r"than in this run \('name a flower'\)"):
        resume(out, prompts=new)
    assert out.read_bytes() == data


def test_failed_first_call_leaves_no_sidecar_and_the_corrected_rerun_works(tmp_path):
    out = tmp_path / "f.jsonl"
    with pytest.raises(EndpointError, match="model 'mistyped' not found"):
        resume(out, FakeBackend("mistyped", fail=True))
    assert not (tmp_path / "f.jsonl.meta.json").exists()
    resume(out, FakeBackend("fake"))
    every_key_once(out)
    assert read_meta(out)["model"] == "fake"


def test_a_stale_sidecar_without_rows_blocks_nothing(tmp_path):
    """What version 0.1 left after a failed first call: a sidecar of another model and no row."""
    (tmp_path / "o.jsonl.meta.json").write_text(json.dumps({"model": "mistyped", "prompt_format": "base-template",
                                                            "decoding": {"k": 3}}))
    with pytest.warns(RuntimeWarning, match=r"o.jsonl.meta.json: replaced a sidecar"):
        out = resume(tmp_path / "o.jsonl")
    every_key_once(out)
    assert read_meta(out)["model"] == "fake"


def legacy(data):
    """The same rows as version 0.1 wrote them: no settings fingerprint."""
    out = []
    for line in data.decode().splitlines():
        row = json.loads(line)
        del row["settings"]
        out.append(json.dumps(row, ensure_ascii=False) + "\n")
    return "".join(out).encode()


def test_rows_of_version_0_1_are_vouched_for_by_the_sidecar(full, tmp_path):
    _, data, meta = full
    old = legacy(data)
    lines = old.splitlines(keepends=True)
    out = put(tmp_path, "v.jsonl", b"".join(lines[:7]), meta)
    resume(out)
    assert out.read_bytes().startswith(b"".join(lines[:7]))
    every_key_once(out)
    out = put(tmp_path, "v2.jsonl", old, meta)
    with pytest.raises(ResumeError, match=r"v2.jsonl:1: sampled with a different decoding.temperature \(1.0 in the "
                                          r"file, 0.5 in this run\) \(from the sidecar"):
        resume(out, config=DecodingConfig(k=3, max_new_tokens=8, seed=5, top_logprobs=2, temperature=0.5))
    out = put(tmp_path, "v3.jsonl", old)
    with pytest.raises(ResumeError, match=r"v3.jsonl:1: this row has no 'settings' fingerprint \(written by diversity "
                                          r"0.1\) and the sidecar v3.jsonl.meta.json that could vouch for its "
                                          r"settings is missing"):
        resume(out)
    assert out.read_bytes() == old and not (tmp_path / "v3.jsonl.meta.json").exists()


# ---- SIGKILL at random points of a real run ------------------------------------------

class SlowEndpoint(BaseHTTPRequestHandler):
    """A deterministic /completions endpoint that takes ``delay`` seconds per answer."""

    delay = 0.04

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(self.delay)
        rng = random.Random(f"{body['prompt']}|{body['seed']}")
        choices = [{"index": i, "finish_reason": "length", "text": " " + "x" * rng.randint(0, 40) + f" {i}"}
                   for i in range(body["n"])]
        data = json.dumps({"choices": choices}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client was killed
            pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def serve(handler):
    srv = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/v1"


RUN = """
import sys
from diversity.generation import DecodingConfig, OpenAIBackend, Prompt, sample_to_jsonl
prompts = [Prompt(f"q{i:02d}", f"question number {i}") for i in range(int(sys.argv[3]))]
sample_to_jsonl(OpenAIBackend(sys.argv[1], "served", chat=False, retry_delay=0), prompts, sys.argv[2],
                DecodingConfig(k=3, seed=11), progress=False)
"""


def test_sigkill_at_random_points_then_resume(tmp_path):
    """Three runs killed with SIGKILL at random points, each followed by the loss of the end of the last write
    (what a machine crash leaves); the fourth run completes the file."""
    n_prompts, k = 20, 3
    srv, url = serve(SlowEndpoint)
    try:
        ref = tmp_path / "ref.jsonl"
        subprocess.run([sys.executable, "-c", RUN, url, str(ref), str(n_prompts)], check=True, timeout=60)
        out = tmp_path / "killed.jsonl"
        rng = random.Random(2024)
        prefixes = []
        for _ in range(3):
            done = out.read_bytes().count(b"\n") if out.exists() else 0
            target = rng.randrange(done, done + (n_prompts * k - done) // 3)  # kill well before the end
            proc = subprocess.Popen([sys.executable, "-c", RUN, url, str(out), str(n_prompts)])
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline:
                if out.exists() and out.read_bytes().count(b"\n") > target:
                    break
                time.sleep(0.002)
            time.sleep(rng.uniform(0, SlowEndpoint.delay * 1.5))  # mid-request, or between two writes
            proc.kill()  # SIGKILL: no cleanup, no flush
            assert proc.wait() == -signal.SIGKILL  # killed mid-run, not finished
            data = out.read_bytes()
            if data.count(b"\n") >= 2:  # and the machine lost the end of the last write: a torn row
                data = data[:rng.randrange(data.rfind(b"\n", 0, len(data) - 1) + 1, len(data))]
                out.write_bytes(data)
            prefixes.append(data[:data.rfind(b"\n") + 1])  # every complete row on disk after the crash
        assert len(prefixes[-1]) > 0 and (tmp_path / "killed.jsonl.damaged").exists()
        subprocess.run([sys.executable, "-W", "ignore::RuntimeWarning", "-c", RUN, url, str(out), str(n_prompts)],
                       check=True, timeout=60)
    finally:
        srv.shutdown()
    final = out.read_bytes()
    for prefix in prefixes:
        assert final.startswith(prefix)
    assert sorted(keys(out)) == sorted((f"q{i:02d}", j) for i in range(n_prompts) for j in range(k))
    assert final == ref.read_bytes()  # what an uninterrupted run writes
    assert read_meta(out)["model"] == "served"


# ---- endpoint faults ----------------------------------------------------------------

class Scripted(BaseHTTPRequestHandler):
    """Answers each request with the next scripted fault; a good answer when the script is empty."""

    script: list = []
    seen: list = []

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=(), length=None):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Scripted.seen.append(time.monotonic())
        action = Scripted.script.pop(0) if Scripted.script else ("ok",)
        kind = action[0]
        if kind == "status":  # ("status", code, body, headers)
            self.answer(action[1], action[2], action[3] if len(action) > 3 else ())
        elif kind == "truncated":  # a Content-Length larger than the body, then the connection closes
            self.answer(200, b'{"choices": [{"index": 0, "te', length=500)
        elif kind == "close":  # the connection is reset without an answer
            self.close_connection = True
        elif kind == "sleep":
            time.sleep(action[1])
            self.answer(200, json.dumps(good(body["n"])).encode())
        elif kind == "choices":  # a 200 with these choices
            self.answer(200, json.dumps({"choices": action[1]}).encode())
        else:
            self.answer(200, json.dumps(good(body["n"])).encode())


def good(n):
    return {"choices": [{"index": i, "finish_reason": "length", "text": f" fine {i}",
                         "message": {"role": "assistant", "content": f"fine {i}"}} for i in range(n)]}


@pytest.fixture(scope="module")
def endpoint():
    srv, url = serve(Scripted)
    yield url
    srv.shutdown()


@pytest.fixture
def script(endpoint):
    Scripted.script, Scripted.seen = [], []
    yield Scripted.script
    Scripted.script.clear()


K2 = DecodingConfig(k=2)


def fast(url, **kw):
    kw.setdefault("retry_delay", 0.01)
    return OpenAIBackend(url, "served", chat=kw.pop("chat", False), timeout=kw.pop("timeout", 5), **kw)


def test_429_with_retry_after_is_retried_after_the_wait(endpoint, script):
    script.append(("status", 429, b'{"error": {"message": "slow down"}}', [("Retry-After", "1")]))
    gens = fast(endpoint, retry_delay=0).generate("x", K2, 0)
    assert [g.text for g in gens] == [" fine 0", " fine 1"]
    assert len(Scripted.seen) == 2 and Scripted.seen[1] - Scripted.seen[0] >= 0.9  # the server's wait, not 0 s


def test_retry_after_is_capped(endpoint, script):
    script.append(("status", 429, b"busy", [("Retry-After", "3600")]))
    t0 = time.monotonic()
    assert len(fast(endpoint, max_retry_delay=0.05).generate("x", K2, 0)) == 2
    assert time.monotonic() - t0 < 5


def test_503_then_success_after_the_configured_delay(endpoint, script):
    script.append(("status", 503, b'{"error": "overloaded"}'))
    t0 = time.monotonic()
    assert [g.text for g in fast(endpoint, retry_delay=0.01).generate("x", K2, 0)] == [" fine 0", " fine 1"]
    assert len(Scripted.seen) == 2 and time.monotonic() - t0 < 0.9  # retry_delay, not a fixed 1 s


def test_5xx_after_all_retries_names_url_status_message_and_attempts(endpoint, script):
    script.extend([("status", 503, b'{"error": {"message": "overloaded"}}')] * 3)
    with pytest.raises(EndpointError, match=r"127.0.0.1:\d+/v1/completions failed after 3 attempts: HTTP 503: "
                                            r"overloaded") as e:
        fast(endpoint, retries=2).generate("x", K2, 0)
    assert e.value.status == 503 and e.value.attempts == 3 and len(Scripted.seen) == 3


def test_reset_connection_and_timeout_are_retried(endpoint, script):
    script.extend([("close",), ("sleep", 1.0)])
    assert len(fast(endpoint, timeout=0.3).generate("x", K2, 0)) == 2
    assert len(Scripted.seen) == 3


def test_200_with_html_is_an_error_naming_the_body(endpoint, script):
    script.append(("status", 200, b"<html><body>Bad gateway, try later</body></html>"))
    with pytest.raises(EndpointError, match=r"/v1/completions answered HTTP 200 with a body that is not JSON: "
                                            r"'<html><body>Bad gateway"):
        fast(endpoint).generate("x", K2, 0)
    assert len(Scripted.seen) == 1  # not transient: not retried


def test_truncated_body_is_retried_then_reported(endpoint, script):
    script.append(("truncated",))
    assert len(fast(endpoint).generate("x", K2, 0)) == 2
    script.append(("truncated",))
    with pytest.raises(EndpointError, match=r"/v1/completions failed after 1 attempt: IncompleteRead"):
        fast(endpoint, retries=0).generate("x", K2, 0)


@pytest.mark.parametrize("status, body, message", [
    (200, b'{"error": {"message": "model not found"}}', r"answered HTTP 200 with an error: model not found"),
    (404, b'{"error": {"message": "The model `served` does not exist."}}',
     r"answered HTTP 404: The model `served` does not exist. \(after 1 attempt; not retried\)"),
    (400, b"plain text complaint", r"answered HTTP 400: plain text complaint"),
])
def test_error_bodies_carry_the_servers_message(endpoint, script, status, body, message):
    script.append(("status", status, body))
    with pytest.raises(EndpointError, match=message):
        fast(endpoint).generate("x", K2, 0)
    assert len(Scripted.seen) == 1


@pytest.mark.parametrize("chat, choices, message", [
    (False, [{"index": 0, "text": "a"}, {"index": 1, "text": None}], r"choice 1 has no completion \(text is null\)"),
    (False, [{"index": 0, "text": "a"}, {"index": 1}], r"choice 1 has no completion \(text is missing\)"),
    (True, [{"index": 0, "message": {"content": None}}, {"index": 1, "message": {"content": "b"}}],
     r"choice 0 has no completion \(message.content is null\)"),
    (True, [{"index": 0, "message": {"content": "a"}}, {"index": 1, "finish_reason": "stop"}],
     r"choice 1 has no message"),
    (False, [{"index": 0, "text": "a"}], r"with 1 choices, expected n=2"),
    (False, [{"index": 0, "text": "a"}, {"index": 0, "text": "b"}], r"choice 1 is not an object with a new index"),
])
def test_missing_completions_are_errors_not_empty_strings(endpoint, script, chat, choices, message):
    script.append(("choices", choices))
    with pytest.raises(EndpointError, match=message):
        fast(endpoint, chat=chat).generate("x", K2, 0)


def test_missing_choices(endpoint, script):
    script.append(("status", 200, b'{"object": "text_completion", "id": "x"}'))
    with pytest.raises(EndpointError, match=r"answered HTTP 200 but without a 'choices' list \(keys: id, object\)"):
        fast(endpoint).generate("x", K2, 0)


def test_retries_zero_means_one_attempt():
    with pytest.raises(EndpointError, match=r"127.0.0.1:9/v1/completions failed after 1 attempt: "
                                            r"ConnectionRefusedError") as e:
        fast("http://127.0.0.1:9/v1", retries=0).generate("x", K2, 0)
    assert e.value.attempts == 1 and e.value.status is None
    with pytest.raises(ValueError, match=r"retries must be an int >= 0 \(retries after the first attempt\), got -1"):
        OpenAIBackend("http://127.0.0.1:9/v1", "m", chat=False, retries=-1)


def test_endpoint_404_through_the_sampler_leaves_nothing_that_blocks(endpoint, script, tmp_path):
    script.append(("status", 404, b'{"error": {"message": "The model `mistyped` does not exist."}}'))
    out = tmp_path / "e.jsonl"
    with pytest.raises(EndpointError, match="does not exist"):
        sample_to_jsonl(OpenAIBackend(endpoint, "mistyped", chat=False), PROMPTS, out, K2, progress=False)
    assert not (tmp_path / "e.jsonl.meta.json").exists()
    sample_to_jsonl(fast(endpoint), PROMPTS, out, K2, progress=False)
    every_key_once(out, k=2)
    assert read_meta(out)["model"] == "served"
    assert {r["completion"] for r in rows(out)} == {" fine 0", " fine 1"}
