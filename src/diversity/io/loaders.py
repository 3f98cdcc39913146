"""Loading sample sets from JSONL, CSV/TSV and pandas DataFrames.

Two row shapes are accepted, in files and frames alike:

* one completion per row: ``{"prompt": "...", "completion": "..."}``;
* all completions of a prompt in one row: ``{"prompt": "...", "completions": ["...", ...]}``.

Rows of the same prompt are gathered in file order; prompts keep the order of
their first appearance. A malformed line is an error that names the file and
line; no row is ever dropped silently. Blank lines in JSONL are skipped (they
hold no row).

Files
    The format comes from ``format=`` or else the suffix: ``.jsonl``,
    ``.ndjson``, ``.json`` (one JSON object per line), ``.csv``, ``.tsv``; a
    trailing ``.gz`` is looked through (``s.jsonl.gz`` is JSONL). Without a
    known suffix a file whose first non-blank character is ``{`` or ``[`` is
    read as JSONL; any other is refused with advice. Gzip is recognised by its
    magic bytes (``1f 8b``), whatever the name, and decompressed.
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
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import json
import math
import numbers
import os
import re
import zlib
from pathlib import Path
from typing import Any, Hashable, Iterable, Iterator, Union

__all__ = ["load_samples", "load_records", "SampleFileError"]

_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_JSON_START = re.compile(r"\s*[{\[]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_FORMAT_ADVICE = "pass format='jsonl', 'csv' or 'tsv' (CLI: --format-in jsonl|csv|tsv)"

Rows = Iterable[tuple[str, Any]]  # (location for messages, row)


class SampleFileError(ValueError):
    """A sample file or frame could not be read; the message names file and line."""


def load_samples(source: Union[str, os.PathLike, Any], *, prompt_field: str | None = "prompt",
                 completion_field: str = "completion", completions_field: str = "completions",
                 format: str | None = None, encoding: str = "utf-8") -> dict[Hashable, list[str]]:
    """Load completions grouped by prompt.

    Parameters
    ----------
    source : path or pandas.DataFrame
        A ``.jsonl``/``.ndjson``/``.json`` or ``.csv``/``.tsv`` file, possibly
        gzip-compressed (``.gz``), or a DataFrame.
    prompt_field : str or None, default "prompt"
        Column holding the prompt (or prompt id). ``None``: every row belongs
        to one set, returned under the key ``None``.
    completion_field : str, default "completion"
        Column holding one completion.
    completions_field : str, default "completions"
        Column holding a list of completions (JSONL and DataFrames only).
    format : {"jsonl", "csv", "tsv"} or None
        Overrides the guess from the suffix (``.gz`` looked through) or, for
        an unknown suffix, from the content (``{`` or ``[`` first: JSONL).
    encoding : str, default "utf-8"
        Used unless a byte-order mark names UTF-8, UTF-16 or UTF-32.

    Returns
    -------
    dict
        ``prompt -> list of completions``, ready for any metric. Keys: CSV/TSV
        cell strings exactly; in JSONL and frames strings or integers, type
        kept (``1`` and ``"1"`` are two prompts; floats and booleans refused).

    Raises
    ------
    SampleFileError
        Undecodable bytes, bad gzip, malformed CSV or JSON (also ``NaN``,
        duplicate keys, lone surrogates), a missing field, a non-string
        completion, a row with both completion fields, a float or boolean
        prompt id: the message names file and line (or row).
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
    fields = (prompt_field, completion_field, completions_field)
    if hasattr(source, "columns") and hasattr(source, "to_dict"):
        return _gather(_frame_rows(source), "<DataFrame>", *fields, frame=True)
    if format is not None and format.lower() not in ("jsonl", "csv", "tsv"):
        raise ValueError(f"Unknown sample file format {format!r}; use 'jsonl', 'csv' or 'tsv'.")
    path, text = _read_text(source, encoding)
    where = str(path)
    fmt = format.lower() if format else _guess_format(path, text)
    if fmt == "jsonl":
        return _gather(_jsonl_rows(text, where), where, *fields)
    return _gather(_csv_rows(text, where, fmt), where, *fields, frame=True)


def load_records(path: Union[str, os.PathLike], *, encoding: str = "utf-8") -> list[dict[str, Any]]:
    """Every row of a JSONL file as a dict, for fields other than completions
    (e.g. ``top_logprobs`` for :func:`diversity.token_entropy`). Gzip, encodings
    and errors (naming file and line) as in :func:`load_samples`."""
    path, text = _read_text(path, encoding)
    rows = []
    for loc, row in _jsonl_rows(text, str(path)):
        if not isinstance(row, dict):
            raise SampleFileError(f"{loc}: expected a JSON object, got {type(row).__name__}.")
        rows.append(row)
    return rows


# -- bytes to text -----------------------------------------------------------------------------------------------

def _read_text(source: Union[str, os.PathLike], encoding: str) -> tuple[Path, str]:
    try:
        b"\0\0\0\0".decode(encoding)  # also refuses codecs that are not text encodings, such as 'base64'
    except LookupError:
        raise ValueError(f"Unknown text encoding {encoding!r}.") from None
    except UnicodeError:
        pass
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"No sample file at {str(path)!r}.")
    data = path.read_bytes()
    gzipped = data[:2] == b"\x1f\x8b"
    if gzipped:
        data = _gunzip(data, path)
    text = _decode(data, path, encoding, gzipped)
    nul = text.find("\0")
    if nul >= 0:
        raise SampleFileError(f"{path}:{_line_of(text, nul)}: NUL character; a text file has none. Is it UTF-16 "
                              "without a byte-order mark (pass encoding='utf-16-le', CLI: --encoding utf-16-le), "
                              "or not a text file?")
    return path, text


def _gunzip(data: bytes, path: Path) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise SampleFileError(f"{path}: starts like gzip (bytes 1f 8b) but cannot be decompressed: {e}.") from None


def _decode(data: bytes, path: Path, encoding: str, gzipped: bool) -> str:
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), encoding)
    try:
        return data.decode(encoding)
    except UnicodeError as e:
        start = getattr(e, "start", 0)
        line = _line_of(data[:start].decode(encoding, errors="replace"), None)
        where = " of the decompressed data" if gzipped else ""
        raise SampleFileError(f"{path}:{line}: cannot decode byte 0x{data[start:start + 1].hex()} at byte offset "
                              f"{start}{where} as {encoding} "
                              f"({getattr(e, 'reason', e)}); pass the file's encoding, e.g. encoding='latin-1' "
                              "(CLI: --encoding latin-1).") from None


