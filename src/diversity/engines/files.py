"""The file engine: a sample file read in chunks, memory bounded by a chunk of rows, not by the file.

Rows come from the one reader (:mod:`diversity.io.reader`), so the formats
(JSONL, CSV/TSV, plain or gzip, and Parquet), checks and messages are those of
:func:`~diversity.load_samples` (file and line counted from the bytes).
:func:`score_file` feeds the rows to one state of a
:class:`~diversity.engines.plan.Plan`: a file grouped by prompt (all rows of a
prompt together, as the sampler writes them) is scored prompt by prompt as it
is read; a prompt that comes back after another one started is an error that
says how to sort the file, unless ``grouped=False`` (then every prompt stays
open until the end, and memory grows with the file). Gates and quality fields
(``gate=``, ``quality_field=``) are decided row by row as the file is read,
with the numbers of ``score()``.
"""

from __future__ import annotations

import os
from typing import Any, Hashable, Sequence, Union

from ..io.reader import SampleFileError, iter_samples
from .plan import Plan

__all__ = ["score_file"]


class _NotGrouped(SampleFileError):
    pass


def score_file(source: Union[str, os.PathLike], metrics: Sequence[Any], *, grouped: bool | None = None,
               chunk_rows: int = 50_000, prompt_field: str | None = "prompt", completion_field: str = "completion",
               format: str | None = None, encoding: str = "utf-8", embedder: Any = None, options: Any = None,
               aggregate: str | None = None, gate: Any = None, quality_field: str | None = None) -> dict[str, Any]:
    """Score a sample file read in chunks of ``chunk_rows`` rows (see the module docstring).

    Parameters
    ----------
    source : str or path
        A sample file (JSONL, CSV/TSV, plain or gzip, or Parquet).
    metrics : sequence of str or Metric
        Metrics of texts or vectors.
    grouped : bool or None
        ``True`` (the file is grouped by prompt; a prompt that comes back is
        an error), ``False`` (hold every prompt until the end), or ``None``
        (default: read it as grouped, and if a prompt comes back, read it
        again holding every prompt, with a warning).
    chunk_rows : int, default 50000
        Rows read between two updates of the state (memory, not numbers).
    prompt_field, completion_field, format, encoding
        As for :func:`diversity.load_samples` (``prompt_field=None``: one set).
    embedder, options, aggregate
        As for :func:`diversity.score`.
    gate : str or Gate, optional
        Score only the completions that pass (``"no-refusal"``,
        ``"reward>=0.5"``, ``"finish_reason=stop"``; see
        :mod:`diversity.quality.gates`), decided row by row as the file is
        read; recorded as ``gate:`` in every signature, as by ``score()``.
    quality_field : str, optional
        The per-completion field (e.g. ``reward``, ``finish_reason``) read
        from every row: ``quality=`` of :func:`diversity.score` (scores of
        quality-aware metrics, and the values a field gate tests). Every row
        must have it and hold one completion.

    Returns
    -------
    dict
        ``spec -> DiversityResult``, the same numbers as :func:`diversity.score`
        on :func:`diversity.load_samples` of the file (with ``gate=`` and
        ``quality=`` the field's values grouped like the completions).
    """
    from ..quality.gates import parse_gate

    gate = parse_gate(gate)
    if gate is not None and gate.needs is not None and quality_field is None:
        from ..core.errors import InvalidParameterError

        raise InvalidParameterError(f"The 'quality_field' parameter of score_file is needed by the gate "
                                    f"{gate.spec!r}: name the field holding each completion's {gate.needs!r} "
                                    f"(CLI: --quality-field {gate.needs}).")
    if grouped is None:
        try:
            return score_file(source, metrics, grouped=True, chunk_rows=chunk_rows, prompt_field=prompt_field,
                              completion_field=completion_field, format=format, encoding=encoding, embedder=embedder,
                              options=options, aggregate=aggregate, gate=gate, quality_field=quality_field)
        except _NotGrouped as e:
            from ..core.errors import warn

            warn(f"{e.args[0].split(': the file')[0]}: the file is not grouped by prompt; reading it again with every "
                 "prompt held in memory until the end (sort it by prompt to score it in bounded memory).", UserWarning)
            grouped = False
    from ..core.options import Options
    from ..core.registry import resolve_metric

    objs = [resolve_metric(m) for m in metrics]
    opts = options or Options.default("score")
    mode = "single" if prompt_field is None else (aggregate or "per-prompt")
    context = [("gate", gate.spec)] if gate is not None else []
    plan = Plan(objs, opts, mode, embedder=embedder, context_fields=context)
    state = plan.new_state()
    finished: dict[Hashable, str] = {}
    open_key: Hashable = object()
    pending: dict[Hashable, list[str]] = {}
    values: dict[Hashable, list[Any]] = {}  # the quality field, aligned with pending

    def columns(keys: Any) -> dict[Hashable, dict[str, list]]:
        cols = {k: {"texts": pending[k]} for k in keys}
        if quality_field is not None or gate is not None:
            from ..core.quality_columns import add_quality_columns

            add_quality_columns(opts.func, cols, True, {k: values[k] for k in keys} if quality_field else None, gate)
        return cols

    last_loc = ""
    n = 0
    for loc, key, texts, row in iter_samples(source, prompt_field=prompt_field, completion_field=completion_field,
                                             format=format, encoding=encoding, with_rows=True):
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
        if quality_field is not None:
            values.setdefault(key, []).extend(_quality_values(row, loc, quality_field, len(texts)))
        open_key, last_loc = key, loc
        if n % chunk_rows == 0:
            done = [k for k in pending if k != open_key] if grouped and mode == "per-prompt" else []
            if done:
                state.update(columns(done), complete=True)
            if not grouped or mode != "per-prompt":
                state.update(columns(list(pending)), complete=False)
                pending, values = {}, {}
            else:
                pending = {open_key: pending[open_key]}
                values = {open_key: values[open_key]} if quality_field is not None else {}
    if n == 0:
        raise SampleFileError(f"{source}: no rows.")
    if pending:
        state.update(columns(list(pending)), complete=not (not grouped or mode != "per-prompt"))
    return dict(zip([m.spec for m in objs], plan.finish(state)))


def _quality_values(row: Any, loc: str, field: str, n: int) -> list[Any]:
    """The row's ``field`` for each of its ``n`` completions (one completion per row)."""
    if field not in row:
        raise SampleFileError(f"{loc}: no {field!r} field (quality_field; CLI: --quality-field); the row's fields: "
                              f"{', '.join(map(str, row))}.")
    if n != 1:
        raise SampleFileError(f"{loc}: the row holds {n} completions but one {field!r} value; per-completion "
                              "fields (quality_field) need one completion per row.")
    return [row[field]]
