"""OpenAIEmbedder against a real HTTP server on 127.0.0.1 started here.

The server speaks the OpenAI ``/v1/embeddings`` schema (``{"model", "input"}`` in;
``{"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}`` out)
and serves either the bundled all-MiniLM-L6-v2 (vectors checked against the in-process embedder) or a
fast deterministic stand-in (fault tests), with scripted faults: slow answers, 429 with Retry-After, 500,
malformed JSON, a wrong width, NaN, another model name.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from diversity.embed.openai import OpenAIEmbedder
from diversity.generation import EndpointError


def fake_vectors(texts, dim=8):
    """A deterministic unit vector per text (SHA-256 of the text)."""
    out = []
    for t in texts:
        h = hashlib.sha256(t.encode()).digest()
        v = np.frombuffer(h[:dim * 2], dtype=np.uint16).astype(np.float64)[:dim] - 32768
        out.append(v / np.linalg.norm(v))
    return np.array(out)


class Server:
    """A threaded HTTP server; ``plan`` is a list of actions consumed one per request (then ``"ok"``)."""

    def __init__(self, encode, model_name="all-MiniLM-L6-v2", plan=(), delay=0.0):
        self.encode, self.model_name, self.plan, self.delay = encode, model_name, list(plan), delay
        self.requests, self.bodies, self.in_flight, self.max_in_flight = 0, [], 0, 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                owner.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def handle(self, h):
        body = json.loads(h.rfile.read(int(h.headers["Content-Length"])))
        with self.lock:
            self.requests += 1
            self.bodies.append(body)
            action = self.plan.pop(0) if self.plan else "ok"
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            if h.path != "/v1/embeddings":
                return self.send(h, 404, {"error": {"message": f"no route {h.path}"}})
            if action.startswith("slow:"):
                time.sleep(float(action[5:]))
            if action.startswith("429"):
                return self.send(h, 429, {"error": {"message": "rate limited"}},
                                 {"Retry-After": action.split(":")[1]} if ":" in action else {})
            if action == "500":
                return self.send(h, 500, {"error": {"message": "boom"}})
            if action == "400":
                return self.send(h, 400, {"error": {"message": "input too long"}})
            if action == "malformed":
                return self.send_raw(h, 200, b'{"object": "list", "data": [{"embedding": [0.1, ')
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            vecs = np.asarray(self.encode(texts), dtype=np.float64)
            if action == "wrong-dim":
                vecs = vecs[:, :-1]
            if action == "nan":
                vecs[0, 0] = float("nan")
            data = [{"object": "embedding", "index": i, "embedding": [float(x) if np.isfinite(x) else None
                                                                       for x in v]} for i, v in enumerate(vecs)]
            if action == "nan":
                raw = json.dumps({"object": "list", "data": data, "model": self.model_name}).replace("null", "NaN")
                return self.send_raw(h, 200, raw.encode())
            if action == "reversed":
                data = data[::-1]
            name = "other-model" if action == "other-model" else self.model_name
            self.send(h, 200, {"object": "list", "data": data, "model": name,
                               "usage": {"prompt_tokens": 0, "total_tokens": 0}})
        finally:
            with self.lock:
                self.in_flight -= 1

    def send(self, h, status, obj, headers=None):
        self.send_raw(h, status, json.dumps(obj).encode(), headers)

    def send_raw(self, h, status, raw, headers=None):
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(raw)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    made = []

    def make(**kw):
        kw.setdefault("encode", fake_vectors)
        s = Server(**kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


TEXTS = [f"text number {i} about {w}" for i, w in enumerate(["cats", "dogs", "rivers", "the sea", "trees"] * 4)]


def emb(srv, tmp_path=None, **kw):
    kw.setdefault("retry_delay", 0.0)
    kw.setdefault("timeout", 5.0)
    return OpenAIEmbedder(srv.url, "minilm", cache=tmp_path or False, **kw)


# ---- the real model through the server ------------------------------------------------------------------

@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("sentence_transformers")
    from diversity.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(cache=False, device="cpu")


@pytest.mark.slow
def test_endpoint_vectors_equal_the_in_process_model(server, minilm, tmp_path):
    srv = server(encode=lambda t: minilm.encode(t), model_name="sentence-transformers/all-MiniLM-L6-v2")
    texts = TEXTS + ["A much longer answer: " + "the quick brown fox jumps over the lazy dog " * 20, "é ü 漢字"]
    e = emb(srv, tmp_path, batch_size=4, concurrency=3)
    got = e.encode(texts)
    ref = minilm.encode(texts)
    assert got.shape == ref.shape == (len(texts), 384) and got.dtype == np.float32
    assert np.abs(got - ref).max() <= 1e-6
    assert e.signature_fields() == [("emb", "openai:sentence-transformers/all-MiniLM-L6-v2@384")]
    # and through score(): the same semantic numbers as the in-process embedder, another signature
    import diversity

    samples = {"p1": texts[:5], "p2": texts[5:10]}
    a = diversity.score(samples, ["mean-pairwise-distance"], embedder=e, ci=False)["mean-pairwise-distance"]
    b = diversity.score(samples, ["mean-pairwise-distance"], embedder=minilm, ci=False)["mean-pairwise-distance"]
    assert abs(a.value - b.value) <= 1e-6
    assert "emb:openai:sentence-transformers/all-MiniLM-L6-v2@384" in a.signature


# ---- batching, deduplication, concurrency, the cache -----------------------------------------------------

def test_batches_dedup_order_and_bounded_concurrency(server):
    srv = server(delay=0.4)  # long enough that the 3 workers overlap even on a loaded machine
    e = emb(srv, batch_size=2, concurrency=3)
    texts = TEXTS + TEXTS[:5]  # duplicates are sent once
    got = e.encode(texts)
    np.testing.assert_allclose(got, fake_vectors(texts), atol=1e-7)
    assert e.n_encoded == len(set(texts))
    sizes = [len(b["input"]) for b in srv.bodies]
    assert sizes[0] == 1 and max(sizes) == 2 and sum(sizes) == len(set(texts))  # probe, then batches of 2
    assert all(b["model"] == "minilm" and b["encoding_format"] == "float" for b in srv.bodies)
    assert 2 <= srv.max_in_flight <= 3


def test_shuffled_indices_are_put_back_in_order(server):
    srv = server(plan=["ok", "reversed", "reversed"])
    got = emb(srv, batch_size=5).encode(TEXTS[:11])
    np.testing.assert_allclose(got, fake_vectors(TEXTS[:11]), atol=1e-7)


def test_cache_is_namespaced_by_reported_model_and_width_not_url(server, tmp_path):
    a = server(model_name="bge-small")
    e1 = emb(a, tmp_path)
    e1.encode(TEXTS)
    folder = tmp_path / "embeddings" / "openai_bge-small@8"
    assert folder.is_dir() and any(folder.glob("*.npz"))
    b = server(model_name="bge-small")  # another URL, the same reported model: the cache serves it
    e2 = emb(b, tmp_path)
    np.testing.assert_array_equal(e2.encode(TEXTS), e1.encode(TEXTS))
    assert b.requests == 1 and e2.n_encoded == 1  # only the probe that tells the model
    c = server(model_name="bge-base")  # the same texts from another model: its own folder, all sent
    e3 = emb(c, tmp_path)
    e3.encode(TEXTS)
    assert e3.n_encoded == len(set(TEXTS)) and (tmp_path / "embeddings" / "openai_bge-base@8").is_dir()


def test_signature_and_identity_probe_once(server):
    srv = server(model_name="text-embedding-3-small")
    e = emb(srv)
    assert "not contacted yet" in repr(e)
    assert e.signature_fields() == [("emb", "openai:text-embedding-3-small@8")]
    assert (e.model_id, e.revision, e.dim) == ("openai:text-embedding-3-small", "8", 8)
    e.encode(["x"])
    assert srv.requests == 1 + 1  # the probe (its own text, for the identity), then 'x'


def test_dimensions_is_sent_and_checked(server):
    srv = server()
    e = emb(srv, dimensions=8)
    e.encode(["a"])
    assert srv.bodies[0]["dimensions"] == 8
    srv2 = server()
    with pytest.raises(EndpointError, match=r"with 8-dimensional vectors; expected 16 \(the 'dimensions' asked for\)"):
        emb(srv2, dimensions=16).encode(["a"])


# ---- faults ----------------------------------------------------------------------------------------------

def test_429_honours_retry_after_then_succeeds(server):
    srv = server(plan=["429:1", "429:1"])
    e = emb(srv, retry_delay=30.0, max_retry_delay=60.0)
    t0 = time.perf_counter()
    got = e.encode(TEXTS[:3])
    elapsed = time.perf_counter() - t0
    np.testing.assert_allclose(got, fake_vectors(TEXTS[:3]), atol=1e-7)
    assert 1.8 <= elapsed < 10  # waited the server's 1 s twice, not the 30 s backoff
    assert e.n_requests == 4


def test_retry_after_is_capped_and_500_is_retried(server):
    srv = server(plan=["429:3600", "500"])
    t0 = time.perf_counter()
    emb(srv, max_retry_delay=0.2).encode(["a"])
    assert time.perf_counter() - t0 < 5 and srv.requests == 3


def test_persistent_500_fails_naming_url_status_and_attempts(server):
    srv = server(plan=["500"] * 10)
    with pytest.raises(EndpointError, match=r"/v1/embeddings failed after 3 attempts: HTTP 500: boom") as ei:
        emb(srv, retries=2).encode(["a"])
    assert ei.value.status == 500 and ei.value.attempts == 3 and srv.requests == 3


def test_400_is_not_retried(server):
    srv = server(plan=["400"])
    with pytest.raises(EndpointError, match=r"answered HTTP 400: input too long \(after 1 attempt; not retried\)"):
        emb(srv).encode(["a"])
    assert srv.requests == 1


def test_slow_answer_times_out_and_is_retried(server):
    srv = server(plan=["slow:1.5"])
    e = emb(srv, timeout=0.5)
    np.testing.assert_allclose(e.encode(["a", "b"]), fake_vectors(["a", "b"]), atol=1e-7)
    assert e.n_requests >= 2


def test_always_slow_fails_after_retries(server):
    srv = server(plan=["slow:1"] * 3)
    with pytest.raises(EndpointError, match=r"failed after 2 attempts: .*timed out"):
        emb(srv, timeout=0.3, retries=1).encode(["a"])


def test_malformed_json_is_an_error_and_earlier_chunks_stay_cached(server, tmp_path):
    srv = server(plan=["ok", "ok", "ok", "malformed"])
    e = emb(srv, tmp_path, batch_size=2, chunk_size=2, concurrency=1)
    with pytest.raises(EndpointError, match=r"answered HTTP 200 with a body that is not JSON: .*nothing from this "
                                            r"response was cached"):
        e.encode(TEXTS[:10])
    # probe text + two chunks of two were cached; a healthy rerun sends only the rest
    srv2 = server()
    e2 = emb(srv2, tmp_path, batch_size=2, chunk_size=2)
    np.testing.assert_allclose(e2.encode(TEXTS[:10]), fake_vectors(TEXTS[:10]), atol=1e-7)
    assert e2.n_encoded == 1 + 10 - 5


def test_finished_batches_of_a_failing_chunk_are_kept(server, tmp_path):
    srv = server(plan=["ok", "ok", "400"])  # probe, batch 1 fine, batch 2 refused (one chunk, one at a time)
    e = emb(srv, tmp_path, batch_size=3, concurrency=1)
    with pytest.raises(EndpointError, match="HTTP 400"):
        e.encode(TEXTS[:10])
    from diversity.embed import text_key

    held = [v is not None for v in e.cache.get_many([text_key(t) for t in TEXTS[:10]])]
    # the probe's text and the first batch are kept; the refused batch is not; the batch in flight may be
    assert held[:4] == [True] * 4 and held[4:7] == [False] * 3 and len(set(held[7:])) == 1


def test_wrong_dimension_is_an_error_naming_both_widths(server, tmp_path):
    srv = server(plan=["ok", "wrong-dim"])
    e = emb(srv, tmp_path, batch_size=50)
    with pytest.raises(EndpointError, match=r"with 7-dimensional vectors; expected 8 \(the width of its first "
                                            r"response\)"):
        e.encode(TEXTS)
    assert len(e.cache) == 1  # only the probe's vector


def test_expected_dim_is_checked_on_the_first_response(server):
    with pytest.raises(EndpointError, match=r"expected 384 \(the 'expected_dim' given\)"):
        emb(server(), expected_dim=384).encode(["a"])


def test_nan_and_other_model_and_missing_data_are_errors(server):
    with pytest.raises(EndpointError, match=r"with a body that is not JSON|NaN or infinity in 1 of 1 vectors"):
        emb(server(plan=["nan"])).encode(["a"])
    with pytest.raises(EndpointError, match=r"naming the model 'other-model', while its first response named "
                                            r"'all-MiniLM-L6-v2'"):
        emb(server(plan=["ok", "other-model"])).encode(["a", "b"])


def test_response_shape_errors():
    e = OpenAIEmbedder("http://127.0.0.1:9/v1", "m", cache=False)
    cases = [(b"[1, 2]", "JSON that is not an object"),
             (b'{"error": {"message": "quota"}}', "with an error: quota"),
             (b'{"object": "list"}', r"without a 'data' list \(keys: object\)"),
             (b'{"data": []}', "with 0 embeddings in 'data' for 1 input texts"),
             (b'{"data": [{"index": 3, "embedding": [1.0]}]}', r"data\[0\] not an object with a new 'index' in 0..0"),
             (b'{"data": [{"index": 0, "embedding": "AAAA"}]}', r"data\[0\].embedding not a non-empty list"),
             (b'{"data": [{"index": 0, "embedding": [NaN]}]}', r"NaN or infinity in 1 of 1 vectors")]
    for raw, msg in cases:
        e._post = lambda data, raw=raw: (200, raw, 1)
        with pytest.raises(EndpointError, match=msg):
            e._request(["a"])
    e._post = lambda data: (200, b'{"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1, 2]}]}', 1)
    with pytest.raises(EndpointError, match=r"vectors of several widths \(1, 2\)"):
        e._request(["a", "b"])


def test_refused_connection_is_retried_then_fails():
    e = OpenAIEmbedder("http://127.0.0.1:9/v1", "m", cache=False, retries=1, retry_delay=0.0, timeout=2.0)
    with pytest.raises(EndpointError, match=r"127.0.0.1:9/v1/embeddings failed after 2 attempts"):
        e.encode(["a"])


# ---- parameters ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw, msg", [
    (dict(base_url="localhost:8080"), r"'base_url' parameter of OpenAIEmbedder must be an http:// or https:// URL"),
    (dict(model=""), r"'model' parameter of OpenAIEmbedder must be the served model's name"),
    (dict(batch_size=0), r"'batch_size' parameter of OpenAIEmbedder must be an int in the range \[1, inf\)"),
    (dict(concurrency=True), r"'concurrency' parameter .* Got True instead"),
    (dict(retries=-1), r"'retries' parameter of OpenAIEmbedder must be an int in the range \[0, inf\)"),
    (dict(timeout=0), r"'timeout' parameter of OpenAIEmbedder must be a number of seconds in the range \(0, inf\)"),
    (dict(retry_delay=float("nan")), r"'retry_delay' parameter .* \[0, inf\)"),
    (dict(dimensions=8, expected_dim=9), r"'dimensions' \(8\) and 'expected_dim' \(9\) parameters of OpenAIEmbedder "
                                         r"disagree"),
])
def test_parameters_are_validated(kw, msg):
    args = dict(base_url="http://127.0.0.1:1/v1", model="m")
    args.update(kw)
    with pytest.raises(ValueError, match=msg):
        OpenAIEmbedder(args.pop("base_url"), args.pop("model"), cache=False, **args)


def test_non_string_text_is_a_type_error():
    with pytest.raises(TypeError, match=r"texts\[1\] is a int, not a str"):
        OpenAIEmbedder("http://127.0.0.1:1/v1", "m", cache=False).encode(["a", 3])


def test_api_key_is_sent_and_never_recorded(server, monkeypatch):
    seen = []
    srv = server()
    orig = srv.handle

    def handle(h):
        seen.append(h.headers.get("Authorization"))
        orig(h)

    srv.handle = handle
    e = emb(srv, api_key="sk-secret")
    e.encode(["a"])
    assert seen == ["Bearer sk-secret"] and "sk-secret" not in str(e.signature_fields()) + repr(e)


def test_cli_embed_endpoint(server, tmp_path, capsys):
    from diversity.cli import main

    srv = server(model_name="served-enc")
    f = tmp_path / "s.jsonl"
    f.write_text("".join(json.dumps({"prompt": f"p{i % 2}", "completion": t}) + "\n" for i, t in enumerate(TEXTS)))
    rc = main(["score", str(f), "--metrics", "mean-pairwise-distance", "--embed-endpoint", srv.url,
               "--embed-model", "enc", "--embed-batch-size", "4", "--embed-concurrency", "2", "--no-cache",
               "--format", "json", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "emb:openai:served-enc@8" in out
    assert max(len(b["input"]) for b in srv.bodies) == 4
    assert main(["score", str(f), "--metrics", "mean-pairwise-distance", "--embed-endpoint", srv.url]) == 2
    assert "--embed-endpoint needs --embed-model" in capsys.readouterr().err


def test_pickles_for_workers(server):
    import pickle

    srv = server()
    e = emb(srv)
    e.encode(["a"])
    e2 = pickle.loads(pickle.dumps(e))
    np.testing.assert_allclose(e2.encode(["a", "b"]), fake_vectors(["a", "b"]), atol=1e-7)
    assert e2.signature_fields() == e.signature_fields()


@pytest.mark.slow
def test_score_dask_with_the_endpoint_embedder(server, tmp_path):
    pytest.importorskip("dask.dataframe")
    import diversity
    from diversity.distributed import score_dask

    srv = server(model_name="served")
    f = tmp_path / "s.jsonl"
    f.write_text("".join(json.dumps({"prompt": f"p{i % 3}", "completion": t}) + "\n" for i, t in enumerate(TEXTS)))
    e = emb(srv)
    got = score_dask([str(f)], ["mean-pairwise-distance"], embedder=e, ci=False)["mean-pairwise-distance"]
    want = diversity.score(diversity.load_samples(f), ["mean-pairwise-distance"], embedder=emb(srv),
                           ci=False)["mean-pairwise-distance"]
    assert got.value == pytest.approx(want.value, abs=1e-12) and "emb:openai:served@8" in got.signature