def _line_of(text: str, index: int | None) -> int:
    """1-based line of ``text[index]`` (of the end of ``text`` if index is None)."""
    return len(_LINE_BREAK.findall(text if index is None else text[:index])) + 1


def _guess_format(path: Path, text: str) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in _FORMATS:
        return _FORMATS[suffixes[-1]]
    if _JSON_START.match(text):
        return "jsonl"
    raise SampleFileError(f"Cannot tell the format of {str(path)!r} from its name or content; {_FORMAT_ADVICE}.")


# -- text to rows ------------------------------------------------------------------------------------------------

def _jsonl_rows(text: str, where: str) -> Iterator[tuple[str, Any]]:
    for lineno, line in enumerate(_LINE_BREAK.split(text), start=1):
        if line.strip(" \t"):
            loc = f"{where}:{lineno}"
            yield loc, _parse_json(line, loc)


def _parse_json(line: str, loc: str) -> Any:
    try:
        value = json.loads(line, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as e:
        raise SampleFileError(f"{loc}: invalid JSON ({e.msg} at column {e.colno}).") from None
    except ValueError as e:  # the hooks below; an integer over Python's digit limit
        raise SampleFileError(f"{loc}: invalid JSON ({e}).") from None
    except RecursionError:
        raise SampleFileError(f"{loc}: JSON nested too deeply to read.") from None
    if _SURROGATE_ESCAPE.search(line):
        _check_strings(value, loc)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON; write null or a string")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        dup = next(k for i, (k, _) in enumerate(pairs) if any(k == k2 for k2, _ in pairs[:i]))
        raise ValueError(f"duplicate key {dup!r} in one object")
    return out


def _check_strings(value: Any, loc: str) -> None:
    """Refuse lone surrogates anywhere in a parsed JSON value, naming the field."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        v, at = stack.pop()
        if isinstance(v, str):
            _check_text(v, loc, f"field {at or '(top level)'}")
        elif isinstance(v, dict):
            for k, x in v.items():
                _check_text(k, loc, f"a key in {at or 'the object'}")
                stack.append((x, f"{at}.{k}" if at else k))
        elif isinstance(v, list):
            stack.extend((x, f"{at}[{i}]") for i, x in enumerate(v))


def _check_text(s: str, loc: str, what: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise SampleFileError(f"{loc}: {what} has a lone surrogate {s[e.start]!r} at character {e.start} (a "
                              "\\u escape without its pair); it is not valid Unicode text.") from None


def _csv_rows(text: str, where: str, fmt: str) -> list[tuple[str, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ",", strict=True)
    header: list[str] | None = None
    rows = []
    with _csv_field_limit(len(text)):
        while True:
            start = reader.line_num + 1  # a quoted cell may span lines: report where the row starts
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raise SampleFileError(f"{where}:{start}: malformed {fmt.upper()} row ({e}).") from None
            if not cells:
                continue
            if header is None:
                header = _csv_header(cells, f"{where}:{start}")
            elif len(cells) != len(header):
                more = "more" if len(cells) > len(header) else "fewer"
                raise SampleFileError(f"{where}:{start}: {more} cells than header columns ({len(cells)} vs "
                                      f"{len(header)}: {', '.join(header)}).")
            else:
                rows.append((f"{where}:{start}", dict(zip(header, cells))))
    if header is None:
        raise SampleFileError(f"{where}: the file is empty (no header row).")
    return rows


def _csv_header(cells: list[str], loc: str) -> list[str]:
    dup = sorted({c for c in cells if cells.count(c) > 1})
    if dup:
        raise SampleFileError(f"{loc}: duplicate header column(s) {', '.join(map(repr, dup))}.")
    return cells


@contextlib.contextmanager
def _csv_field_limit(n: int) -> Iterator[None]:
    """No cell of a text of ``n`` characters is over csv's field limit (restored afterwards)."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, min(n + 1, 2**31 - 1)))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _frame_rows(df: Any) -> Rows:
    columns = list(df.columns)
    dup = sorted({str(c) for c in columns if columns.count(c) > 1})
    if dup:
        raise SampleFileError(f"<DataFrame>: duplicate column(s) {', '.join(dup)}.")
    return ((f"<DataFrame> row {i}", r) for i, r in enumerate(df.to_dict(orient="records")))


# -- rows to samples ---------------------------------------------------------------------------------------------

def _gather(rows: Rows, where: str, prompt_field: str | None, completion_field: str, completions_field: str,
            frame: bool = False) -> dict[Hashable, list[str]]:
    out: dict[Hashable, list[str]] = {}
    n_rows = 0
    for loc, row in rows:
        n_rows += 1
        if not isinstance(row, dict):
            raise SampleFileError(f"{loc}: expected a JSON object, got {type(row).__name__}.")
        key = None if prompt_field is None else _prompt_key(row, loc, prompt_field)
        out.setdefault(key, []).extend(_completions(row, loc, completion_field, completions_field, frame))
    if n_rows == 0:
        raise SampleFileError(f"{where}: no rows.")
    return out


def _prompt_key(row: dict, loc: str, field: str) -> Hashable:
    if field not in row or _is_missing(row[field]):
        raise SampleFileError(f"{loc}: no {field!r} field (fields: {', '.join(map(str, row))}).")
    key = row[field]
    if isinstance(key, str):
        _check_text(key, loc, repr(field))
        return key
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        return int(key)
    if isinstance(key, (bool, float)):
        raise SampleFileError(f"{loc}: {field!r} is {key!r}; a prompt id must be a string or an integer "
                              "(floats and booleans would merge: 1.0 == 1 == True). Write it as a string.")
    raise SampleFileError(f"{loc}: {field!r} must be a string or an integer, got {type(key).__name__}.")


def _completions(row: dict, loc: str, one: str, many: str, frame: bool) -> list[str]:
    has_one, has_many = one in row, many in row
    if frame and has_one and has_many:
        # a frame has every column in every row: the unused one is empty
        has_one, has_many = not _is_missing(row[one]), not _is_missing(row[many])
        if not (has_one or has_many):
            has_one = True  # reported below as a missing completion
    if has_one and has_many:
        raise SampleFileError(f"{loc}: the row has both {one!r} and {many!r}; use one.")
    if not (has_one or has_many):
        raise SampleFileError(f"{loc}: no {one!r} or {many!r} field (fields: {', '.join(map(str, row))}).")
    values = [row[one]] if has_one else row[many]
    if not isinstance(values, list):
        raise SampleFileError(f"{loc}: {many!r} must be a list of strings, got {type(values).__name__}.")
    for j, v in enumerate(values):
        idx = f"[{j}]" if has_many else ""
        if not isinstance(v, str):
            what = "missing (null/NaN)" if _is_missing(v) else f"a {type(v).__name__}"
            raise SampleFileError(f"{loc}: completion{idx} is {what}, not a string.")
        _check_text(v, loc, f"completion{idx}")
    return values


def _is_missing(x: Any) -> bool:
    return (x is None or (isinstance(x, float) and math.isnan(x))
            or type(x).__name__ in ("NAType", "NaTType"))
