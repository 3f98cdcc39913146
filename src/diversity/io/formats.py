"""Readers for the formats researchers' completions already sit in, each
turned into the library's rows (``prompt``, ``prompt_id``, ``completion``,
``sample_index`` and what the format records about provenance) and from there
into samples (prompt -> completions), so that every format scores and compares
with the numbers of the equivalent JSONL.

Formats (``format=`` of :func:`~diversity.load_samples`, CLI ``--format-in``)

``lm-eval``
    lm-evaluation-harness ``--log_samples`` files (``samples_<task>_<date>.jsonl``):
    one row per document and filter. The prompt is the request's context,
    ``arguments.gen_args_0.arg_0`` (also the older list form
    ``arguments[0][0]``); it is the text the model saw, chat template
    included when lm-eval applied one. The completions are the k sampled
    responses ``resps[0]`` (``repeats: k`` in the task); ``filtered_resps``
    (what a filter kept, often only the first response) on request.
    ``prompt_id`` is ``doc_id``: use it (``prompt_field="prompt_id"``, CLI
    ``--prompt-field prompt_id``) to match a run with a chat template against
    one without. A document logged once per filter is read once (its
    ``resps`` must agree). Only ``generate_until`` tasks hold sampled text:
    a log-likelihood task is refused.
``inspect``
    inspect-ai eval logs: ``.eval`` files (a zip holding ``header.json`` and
    ``samples/<id>_epoch_<n>.json``) and ``.json`` logs (one object with
    ``eval`` and ``samples``). Every epoch of a sample is one completion of
    its prompt (``sample_index`` = epoch - 1; with several choices per
    output, every choice in turn). The prompt is the sample's ``input``
    (a string, or chat messages rendered as below); the completion is the
    text of ``output.choices[i].message.content`` (text parts concatenated;
    reasoning parts left out). ``prompt_id`` is the sample id; ``model`` and
    ``task`` come from the log's ``eval``. A sample that ended in an error
    is refused, naming its id and epoch.
``chat``
    OpenAI-style chat rows, one JSON object per line with ``messages``
    (``[{"role": ..., "content": ...}, ...]``). The completion is the
    assistant message after the last user turn (exactly one message, role
    ``assistant``); the prompt is the conversation up to and including the
    last user turn: the user's text alone when that is the whole
    conversation, otherwise every message as ``"<role>: <text>"`` joined by
    blank lines (a system prompt or earlier turns make a different prompt).
    Content may be a string or a list of parts; text parts are concatenated,
    any other part is refused. ``id`` (or ``prompt_id``), ``model`` and
    ``chat_template`` are kept on the rows when present (the template a
    model saw is thus recorded with its completions).

Hugging Face ``datasets``
    :func:`from_dataset` reads a ``Dataset``, ``DatasetDict`` (one split,
    chosen with ``split=``) or ``IterableDataset`` with column arguments,
    in the row shapes of files (one completion per row, a list of
    completions per row, or chat ``messages``); :func:`diversity.load_samples`
    accepts these objects too. Pass the result to ``score`` or ``compare``.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from pathlib import Path
from typing import Any, Hashable, Iterator, Union

from ..core.errors import InvalidParameterError
from .hf_datasets import from_dataset, is_hf_dataset
from .lines import SampleFileError

__all__ = ["EXTRA_FORMATS", "from_dataset", "read_format", "iter_format_records", "sniff_format", "chat_row",
           "is_hf_dataset"]

EXTRA_FORMATS = ("lm-eval", "inspect", "chat")
"""The formats this module reads (besides the plain jsonl/csv/tsv/parquet rows of :mod:`diversity.io.reader`)."""

_LM_EVAL_NAME = re.compile(r"^samples_(.+)_\d{4}-\d{2}-\d{2}T[\d.:-]+\.jsonl(?:\.gz)?$")
_INSPECT_HEAD = re.compile(rb'^\s*\{\s*"version"\s*:\s*\d+\s*,\s*"status"\s*:')


def _fields(row: dict) -> str:
    return ", ".join(map(str, row)) or "none"


def _short(x: Any, n: int = 80) -> str:
    text = x if isinstance(x, str) else json.dumps(x, ensure_ascii=False, default=str)
    return repr(text if len(text) <= n else text[:n] + "...")


# -- detection -----------------------------------------------------------------------------------------------------

def sniff_format(path: Path, fmt: str, head: bytes) -> str:
    """Refine the reader's guess: an inspect log (``.eval`` zip, or a JSON log object), an lm-eval sample
    log or chat rows (JSONL whose first row says so); otherwise ``fmt`` unchanged."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".eval" and head[:4] == b"PK\x03\x04":
        return "inspect"
    if fmt != "jsonl":
        return fmt
    if _INSPECT_HEAD.match(head.lstrip(b"\xef\xbb\xbf")):  # an inspect JSON log (often pretty-printed)
        return "inspect"
    first = _first_line(path, head)
    if first is None:
        return fmt
    try:
        row = json.loads(first.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return fmt
    if isinstance(row, dict):
        if "doc_id" in row and "resps" in row and "arguments" in row:
            return "lm-eval"
        if isinstance(row.get("messages"), list) and "completion" not in row and "completions" not in row:
            return "chat"
    return fmt


SNIFF_LIMIT = 1 << 24
"""Bytes of the first line read to tell lm-eval and chat rows from plain ones (an lm-eval row of k long
responses is easily longer than the reader's 4 kB head)."""


def _first_line(path: Path, head: bytes) -> bytes | None:
    """The first non-blank line (BOM dropped, gzip looked through), at most :data:`SNIFF_LIMIT` bytes."""
    import gzip

    try:
        with (gzip.open(path, "rb") if head[:2] == b"\x1f\x8b" else open(path, "rb")) as f:
            for _ in range(1000):
                line = f.readline(SNIFF_LIMIT)
                if not line:
                    return None
                line = line.lstrip(b"\xef\xbb\xbf")
                if line.strip():
                    return line.strip()
    except (OSError, EOFError, zlib.error):
        return None
    return None


# -- rows ----------------------------------------------------------------------------------------------------------

def iter_format_records(path: Union[str, os.PathLike], fmt: str, *, encoding: str = "utf-8",
                        responses: str = "resps", filter: str | None = None) -> Iterator[tuple[str, dict]]:
    """``(location, row)`` in the library's row shape for a file of one of :data:`EXTRA_FORMATS`."""
    path = Path(path)
    if fmt == "inspect":
        from .inspect_log import inspect_rows

        yield from inspect_rows(path)
        return
    from .reader import iter_records

    source = iter_records(path, format="jsonl", encoding=encoding)
    if fmt == "lm-eval":
        task = _LM_EVAL_NAME.match(path.name)
        for loc, row in _lm_eval_rows(source, responses=responses, filter=filter):
            if task:  # lm-eval names the file samples_<task>_<date>.jsonl
                row["task"] = task.group(1)
            yield loc, row
    elif fmt == "chat":
        for loc, row in source:
            yield loc, chat_row(row, loc)
    else:
        raise ValueError(f"Unknown format {fmt!r}; this reader knows {', '.join(EXTRA_FORMATS)}.")


def read_format(source: Union[str, os.PathLike], format: str | None = None, *, prompt_field: str | None = "prompt",
                encoding: str = "utf-8", responses: str = "resps", filter: str | None = None
                ) -> dict[Hashable, list[str]]:
    """Completions grouped by prompt from an lm-eval, inspect-ai or chat file.

    Parameters
    ----------
    source : path
    format : {"lm-eval", "inspect", "chat"} or None
        ``None``: detected from the name and first bytes.
    prompt_field : {"prompt", "prompt_id"} or None, default "prompt"
        Group by the prompt text, or by the format's id (lm-eval ``doc_id``,
        inspect sample id, chat ``id``). ``None``: one set.
    responses : {"resps", "filtered_resps"}, default "resps"
        lm-eval only: the k sampled responses, or what the filter kept.
    filter : str or None
        lm-eval only: with ``responses="filtered_resps"``, the filter to read
        when the log holds several.

    Returns
    -------
    dict
        ``prompt -> completions``, for :func:`diversity.score` and :func:`diversity.compare`.

    Examples
    --------
    >>> import os, tempfile, json
    >>> path = os.path.join(tempfile.mkdtemp(), "chat.jsonl")
    >>> rows = [{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": a}]} for a in "xy"]
    >>> _ = open(path, "w").write("".join(json.dumps(r) + "\\n" for r in rows))
    >>> read_format(path)
    {'Hi': ['x', 'y']}
    """
    from .reader import resolve

    if format is not None and format not in EXTRA_FORMATS:
        raise ValueError(f"Unknown format {format!r} for read_format; use one of {', '.join(EXTRA_FORMATS)} (plain "
                         "rows: diversity.load_samples).")
    path, fmt = resolve(source, None, encoding) if format is None else (Path(source), format)
    if fmt not in EXTRA_FORMATS:
        raise SampleFileError(f"{path}: not an lm-eval, inspect-ai or chat file (read as {fmt}); pass format= or "
                              "use diversity.load_samples for plain rows.")
    out: dict[Hashable, list[str]] = {}
    for loc, row in iter_format_records(path, fmt, encoding=encoding, responses=responses, filter=filter):
        key = None if prompt_field is None else _key(row, loc, prompt_field)
        out.setdefault(key, []).append(row["completion"])
    if not out:
        raise SampleFileError(f"{path}: no completions.")
    return out


def _key(row: dict, loc: str, field: str) -> Hashable:
    from .reader import prompt_key

    return prompt_key(row, loc, field)


# -- lm-evaluation-harness -----------------------------------------------------------------------------------------

def _lm_eval_rows(records: Iterator[tuple[str, Any]], *, responses: str, filter: str | None
                  ) -> Iterator[tuple[str, dict]]:
    if responses not in ("resps", "filtered_resps"):
        raise InvalidParameterError(f"The 'responses' parameter must be 'resps' or 'filtered_resps'. Got {responses!r} instead.")
    seen: dict[Any, tuple[str, Any]] = {}  # doc_id -> (where, responses) of the row read
    filters: dict[str, str] = {}
    for loc, row in records:
        if not isinstance(row, dict):
            raise SampleFileError(f"{loc}: expected an lm-eval sample object, got {type(row).__name__}.")
        for field in ("doc_id", "arguments", responses):
            if field not in row:
                raise SampleFileError(f"{loc}: not an lm-evaluation-harness sample row: no {field!r} field (fields: "
                                      f"{_fields(row)}); sample logs are written by lm_eval --log_samples.")
        name = row.get("filter", "none")
        if responses == "filtered_resps":
            if filter is not None and name != filter:
                continue
            filters.setdefault(str(name), loc)
            if filter is None and len(filters) > 1:
                raise SampleFileError(f"{loc}: the log holds several filters ({', '.join(sorted(filters))}); pass "
                                      "filter= to choose the one whose filtered_resps to read.")
        doc = row["doc_id"]
        prompt = _lm_eval_prompt(row["arguments"], loc)
        texts = _lm_eval_texts(row[responses], loc, responses)
        if doc in seen:
            where, before = seen[doc]
            if before != texts:
                raise SampleFileError(f"{loc}: doc_id {doc!r} is logged again with other {responses} than at "
                                      f"{where}; one document must have one set of responses.")
            continue  # the same document logged for another filter
        seen[doc] = (loc, texts)
        for j, t in enumerate(texts):
            out = {"prompt": prompt, "prompt_id": doc, "completion": t, "sample_index": j, "doc_id": doc,
                   "filter": name}
            if "target" in row:
                out["target"] = row["target"]
            yield loc, out
    if responses == "filtered_resps" and filter is not None and filter not in filters:
        raise SampleFileError(f"no row of filter {filter!r} in the log.")


def _lm_eval_prompt(arguments: Any, loc: str) -> str:
    if isinstance(arguments, dict):  # lm-eval >= 0.4.3: {"gen_args_0": {"arg_0": context, "arg_1": kwargs}}
        requests = [arguments[k] for k in sorted(arguments, key=lambda k: (len(k), k))]
        args = [r.get("arg_0") if isinstance(r, dict) else None for r in requests]
    elif isinstance(arguments, list):  # older: [[context, kwargs], ...]
        requests = arguments
        args = [r[0] if isinstance(r, list) and r else None for r in requests]
    else:
        raise SampleFileError(f"{loc}: 'arguments' must be an object (gen_args_0...) or a list, got "
                              f"{type(arguments).__name__}.")
    if len(requests) != 1:
        raise SampleFileError(f"{loc}: the document has {len(requests)} requests in 'arguments' (a log-likelihood or "
                              "multiple-choice task); only generate_until tasks hold sampled completions.")
    if not isinstance(args[0], str):
        raise SampleFileError(f"{loc}: 'arguments.gen_args_0.arg_0' (the prompt) is {_short(args[0])}, not a string.")
    return args[0]


def _lm_eval_texts(value: Any, loc: str, field: str) -> list[str]:
    if not isinstance(value, list) or len(value) != 1:
        raise SampleFileError(f"{loc}: {field!r} must hold one entry per request (one request: a generate_until "
                              f"task); got {_short(value)}.")
    texts = value[0]
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts:
        raise SampleFileError(f"{loc}: '{field}[0]' must be a non-empty list of generated strings, got "
                              f"{_short(texts)}.")
    for j, t in enumerate(texts):
        if not isinstance(t, str):
            raise SampleFileError(f"{loc}: '{field}[0][{j}]' is {_short(t)}, not a generated string (a "
                                  "log-likelihood task logs numbers; only generate_until tasks hold text).")
    return texts


# -- chat rows -----------------------------------------------------------------------------------------------------

def _content(content: Any, loc: str, where: str, *, skip_reasoning: bool = False) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif kind == "reasoning" and skip_reasoning:
                continue
            else:
                raise SampleFileError(f"{loc}: {where}[{j}] is {_short(part)}; only text parts can be read (type "
                                      "'text' with a 'text' string).")
        return "".join(parts)
    raise SampleFileError(f"{loc}: {where} is {_short(content)}, not a string or a list of text parts.")


def _messages(messages: Any, loc: str, field: str, *, skip_reasoning: bool = False) -> list[tuple[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise SampleFileError(f"{loc}: {field!r} must be a non-empty list of messages, got {_short(messages)}.")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise SampleFileError(f"{loc}: {field}[{i}] is {_short(m)}, not a message with a 'role' string.")
        if "content" not in m:
            raise SampleFileError(f"{loc}: {field}[{i}] ({m['role']}) has no 'content'.")
        out.append((m["role"], _content(m["content"], loc, f"{field}[{i}].content", skip_reasoning=skip_reasoning)))
    return out


def render_prompt(turns: list[tuple[str, str]]) -> str:
    """The prompt of a conversation that ends with a user turn: the user's text alone when it is the only
    message, else ``"<role>: <text>"`` blocks joined by blank lines."""
    if len(turns) == 1:
        return turns[0][1]
    return "\n\n".join(f"{role}: {text}" for role, text in turns)


def chat_row(row: Any, loc: str, field: str = "messages") -> dict:
    """One chat row (``{"messages": [...], ...}``) as a library row; see the module docstring."""
    if not isinstance(row, dict):
        raise SampleFileError(f"{loc}: expected a chat row object, got {type(row).__name__}.")
    if field not in row:
        raise SampleFileError(f"{loc}: not a chat row: no {field!r} field (fields: {_fields(row)}).")
    turns = _messages(row[field], loc, field)
    users = [i for i, (role, _) in enumerate(turns) if role == "user"]
    if not users:
        raise SampleFileError(f"{loc}: {field!r} has no user turn; the prompt is the conversation up to the last one.")
    last = users[-1]
    after = turns[last + 1:]
    if not after:
        raise SampleFileError(f"{loc}: {field!r} ends with a user turn ({field}[{last}]): there is no assistant reply "
                              "to read as the completion.")
    if len(after) > 1 or after[0][0] != "assistant":
        roles = ", ".join(r for r, _ in after)
        raise SampleFileError(f"{loc}: after the last user turn ({field}[{last}]) {field!r} must hold exactly one "
                              f"assistant message (the completion); it holds: {roles}.")
    out: dict[str, Any] = {"prompt": render_prompt(turns[:last + 1]), "completion": after[0][1]}
    for src, dst in (("id", "prompt_id"), ("prompt_id", "prompt_id"), ("model", "model"),
                     ("chat_template", "chat_template")):
        if src in row and dst not in out:
            out[dst] = row[src]
    return out
