"""Loading sample sets from JSONL, CSV/TSV, Parquet and pandas DataFrames.

Two row shapes are accepted, in files and frames alike:

* one completion per row: ``{"prompt": "...", "completion": "..."}``;
* all completions of a prompt in one row: ``{"prompt": "...", "completions": ["...", ...]}``.

Rows of the same prompt are gathered in file order; prompts keep the order of
their first appearance. A malformed line is an error that names the file and
line; no row is ever dropped silently. Blank lines in JSONL are skipped (they
hold no row).

Files
    Read by the one reader every path shares (:mod:`diversity.io.reader`:
    ``score_file``, ``diversity score`` and ``score_dask`` read files through
    it too, with the same checks and messages). The format comes from
    ``format=`` or else the suffix: ``.jsonl``, ``.ndjson``, ``.json`` (one
    JSON object per line), ``.csv``, ``.tsv``, ``.parquet`` (``.parq``,
    ``.pq``); a trailing ``.gz`` is looked through (``s.jsonl.gz`` is JSONL).
    Without a known suffix a file starting with ``PAR1`` is Parquet, one whose
    first non-blank character is ``{`` or ``[`` is JSONL; any other is refused
    with advice. Gzip is recognised by its magic bytes (``1f 8b``), whatever
    the name, and decompressed as it is read.
Encodings
    ``encoding=`` (default UTF-8) unless the file starts with a byte-order
    mark: a UTF-8 BOM is dropped, and a UTF-16 or UTF-32 BOM decides the
    encoding. Undecodable bytes and NUL characters are errors naming the line.
    JSON must be strict: ``NaN``/``Infinity``, duplicate keys in one object and
    lone surrogates (``"\\ud800"`` without its pair) are refused.
Prompt identity
    Keys are kept exactly, never merged by Python's ``1 == 1.0 == True``. In
    CSV/TSV a key is the cell's string, exactly as written (``"1"`` and
    ``"1.0"`` differ). In JSONL and DataFrames a key must be a string or an
    integer and keeps its type (JSON ``1`` and ``"1"`` are two prompts);
    floats and booleans are refused, as ``1.0`` vs ``1`` would be ambiguous.
    When ``prompt_field`` is an id column (not ``"prompt"``) and rows carry
    the prompt text in ``"prompt"``, one id with two texts is refused.
"""

from __future__ import annotations

import os
from typing import Any, Hashable, Iterable, Union

from .formats import from_dataset, is_hf_dataset
from .reader import SampleFileError, check_format, completions, iter_records, iter_samples, prompt_key

__all__ = ["load_samples", "load_records", "SampleFileError"]

Rows = Iterable[tuple[str, Any]]  # (location for messages, row)


def load_samples(source: Union[str, os.PathLike, Any], *, prompt_field: str | None = "prompt",
                 completion_field: str = "completion", completions_field: str = "completions",
                 format: str | None = None, encoding: str = "utf-8") -> dict[Hashable, list[str]]:
    """Load completions grouped by prompt.

    Parameters
    ----------
    source : path, pandas.DataFrame or datasets.Dataset
        A ``.jsonl``/``.ndjson``/``.json``, ``.csv``/``.tsv`` (possibly
        gzip-compressed, ``.gz``) or ``.parquet`` file, an lm-eval sample
        log, an inspect-ai eval log or a file of chat rows
        (:mod:`diversity.io.formats`), a DataFrame, or a Hugging Face
        ``Dataset``/``IterableDataset``/one-split ``DatasetDict`` (columns
        named by the field arguments; see
        :func:`diversity.io.formats.from_dataset`).
    prompt_field : str or None, default "prompt"
        Column holding the prompt (or prompt id). ``None``: every row belongs
        to one set, returned under the key ``None``.
    completion_field : str, default "completion"
        Column holding one completion.
    completions_field : str, default "completions"
        Column holding a list of completions (JSONL, Parquet and DataFrames).
    format : {"jsonl", "csv", "tsv", "parquet"} or None
        Overrides the guess from the suffix (``.gz`` looked through) or, for
        an unknown suffix, from the content (``PAR1``: Parquet; ``{`` or ``[``
        first: JSONL).
    encoding : str, default "utf-8"
        Used unless a byte-order mark names UTF-8, UTF-16 or UTF-32.

    Returns
    -------
    dict
        ``prompt -> list of completions``, ready for any metric. Keys: CSV/TSV
        cell strings exactly; in JSONL, Parquet and frames strings or
        integers, type kept (``1`` and ``"1"`` are two prompts; floats and
        booleans refused).

    Raises
    ------
    SampleFileError
        Undecodable bytes, NUL characters, bad gzip, malformed CSV or JSON
        (also ``NaN``, duplicate keys, lone surrogates), duplicate header
        columns, an unreadable Parquet file, a missing field, a non-string
        completion, a row with both completion fields, a float or boolean
        prompt id, one prompt id with two prompt texts: the message names file
        and line (or row).
    FileNotFoundError
        No file at ``source``.
    ValueError
        An unknown ``format`` or ``encoding``.

    Examples
    --------
    >>> import io, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "s.jsonl")
    >>> _ = open(path, "w").write('{"prompt": "p", "completion": "a"}\\n{"prompt": "p", "completion": "b"}\\n')
    >>> load_samples(path)
    {'p': ['a', 'b']}
    """
    if is_hf_dataset(source):  # a Hugging Face Dataset / DatasetDict (one split) / IterableDataset
        check_format(format)
        return from_dataset(source, prompt_column=prompt_field, completion_column=completion_field,
                            completions_column=completions_field)
    if hasattr(source, "columns") and hasattr(source, "to_dict"):
        check_format(format)
        return _gather_frame(_frame_rows(source), prompt_field, completion_field, completions_field)
    out: dict[Hashable, list[str]] = {}
    for _, key, texts in iter_samples(source, prompt_field=prompt_field, completion_field=completion_field,
                                      completions_field=completions_field, format=format, encoding=encoding):
        out.setdefault(key, []).extend(texts)
    if not out:
        raise SampleFileError(f"{source}: no rows.")
    return out


def load_records(path: Union[str, os.PathLike], *, encoding: str = "utf-8",
                 format: str | None = None) -> list[dict[str, Any]]:
    """Every row of a sample file as a dict, for fields other than completions
    (e.g. ``top_logprobs`` for :func:`diversity.token_entropy`). Formats, gzip,
    encodings and errors (naming file and line) as in :func:`load_samples`."""
    rows = []
    for loc, row in iter_records(path, format=format, encoding=encoding):
        if not isinstance(row, dict):
            raise SampleFileError(f"{loc}: expected a JSON object, got {type(row).__name__}.")
        rows.append(row)
    return rows


def _frame_rows(df: Any) -> Rows:
    columns = list(df.columns)
    dup = sorted({str(c) for c in columns if columns.count(c) > 1})
    if dup:
        raise SampleFileError(f"<DataFrame>: duplicate column(s) {', '.join(dup)}.")
    return ((f"<DataFrame> row {i}", r) for i, r in enumerate(df.to_dict(orient="records")))


def _gather_frame(rows: Rows, prompt_field: str | None, completion_field: str,
                  completions_field: str) -> dict[Hashable, list[str]]:
    out: dict[Hashable, list[str]] = {}
    for loc, row in rows:
        key = None if prompt_field is None else prompt_key(row, loc, prompt_field)
        out.setdefault(key, []).extend(completions(row, loc, completion_field, completions_field, True))
    if not out:
        raise SampleFileError("<DataFrame>: no rows.")
    return out

