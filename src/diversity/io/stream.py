"""Reading sample files in pieces: memory bounded by a chunk of rows, not by
the file. JSONL (plain or gzip), CSV/TSV and Parquet (with pyarrow), one
completion per row, with the same checks and messages as
:func:`~diversity.load_samples` (file and line).

:func:`score_file` feeds the rows to a :class:`~diversity.core.state.State`:
a file grouped by prompt (all rows of a prompt together, as the sampler writes
them) is scored prompt by prompt as it is read; a prompt that comes back
after another one started is an error that says how to sort the file, unless
``grouped=False`` (then every prompt stays open until the end, and memory
grows with the file).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from pathlib import Path
from typing import Any, Hashable, Iterator, Sequence, Union

from .loaders import SampleFileError, _completions, _parse_json, _prompt_key

__all__ = ["iter_rows", "score_file"]

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _open_text(path: Path, encoding: str) -> io.TextIOBase:
    with open(path, "rb") as f:
        head = f.read(4)
    raw = gzip.open(path, "rb") if head[:2] == b"\x1f\x8b" else open(path, "rb")
    start = raw.peek(4)[:4] if hasattr(raw, "peek") else head
    encoding = next((enc for bom, enc in _BOMS if start.startswith(bom)), encoding)
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def _format(path: Path, format: str | None) -> str:
    if format:
        return format.lower()
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if last in (".csv", ".tsv", ".parquet"):
        return last[1:]
    raise SampleFileError(f"Cannot tell the format of {str(path)!r} from its name; pass format='jsonl', 'csv', 'tsv' "
                          "or 'parquet' (CLI: --format-in).")


def iter_rows(source: Union[str, os.PathLike], *, prompt_field: str | None = "prompt",
              completion_field: str = "completion", completions_field: str = "completions",
              format: str | None = None, encoding: str = "utf-8") -> Iterator[tuple[str, Hashable, list[str]]]:
    """``(location, prompt key, completions)`` for every row, read incrementally."""
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"No sample file at {str(path)!r}.")
    fmt = _format(path, format)
    if fmt == "parquet":
        yield from _parquet_rows(path, prompt_field, completion_field, completions_field)
        return
    try:
        f = _open_text(path, encoding)
    except (OSError, EOFError, LookupError) as e:
        raise SampleFileError(f"{path}: cannot be read as text ({e}).") from None
    lineno = 0
    try:
        if fmt == "jsonl":
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                loc = f"{path}:{lineno}"
                row = _parse_json(line, loc)
                if not isinstance(row, dict):
                    raise SampleFileError(f"{loc}: expected a JSON object, got {type(row).__name__}.")
                key = None if prompt_field is None else _prompt_key(row, loc, prompt_field)
                yield loc, key, _completions(row, loc, completion_field, completions_field, False)
        elif fmt in ("csv", "tsv"):
            reader = csv.reader(f, delimiter="\t" if fmt == "tsv" else ",", strict=True)
            header = next(reader, None)
            if header is None:
                raise SampleFileError(f"{path}: the file is empty (no header row).")
            for cells in reader:
                lineno = reader.line_num
                loc = f"{path}:{lineno}"
                if len(cells) != len(header):
                    raise SampleFileError(f"{loc}: {len(cells)} cells for {len(header)} header columns.")
                row = dict(zip(header, cells))
                key = None if prompt_field is None else _prompt_key(row, loc, prompt_field)
                yield loc, key, _completions(row, loc, completion_field, completions_field, True)
        else:
            raise SampleFileError(f"Unknown sample file format {fmt!r}; use 'jsonl', 'csv', 'tsv' or 'parquet'.")
    except UnicodeDecodeError as e:
        raise SampleFileError(f"{path}: after line {lineno}: cannot decode as {encoding} ({e.reason}); pass the "
                              "file's encoding (encoding=..., CLI: --encoding).") from None
    except (OSError, EOFError, csv.Error) as e:
        raise SampleFileError(f"{path}: after line {lineno}: {e}") from None
    finally:
        f.close()


def _parquet_rows(path: Path, prompt_field: str | None, one: str, many: str):
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ImportError("Parquet files need pyarrow: pip install 'llm-diversity[dask]' (or pyarrow).") from e
    n = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000):
        for row in batch.to_pylist():
            n += 1
            loc = f"{path} row {n}"
            key = None if prompt_field is None else _prompt_key(row, loc, prompt_field)
            yield loc, key, _completions(row, loc, one, many, True)


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
