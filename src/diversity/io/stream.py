"""Reading sample files in pieces: memory bounded by a chunk of rows, not by
the file. Rows come from the one reader (:mod:`diversity.io.reader`), so the
formats (JSONL, CSV/TSV, plain or gzip, and Parquet), checks and messages are
those of :func:`~diversity.load_samples` (file and line counted from the bytes).

:func:`score_file` feeds the rows to a :class:`~diversity.core.state.State`:
a file grouped by prompt (all rows of a prompt together, as the sampler writes
them) is scored prompt by prompt as it is read; a prompt that comes back
after another one started is an error that says how to sort the file, unless
``grouped=False`` (then every prompt stays open until the end, and memory
grows with the file).
"""

from __future__ import annotations

import os
from typing import Any, Hashable, Iterator, Sequence, Union

from .reader import SampleFileError, iter_samples

__all__ = ["iter_rows", "score_file"]


def iter_rows(source: Union[str, os.PathLike], *, prompt_field: str | None = "prompt",
              completion_field: str = "completion", completions_field: str = "completions",
              format: str | None = None, encoding: str = "utf-8") -> Iterator[tuple[str, Hashable, list[str]]]:
    """``(location, prompt key, completions)`` for every row, read incrementally by the one reader
    (:func:`diversity.io.reader.iter_samples`)."""
    return iter_samples(source, prompt_field=prompt_field, completion_field=completion_field,
                        completions_field=completions_field, format=format, encoding=encoding)


class _NotGrouped(SampleFileError):
    pass


def score_file(source: Union[str, os.PathLike], metrics: Sequence[Any], *, grouped: bool | None = None,
               chunk_rows: int = 50_000, prompt_field: str | None = "prompt", completion_field: str = "completion",
               format: str | None = None, encoding: str = "utf-8", embedder: Any = None, options: Any = None,
               aggregate: str | None = None) -> dict[str, Any]:
    """Score a sample file read in chunks of ``chunk_rows`` rows (see the module docstring).

    ``grouped``: ``True`` (the file is grouped by prompt; a prompt that comes
    back is an error), ``False`` (hold every prompt until the end), or
    ``None`` (default: read it as grouped, and if a prompt comes back, read it
    again holding every prompt, with a warning).

    Returns ``spec -> DiversityResult``, the same numbers as :func:`diversity.score`
    on :func:`diversity.load_samples` of the file.
    """
    if grouped is None:
        try:
            return score_file(source, metrics, grouped=True, chunk_rows=chunk_rows, prompt_field=prompt_field,
                              completion_field=completion_field, format=format, encoding=encoding, embedder=embedder,
                              options=options, aggregate=aggregate)
        except _NotGrouped as e:
            from ..core.errors import warn

            warn(f"{e.args[0].split(': the file')[0]}: the file is not grouped by prompt; reading it again with every "
                 "prompt held in memory until the end (sort it by prompt to score it in bounded memory).", UserWarning)
            grouped = False
    from ..core.options import Options
    from ..core.registry import resolve_metric
    from ..core.state import State

    objs = [resolve_metric(m) for m in metrics]
    opts = options or Options.default("score")
    mode = "single" if prompt_field is None else (aggregate or "per-prompt")
    state = State(objs, opts, mode, embedder=embedder)
    finished: dict[Hashable, str] = {}
    open_key: Hashable = object()
    pending: dict[Hashable, list[str]] = {}
    last_loc = ""
    n = 0
    for loc, key, texts in iter_rows(source, prompt_field=prompt_field, completion_field=completion_field,
                                     format=format, encoding=encoding):
        key = 0 if prompt_field is None else key
        n += 1
        if grouped and mode == "per-prompt" and key in finished:
            raise _NotGrouped(f"{loc}: prompt {key!r} appears again after its rows ended at {finished[key]}: the "
                                  "file is not grouped by prompt. Sort it by prompt (e.g. in Python: rows.sort(key="
                                  "lambda r: r['prompt'])), or pass grouped=False (CLI: --not-grouped; every prompt then "
                                  "stays in memory until the end).")
        if key != open_key and open_key in pending and grouped and mode == "per-prompt":
            finished[open_key] = last_loc
        pending.setdefault(key, []).extend(texts)
        open_key, last_loc = key, loc
        if n % chunk_rows == 0:
            done = {k: v for k, v in pending.items() if k != open_key} if grouped and mode == "per-prompt" else {}
            if done:
                state.update({k: {"texts": v} for k, v in done.items()}, complete=True)
            if not grouped or mode != "per-prompt":
                state.update({k: {"texts": v} for k, v in pending.items()}, complete=False)
                pending = {}
            else:
                pending = {open_key: pending[open_key]}
    if n == 0:
        raise SampleFileError(f"{source}: no rows.")
    if pending:
        state.update({k: {"texts": v} for k, v in pending.items()}, complete=not (not grouped or mode != "per-prompt"))
    return dict(zip([m.spec for m in objs], state.results()))
