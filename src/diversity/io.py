"""Loading sample sets from JSONL, CSV and pandas DataFrames.

Two row shapes are accepted, in files and frames alike:

* one completion per row: ``{"prompt": "...", "completion": "..."}``;
* all completions of a prompt in one row: ``{"prompt": "...", "completions": ["...", ...]}``.

Rows of the same prompt are gathered in file order; prompts keep the order of
their first appearance. A malformed line is an error that names the file and
line; no row is ever dropped silently. Blank lines in JSONL are skipped (they
hold no row).
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any, Hashable, Iterable, Union

__all__ = ["load_samples", "load_records", "SampleFileError"]


class SampleFileError(ValueError):
    """A sample file or frame could not be read; the message names file and line."""


def load_samples(source: Union[str, os.PathLike, Any], *, prompt_field: str | None = "prompt",
                 completion_field: str = "completion", completions_field: str = "completions",
                 format: str | None = None, encoding: str = "utf-8") -> dict[Hashable, list[str]]:
    """Load completions grouped by prompt.

    Parameters
    ----------
    source : path or pandas.DataFrame
        A ``.jsonl``/``.ndjson`` or ``.csv``/``.tsv`` file, or a DataFrame.
    prompt_field : str or None, default "prompt"
        Column holding the prompt (or prompt id). ``None``: every row belongs
        to one set, returned under the key ``None``.
    completion_field : str, default "completion"
        Column holding one completion.
    completions_field : str, default "completions"
        Column holding a list of completions (JSONL and DataFrames only).
    format : {"jsonl", "csv", "tsv"} or None
        Overrides the guess from the file suffix.
    encoding : str, default "utf-8"

    Returns
    -------
    dict
        ``prompt -> list of completions``, ready for any metric.

    Raises
    ------
    SampleFileError
        Malformed JSON, a missing field, a non-string completion, a row with
        both completion fields: the message names file and line (or row).

    Examples
    --------
    >>> import io, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "s.jsonl")
    >>> _ = open(path, "w").write('{"prompt": "p", "completion": "a"}\\n{"prompt": "p", "completion": "b"}\\n')
    >>> load_samples(path)
    {'p': ['a', 'b']}
    """
    fields = (prompt_field, completion_field, completions_field)
    if hasattr(source, "columns") and hasattr(source, "to_dict"):
        rows = ((i + 2, r) for i, r in enumerate(source.to_dict(orient="records")))
        return _gather(rows, "<DataFrame>", "row", *fields, frame=True)
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"No sample file at {str(path)!r}.")
    fmt = (format or _guess_format(path)).lower()
    if fmt == "jsonl":
        return _gather(_jsonl_rows(path, encoding), str(path), "line", *fields)
    if fmt in ("csv", "tsv"):
        return _gather(_csv_rows(path, encoding, "\t" if fmt == "tsv" else ","), str(path), "line",
                       *fields, frame=True)
    raise ValueError(f"Unknown sample file format {fmt!r}; use 'jsonl', 'csv' or 'tsv'.")


def _guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return suffix[1:]
    raise ValueError(f"Cannot tell the format of {str(path)!r} from its suffix; pass format='jsonl' or 'csv'.")


def _jsonl_rows(path: Path, encoding: str) -> Iterable[tuple[int, Any]]:
    with path.open(encoding=encoding) as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                raise SampleFileError(f"{path}:{lineno}: invalid JSON ({e.msg} at column {e.colno}).") from None


def _csv_rows(path: Path, encoding: str, delimiter: str) -> Iterable[tuple[int, Any]]:
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        if reader.fieldnames is None:
            raise SampleFileError(f"{path}: the file is empty (no header row).")
        for row in reader:
            if None in row:  # more cells than header columns
                raise SampleFileError(f"{path}:{reader.line_num}: more cells than header columns.")
            yield reader.line_num, row


def _is_nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _gather(rows: Iterable[tuple[int, Any]], where: str, unit: str, prompt_field: str | None,
            completion_field: str, completions_field: str, frame: bool = False) -> dict[Hashable, list[str]]:
    out: dict[Hashable, list[str]] = {}
    n_rows = 0
    for lineno, row in rows:
        loc = f"{where}:{lineno}" if unit == "line" else f"{where} row {lineno - 2}"
        n_rows += 1
        if not isinstance(row, dict):
            raise SampleFileError(f"{loc}: expected a JSON object, got {type(row).__name__}.")
        if prompt_field is None:
            key: Hashable = None
        elif prompt_field not in row or row[prompt_field] is None or _is_nan(row[prompt_field]):
            raise SampleFileError(f"{loc}: no {prompt_field!r} field (fields: {', '.join(map(str, row))}).")
        else:
            key = row[prompt_field]
            if not isinstance(key, Hashable) or isinstance(key, (list, dict)):
                raise SampleFileError(f"{loc}: {prompt_field!r} must be a string or number, got "
                                      f"{type(key).__name__}.")
        has_one, has_many = completion_field in row, completions_field in row
        if frame and has_one and has_many:
            # a frame has every column in every row: the unused one is empty
            has_one, has_many = not _is_missing(row[completion_field]), not _is_missing(row[completions_field])
            if not (has_one or has_many):
                has_one = True  # reported below as a missing completion
        if has_one and has_many:
            raise SampleFileError(f"{loc}: the row has both {completion_field!r} and {completions_field!r}; "
                                  "use one.")
        if has_one:
            values = [row[completion_field]]
        elif has_many:
            values = row[completions_field]
            if not isinstance(values, list):
                raise SampleFileError(f"{loc}: {completions_field!r} must be a list of strings, got "
                                      f"{type(values).__name__}.")
        else:
            raise SampleFileError(f"{loc}: no {completion_field!r} or {completions_field!r} field "
                                  f"(fields: {', '.join(map(str, row))}).")
        for j, v in enumerate(values):
            if not isinstance(v, str):
                what = "missing (null/NaN)" if v is None or _is_nan(v) else f"a {type(v).__name__}"
                idx = f"[{j}]" if has_many else ""
                raise SampleFileError(f"{loc}: completion{idx} is {what}, not a string.")
        out.setdefault(key, []).extend(values)
    if n_rows == 0:
        raise SampleFileError(f"{where}: no rows.")
    return out


def _is_missing(x: Any) -> bool:
    return x is None or _is_nan(x)


def load_records(path: Union[str, os.PathLike], *, encoding: str = "utf-8") -> list[dict[str, Any]]:
    """Every row of a JSONL file as a dict, for fields other than completions
    (e.g. ``top_logprobs`` for :func:`diversity.token_entropy`). Errors name
    file and line, as in :func:`load_samples`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No sample file at {str(path)!r}.")
    rows = []
    for lineno, row in _jsonl_rows(path, encoding):
        if not isinstance(row, dict):
            raise SampleFileError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}.")
        rows.append(row)
    return rows
