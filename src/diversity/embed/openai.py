"""Embeddings from an OpenAI-compatible ``/v1/embeddings`` server (OpenAI,
Text Embeddings Inference, vLLM ``--task embed``, Infinity, Ollama...),
standard library only.

Texts are deduplicated, looked up in the on-disk
:class:`~diversity.embed.cache.EmbeddingCache`, and the missing ones are sent
in batches of ``batch_size`` with at most ``concurrency`` requests in flight.
Every chunk of ``chunk_size`` texts is written to the cache as soon as it is
back; when a request fails for good, the batches already answered are written
before the error is raised, so a failure costs at most the requests in flight.

Identity. Vectors are namespaced by what the *server* reports, never by the
URL: the first request of an embedder (one text) reads the response's
``model`` field and the vectors' width, and the cache folder and the
signature are ``openai:<model>@<dim>`` (``emb:openai:<model>@<dim>``). Two
URLs serving the same model share a cache; one URL that starts serving
another model (another name or width) gets another folder. A server that
reports a model name but serves other weights under it cannot be told apart:
give such deployments distinct names. A later response that names another
model than the first is an error.

Retries follow the sampler's :class:`~diversity.generation.OpenAIBackend`:
HTTP 408, 429 and 5xx, refused or reset connections, timeouts and truncated
bodies are retried with exponential backoff from ``retry_delay``, a
``Retry-After`` header replacing the delay, every wait capped at
``max_retry_delay``. Anything else (another 4xx, a body that is not JSON, a
response without one finite vector of the expected width per text) is an
:class:`~diversity.generation.EndpointError` at once, naming the URL and what
was wrong; nothing from that response is cached.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait as _wait
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np

from ..generation.config import EndpointError, retry_after as _retry_after, server_message as _server_message
from ..core.errors import InvalidParameterError
from .cache import EmbeddingCache, default_cache_dir, text_key

__all__ = ["OpenAIEmbedder"]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _int_param(value: Any, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InvalidParameterError(f"The '{name}' parameter of OpenAIEmbedder must be an int in the range [{low}, inf). "
                         f"Got {value!r} instead.")
    return int(value)


def _seconds(value: Any, name: str, positive: bool) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and (
        value > 0 if positive else value >= 0)
    if not ok:
        rng = "(0, inf)" if positive else "[0, inf)"
        raise InvalidParameterError(f"The '{name}' parameter of OpenAIEmbedder must be a number of seconds in the range {rng}. "
                         f"Got {value!r} instead.")
    return float(value)


class OpenAIEmbedder:
    """Sentence embeddings from an OpenAI-compatible embeddings endpoint.

    Parameters
    ----------
    base_url : str
        The API root, e.g. ``"http://127.0.0.1:8080/v1"``; requests go to
        ``<base_url>/embeddings``.
    model : str
        The model name sent in every request. The name the server *reports*
        is what is recorded (signature and cache).
    api_key : str or None
        Sent as ``Authorization: Bearer``; default ``$OPENAI_API_KEY`` when
        set. Never recorded.
    dimensions : int or None
        Sent as ``dimensions`` (servers that can shorten their vectors, such
        as OpenAI's text-embedding-3 models); the vectors must then have this
        width. Recorded through the width in the signature.
    expected_dim : int or None
        The width the vectors must have (checked on every response); default:
        ``dimensions``, else the width of the first response.
    batch_size : int, default 64
        Texts per request.
    concurrency : int, default 4
        Requests in flight at most.
    chunk_size : int, default 1024
        Missing texts are sent and written to the cache this many at a time
        (rounded up to whole batches). Never changes a vector.
    timeout : float, default 60
        Seconds per attempt (connecting and reading).
    retries : int, default 3
        Retries after the first attempt of a request (``0``: one attempt).
    retry_delay, max_retry_delay : float, default 1 and 60
        Seconds before the first retry (doubling after each), and the longest
        wait (also for ``Retry-After``).
    cache : bool or path, default True
        ``True``: :func:`~diversity.embed.default_cache_dir`; a path: that
        folder; ``False``: no disk cache.

    Attributes
    ----------
    model_id, revision
        ``openai:<reported model>`` and the width (``"384"``): the signature
        field is ``emb:openai:<model>@<dim>``. Reading either sends the probe
        request when no request was made yet.
    n_encoded, n_requests
        Texts embedded by the server (not from the cache), and HTTP attempts.

    Raises
    ------
    diversity.generation.EndpointError
        From :meth:`encode`, when the endpoint fails or answers without one
        finite vector of the expected width per text.

    Examples
    --------
    >>> e = OpenAIEmbedder("http://127.0.0.1:8080/v1", "bge-m3", concurrency=16, batch_size=256, cache=False)
    >>> e.base_url, e.concurrency
    ('http://127.0.0.1:8080/v1', 16)
    """

    backend = "openai-endpoint"
    device = None

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, dimensions: int | None = None,
                 expected_dim: int | None = None, batch_size: int = 64, concurrency: int = 4,
                 chunk_size: int = 1024, timeout: float = 60.0, retries: int = 3, retry_delay: float = 1.0,
                 max_retry_delay: float = 60.0, cache: Union[bool, str, os.PathLike] = True) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise InvalidParameterError(f"The 'base_url' parameter of OpenAIEmbedder must be an http:// or https:// URL such as "
                             f"'http://127.0.0.1:8080/v1'. Got {base_url!r} instead.")
        if not isinstance(model, str) or not model.strip():
            raise InvalidParameterError(f"The 'model' parameter of OpenAIEmbedder must be the served model's name (a non-empty "
                             f"str). Got {model!r} instead.")
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/embeddings"
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.dimensions = None if dimensions is None else _int_param(dimensions, "dimensions")
        self.expected_dim = None if expected_dim is None else _int_param(expected_dim, "expected_dim")
        if self.dimensions and self.expected_dim and self.dimensions != self.expected_dim:
            raise InvalidParameterError(f"The 'dimensions' ({self.dimensions}) and 'expected_dim' ({self.expected_dim}) "
                             "parameters of OpenAIEmbedder disagree; give one.")
        self.batch_size = _int_param(batch_size, "batch_size")
        self.concurrency = _int_param(concurrency, "concurrency")
        self.chunk_size = _int_param(chunk_size, "chunk_size")
        self.timeout = _seconds(timeout, "timeout", True)
        self.retries = _int_param(retries, "retries", 0)
        self.retry_delay = _seconds(retry_delay, "retry_delay", False)
        self.max_retry_delay = _seconds(max_retry_delay, "max_retry_delay", False)
        if cache is True:
            cache = default_cache_dir()
        self._cache_root = Path(cache) if cache else None
        self.cache: EmbeddingCache | None = None
        self._reported: str | None = None  # the model name the server reports
        self._dim: int | None = self.dimensions or self.expected_dim
        self._probed = False
        self._lock = threading.Lock()
        self.n_encoded = 0
        self.n_requests = 0

    # -- identity ------------------------------------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        self._probe()
        return f"openai:{self._reported}"

    @property
    def revision(self) -> str:
        self._probe()
        return str(self._dim)

    @property
    def dim(self) -> int | None:
        """The vectors' width (``None`` before the first request, unless given)."""
        return self._dim

    def signature_fields(self) -> list[tuple[str, object]]:
        """``emb:openai:<reported model>@<dim>``."""
        return [("emb", f"{self.model_id}@{self.revision}")]

    def _probe(self, text: str = "diversity: endpoint probe") -> np.ndarray | None:
        """Learn the reported model and width from one request (once); returns the vector of ``text``."""
        if self._probed:
            return None
        vec = self._request([text])[0]
        self._open_cache()
        return vec

    def _open_cache(self) -> None:
        self._probed = True
        if self._cache_root is not None and self.cache is None:
            self.cache = EmbeddingCache(self._cache_root, f"openai:{self._reported}@{self._dim}", dim=self._dim)

    # -- HTTP ----------------------------------------------------------------------------------------------------

    def _request(self, batch: list[str]) -> np.ndarray:
        """Vectors of ``batch`` from the server (retried per the policy), checked."""
        body: dict[str, Any] = {"model": self.model, "input": batch, "encoding_format": "float"}
        if self.dimensions:
            body["dimensions"] = self.dimensions
        status, raw, attempt = self._post(json.dumps(body).encode("utf-8"))
        where = f"{self.url} answered HTTP {status}"

        def fail(what: str) -> EndpointError:
            return EndpointError(f"{where} {what} (after {_plural(attempt, 'attempt')}); nothing from this response "
                                 "was cached", url=self.url, status=status, attempts=attempt)

        try:
            obj = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise fail(f"with a body that is not JSON: {_server_message(raw)!r}") from None
        if not isinstance(obj, dict):
            raise fail(f"with JSON that is not an object: {_server_message(raw)!r}")
        if obj.get("error"):
            raise fail(f"with an error: {_server_message(raw)}")
        data = obj.get("data")
        if not isinstance(data, list):
            raise fail(f"without a 'data' list (keys: {', '.join(sorted(map(str, obj))) or 'none'})")
        if len(data) != len(batch):
            raise fail(f"with {len(data)} embeddings in 'data' for {len(batch)} input texts")
        rows: list[Any] = [None] * len(batch)
        for pos, item in enumerate(data):
            i = item.get("index", pos) if isinstance(item, dict) else None
            if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(batch) or rows[i] is not None:
                raise fail(f"with data[{pos}] not an object with a new 'index' in 0..{len(batch) - 1}")
            emb = item.get("embedding")
            if not isinstance(emb, list) or not emb or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in emb):
                raise fail(f"with data[{pos}].embedding not a non-empty list of numbers")
            rows[i] = emb
        widths = sorted({len(r) for r in rows})
        if len(widths) > 1:
            raise fail(f"with vectors of several widths ({', '.join(map(str, widths))}) in one response")
        arr = np.asarray(rows, dtype=np.float64)
        bad = ~np.isfinite(arr).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise fail(f"with NaN or infinity in {int(bad.sum())} of {len(batch)} vectors, e.g. for the text "
                       f"{batch[i][:80]!r}")
        reported = obj.get("model") if isinstance(obj.get("model"), str) and obj.get("model") else self.model
        with self._lock:
            if self._dim is not None and arr.shape[1] != self._dim:
                src = ("the 'dimensions' asked for" if self.dimensions else "the 'expected_dim' given"
                       if self.expected_dim else "the width of its first response")
                raise fail(f"with {arr.shape[1]}-dimensional vectors; expected {self._dim} ({src})")
            if self._reported is not None and reported != self._reported:
                raise fail(f"naming the model {reported!r}, while its first response named {self._reported!r}; "
                           "vectors of two models are never mixed")
            self._dim, self._reported = arr.shape[1], reported
        return arr.astype(np.float32)

    def _post(self, data: bytes) -> tuple[int, bytes, int]:
        """``(status, body, attempts)`` of a successful POST, after retrying what is transient."""
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        attempts = self.retries + 1
        last, last_status, last_message = "", None, None
        for attempt in range(1, attempts + 1):
            with self._lock:
                self.n_requests += 1
            req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            delay: float | None = None
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return resp.status, resp.read(), attempt
            except urllib.error.HTTPError as e:
                try:
                    raw = e.read()
                except (OSError, http.client.HTTPException):
                    raw = b""
                last_status, last_message = e.code, _server_message(raw) or str(e.reason)
                last = f"HTTP {e.code}: {last_message}"
                if not (e.code in (408, 429) or e.code >= 500):
                    raise EndpointError(f"{self.url} answered HTTP {e.code}: {last_message} (after "
                                        f"{_plural(attempt, 'attempt')}; not retried)", url=self.url, status=e.code,
                                        server_message=last_message, attempts=attempt) from None
                delay = _retry_after(e.headers.get("Retry-After") if e.headers else None)
            except (OSError, http.client.HTTPException) as e:  # refused, reset, timed out, truncated body
                reason = e.reason if isinstance(e, urllib.error.URLError) else e
                last_status, last_message = None, None
                last = (reason if isinstance(reason, str) else
                        f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__)
            if attempt < attempts:
                if delay is None:
                    delay = self.retry_delay * 2 ** (attempt - 1)
                time.sleep(min(delay, self.max_retry_delay))
        raise EndpointError(f"{self.url} failed after {_plural(attempts, 'attempt')}: {last}", url=self.url,
                            status=last_status, server_message=last_message, attempts=attempts)

    # -- encoding ------------------------------------------------------------------------------------------------

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` (float32, one row per text, input order).

        Raises :class:`~diversity.generation.EndpointError` when the server
        fails or answers with something other than one finite vector of the
        expected width per text; chunks and batches finished before stay
        cached.
        """
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"OpenAIEmbedder.encode: texts[{i}] is a {type(t).__name__}, not a str.")
        unique = list(dict.fromkeys(texts))
        if not unique:
            return np.empty((0, 0), dtype=np.float32)
        found: list[np.ndarray | None] = [None] * len(unique)
        if not self._probed:
            found[0] = self._probe(unique[0])
            self.n_encoded += 1
            if self.cache is not None:
                self.cache.put_many([text_key(unique[0])], found[0][None, :])
        keys = [text_key(t) for t in unique]
        if self.cache is not None:
            cached = self.cache.get_many(keys)
            found = [f if f is not None else c for f, c in zip(found, cached)]
        missing = [i for i, v in enumerate(found) if v is None]
        per_chunk = -(-self.chunk_size // self.batch_size) * self.batch_size
        for start in range(0, len(missing), per_chunk):
            self._encode_chunk(missing[start:start + per_chunk], unique, keys, found)
        table = np.stack(found).astype(np.float32, copy=False)
        pos = {t: i for i, t in enumerate(unique)}
        return table[[pos[t] for t in texts]]

    def _encode_chunk(self, chunk: list[int], unique: list[str], keys: list[bytes], found: list) -> None:
        batches = [chunk[b:b + self.batch_size] for b in range(0, len(chunk), self.batch_size)]
        done: list[tuple[list[int], np.ndarray]] = []
        error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batches))) as pool:
            futures: dict[Future, list[int]] = {pool.submit(self._request, [unique[i] for i in b]): b
                                                for b in batches}
            pending = set(futures)
            while pending and error is None:
                finished, pending = _wait(pending, return_when=FIRST_EXCEPTION)
                for f in finished:
                    if f.exception() is not None:
                        error = error or f.exception()
                    else:
                        done.append((futures[f], f.result()))
            for f in pending:
                f.cancel()
            for f in pending:  # requests already in flight: keep what they bring back
                if not f.cancelled():
                    try:
                        done.append((futures[f], f.result()))
                    except BaseException:
                        pass
        if done:
            idx = [i for b, _ in done for i in b]
            vecs = np.concatenate([v for _, v in done])
            for i, v in zip(idx, vecs):
                found[i] = v
            self.n_encoded += len(idx)
            if self.cache is not None:
                self.cache.put_many([keys[i] for i in idx], vecs)
        if error is not None:
            raise error

    def __getstate__(self) -> dict:  # picklable (score_dask ships embedders to workers): no lock
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        who = f"{self._reported!r}@{self._dim}" if self._probed else f"{self.model!r} (not contacted yet)"
        return f"OpenAIEmbedder({self.base_url!r}, {who})"

