"""The one sample-file reader: every path (``load_samples``, ``score_file``,
``diversity score``, ``score_dask``'s file partitions) reads rows through
:func:`iter_records` and :func:`iter_samples`, so that one table of formats
and one set of checks and messages serve them all.

Formats (:data:`FORMATS`)
    ``.jsonl``/``.ndjson``/``.json`` (one JSON value per line), ``.csv``,
    ``.tsv``, ``.parquet``/``.parq``/``.pq``; a trailing ``.gz`` is looked
    through for text formats. Without a known suffix: Parquet by its magic
    bytes (``PAR1``), JSONL when the first non-blank character is ``{`` or
    ``[``; any other file is refused with advice.
Bytes to text (:mod:`diversity.io.lines`: streamed in blocks; memory bounded by a block)
    Gzip is recognised by its magic bytes (``1f 8b``) whatever the name. A
    byte-order mark decides the encoding (UTF-32 and UTF-16 in either byte
    order, UTF-8 dropped), else ``encoding=``. Lines end at ``\\r\\n``,
    ``\\r`` or ``\\n`` and are numbered from the bytes, so an undecodable byte
    or a NUL character (a UTF-16 file without its mark) is reported at the
    line that holds it, with the byte offset.
Text to rows
    JSONL: blank lines are skipped; JSON must be strict (``NaN``, duplicate
    keys and lone surrogates refused). CSV/TSV: strict quoting, the first
    non-blank row is the header (duplicate columns refused), blank lines
    skipped, no cell-size limit but the file's own, a row with more or fewer
    cells than the header refused naming the line where it starts. Parquet
    (needs pyarrow): row ``n`` counted from 1; an unreadable file names
    itself.
Rows to samples (:func:`iter_samples`)
    Prompt keys are kept exactly (strings or integers; floats and booleans
    refused), completions must be strings. When prompts are grouped by an id
    (``prompt_field`` other than ``"prompt"``) and rows also carry the prompt
    text in ``"prompt"``, one id with two different texts is refused, showing
    both texts and where each was read.
"""

from __future__ import annotations

import csv
import json
import math
import numbers
import os
import re
import zlib
from pathlib import Path
from typing import Any, Hashable, Iterator, Union

from .formats import EXTRA_FORMATS, iter_format_records, sniff_format
from .lines import BOMS, RemotePath, SampleFileError, iter_lines, open_binary

__all__ = ["FORMATS", "FORMAT_NAMES", "SampleFileError", "detect_format", "iter_lines", "iter_records",
           "iter_samples"]

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv",
           ".parquet": "parquet", ".parq": "parquet", ".pq": "parquet", ".eval": "inspect"}
# lm-eval, inspect and chat: read by diversity.io.formats into the same rows (detected from the first bytes)
FORMAT_NAMES = ("jsonl", "csv", "tsv", "parquet", "lm-eval", "inspect", "chat")
FORMAT_ADVICE = ("pass format='jsonl', 'csv', 'tsv' or 'parquet' (CLI: --format-in jsonl|csv|tsv|parquet), or "
                 "'lm-eval', 'inspect' or 'chat' for those logs")
PROMPT_TEXT_FIELD = "prompt"  # checked for one text per id when prompts are keyed by another field
PARQUET_BATCH = 50_000  # rows converted to Python at a time

_JSON_START = re.compile(r"[\s\ufeff]*[{\[]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def check_encoding(encoding: str) -> None:
    try:
        b"\0\0\0\0".decode(encoding)  # also refuses codecs that are not text encodings, such as 'base64'
    except LookupError:
        raise ValueError(f"Unknown text encoding {encoding!r}.") from None
    except UnicodeError:
        pass


def check_format(format: str | None) -> str | None:
    if format is None:
        return None
    if not isinstance(format, str) or format.lower() not in FORMAT_NAMES:
        raise ValueError(f"Unknown sample file format {format!r}; use 'jsonl', 'csv', 'tsv', 'parquet', 'lm-eval', "
                         "'inspect' or 'chat'.")
    return format.lower()


def _as_path(source: Union[str, os.PathLike]) -> Union[Path, RemotePath]:
    if isinstance(source, str) and "://" in source:  # an fsspec URL (s3://, gs://, memory://, ...)
        try:
            import fsspec
        except ImportError as e:
            raise ImportError(f"{source}: URLs are read through fsspec: pip install fsspec (and the file system's "
                              "package, e.g. s3fs).") from e
        fs, inner = fsspec.core.url_to_fs(source)
        if not fs.isfile(inner):
            raise FileNotFoundError(f"No sample file at {source!r}.")
        return RemotePath(source)
    path = Path(source)
    if not path.is_file():
        if path.is_dir():
            raise IsADirectoryError(f"{str(path)!r} is a folder, not a sample file.")
        raise FileNotFoundError(f"No sample file at {str(path)!r}.")
    return path


def detect_format(path: Path, head: bytes = b"") -> str:
    """The format of ``path`` from its suffix (``.gz`` looked through), else from its first bytes."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in FORMATS:
        return FORMATS[suffixes[-1]]
    if head[:4] == b"PAR1":
        return "parquet"
    text = head
    if head[:2] == b"\x1f\x8b":
        try:
            text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
        except zlib.error:
            text = b""
    bom = next(((b, e) for b, e in BOMS if text.startswith(b)), None)
    try:
        start = text[len(bom[0]):].decode(bom[1], errors="ignore") if bom else text.decode("latin-1")
    except LookupError:  # pragma: no cover - the table holds standard codecs
        start = ""
    if _JSON_START.match(start):
        return "jsonl"
    raise SampleFileError(f"Cannot tell the format of {str(path)!r} from its name or content; {FORMAT_ADVICE}.")


# -- rows ----------------------------------------------------------------------------------------------------------

def iter_records(source: Union[str, os.PathLike], *, format: str | None = None,
                 encoding: str = "utf-8") -> Iterator[tuple[str, Any]]:
    """``(location, row)`` for every row of a sample file, read incrementally.

    ``location`` is ``"path:line"`` for text formats (the line where the row
    starts) and ``"path row n"`` for Parquet; a JSONL row is any JSON value
    (callers check that it is an object), a CSV/TSV or Parquet row a dict.
    """
    path, fmt = resolve(source, format, encoding)
    if fmt == "parquet":
        yield from _parquet_records(path)
    elif fmt in EXTRA_FORMATS:  # lm-eval sample logs, inspect-ai eval logs, chat rows: the library's rows
        yield from iter_format_records(path, fmt, encoding=encoding)
    elif fmt == "jsonl":
        for lineno, line in iter_lines(path, encoding):
            if line.strip(" \t\r\n"):
                loc = f"{path}:{lineno}"
                yield loc, parse_json(line, loc)
    else:
        yield from _csv_records(path, encoding, fmt)


def resolve(source: Union[str, os.PathLike], format: str | None, encoding: str) -> tuple[Path, str]:
    """The checked path and its format (``format=``, else the suffix, else the content)."""
    fmt = check_format(format)
    check_encoding(encoding)
    path = _as_path(source)
    if fmt is None:
        with open_binary(path) as f:
            head = f.read(4096)
        fmt = sniff_format(path, detect_format(path, head), head)
    return path, fmt


def parse_json(line: str, loc: str) -> Any:
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
            check_text(v, loc, f"field {at or '(top level)'}")
        elif isinstance(v, dict):
            for k, x in v.items():
                check_text(k, loc, f"a key in {at or 'the object'}")
                stack.append((x, f"{at}.{k}" if at else k))
        elif isinstance(v, list):
            stack.extend((x, f"{at}[{i}]") for i, x in enumerate(v))


def check_text(s: str, loc: str, what: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise SampleFileError(f"{loc}: {what} has a lone surrogate {s[e.start]!r} at character {e.start} (a "
                              "\\u escape without its pair); it is not valid Unicode text.") from None


def _csv_records(path: Path, encoding: str, fmt: str) -> Iterator[tuple[str, dict[str, str]]]:
    lines = (line for _, line in iter_lines(path, encoding))
    reader = csv.reader(lines, delimiter="\t" if fmt == "tsv" else ",", strict=True)
    header: list[str] | None = None
    old = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)  # a cell is bounded by the file, as in a whole-file read
    try:
        while True:
            start = reader.line_num + 1  # a quoted cell may span lines: report where the row starts
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raise SampleFileError(f"{path}:{start}: malformed {fmt.upper()} row ({e}).") from None
            if not cells:
                continue  # a blank line holds no row
            if header is None:
                dup = sorted({c for c in cells if cells.count(c) > 1})
                if dup:
                    raise SampleFileError(f"{path}:{start}: duplicate header column(s) {', '.join(map(repr, dup))}; "
                                          "each column needs its own name.")
                header = cells
            elif len(cells) != len(header):
                more = "more" if len(cells) > len(header) else "fewer"
                raise SampleFileError(f"{path}:{start}: {more} cells than header columns ({len(cells)} vs "
                                      f"{len(header)}: {', '.join(header)}).")
            else:
                yield f"{path}:{start}", dict(zip(header, cells))
    finally:
        csv.field_size_limit(old)
    if header is None:
        raise SampleFileError(f"{path}: the file is empty (no header row).")


def _parquet_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ImportError(f"{path}: Parquet files need pyarrow: pip install 'llm-diversity[dask]' (or pyarrow).") \
            from e
    import pyarrow as pa

    def arrow_error(e: Exception) -> SampleFileError:
        return SampleFileError(f"{path}: not a readable Parquet file ({type(e).__name__}: {e}).")

    try:
        f = pq.ParquetFile(open_binary(path) if isinstance(path, RemotePath) else path)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise arrow_error(e) from None
    with f:
        names = f.schema_arrow.names
        dup = sorted({c for c in names if names.count(c) > 1})
        if dup:
            raise SampleFileError(f"{path}: duplicate column(s) {', '.join(map(repr, dup))}; each column needs its "
                                  "own name.")
        n = 0
        batches = f.iter_batches(batch_size=PARQUET_BATCH)
        while True:
            try:
                batch = next(batches, None)
            except (pa.ArrowException, OSError, ValueError) as e:
                raise arrow_error(e) from None
            if batch is None:
                return
            for row in batch.to_pylist():
                n += 1
                yield f"{path} row {n}", row


# -- rows to samples -----------------------------------------------------------------------------------------------

def iter_samples(source: Union[str, os.PathLike], *, prompt_field: str | None = "prompt",
                 completion_field: str = "completion", completions_field: str = "completions",
                 format: str | None = None, encoding: str = "utf-8",
                 with_rows: bool = False) -> Iterator[tuple[str, Hashable, list[str]]]:
    """``(location, prompt key, completions)`` for every row of a sample file (see the module docstring).

    ``with_rows=True`` yields ``(location, key, completions, row)``.
    """
    path, fmt = resolve(source, format, encoding)
    tabular = fmt != "jsonl"  # every row has every column: an unused one is empty
    texts: dict[Hashable, tuple[str, str]] = {}
    check_prompts = prompt_field is not None and prompt_field != PROMPT_TEXT_FIELD
    for loc, row in iter_records(path, format=fmt, encoding=encoding):
        if not isinstance(row, dict):
            raise SampleFileError(f"{loc}: expected a JSON object, got {type(row).__name__}.")
        key = None if prompt_field is None else prompt_key(row, loc, prompt_field)
        comps = completions(row, loc, completion_field, completions_field, tabular)
        if check_prompts and isinstance(row.get(PROMPT_TEXT_FIELD), str):
            text = row[PROMPT_TEXT_FIELD]
            seen = texts.setdefault(key, (text, loc))
            if seen[0] != text:
                raise SampleFileError(
                    f"{loc}: {prompt_field} {key!r} has the prompt text {_short(text)} here but {_short(seen[0])} at "
                    f"{seen[1]}; one id must name one prompt. Fix the file, or group by the text (prompt_field="
                    f"'prompt', CLI: --prompt-field prompt).")
        yield (loc, key, comps, row) if with_rows else (loc, key, comps)


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def prompt_key(row: dict, loc: str, field: str) -> Hashable:
    if field not in row or is_missing(row[field]):
        raise SampleFileError(f"{loc}: no {field!r} field (fields: {', '.join(map(str, row))}).")
    key = row[field]
    if isinstance(key, str):
        check_text(key, loc, repr(field))
        return key
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        return int(key)
    if isinstance(key, (bool, float)):
        raise SampleFileError(f"{loc}: {field!r} is {key!r}; a prompt id must be a string or an integer "
                              "(floats and booleans would merge: 1.0 == 1 == True). Write it as a string.")
    raise SampleFileError(f"{loc}: {field!r} must be a string or an integer, got {type(key).__name__}.")


def completions(row: dict, loc: str, one: str, many: str, frame: bool) -> list[str]:
    has_one, has_many = one in row, many in row
    if frame and has_one and has_many:
        # a table has every column in every row: the unused one is empty
        has_one, has_many = not is_missing(row[one]), not is_missing(row[many])
        if not (has_one or has_many):
            has_one = True  # reported below as a missing completion
    if has_one and has_many:
        raise SampleFileError(f"{loc}: the row has both {one!r} and {many!r}; use one.")
    if not (has_one or has_many):
        raise SampleFileError(f"{loc}: no {one!r} or {many!r} field (fields: {', '.join(map(str, row))}).")
    values = [row[one]] if has_one else row[many]
    if not isinstance(values, list):
        if hasattr(values, "tolist") and not isinstance(values, str):  # a numpy array from a frame
            values = values.tolist()
        else:
            raise SampleFileError(f"{loc}: {many!r} must be a list of strings, got {type(values).__name__}.")
    for j, v in enumerate(values):
        idx = f"[{j}]" if has_many else ""
        if not isinstance(v, str):
            what = "missing (null/NaN)" if is_missing(v) else f"a {type(v).__name__}"
            raise SampleFileError(f"{loc}: completion{idx} is {what}, not a string.")
        check_text(v, loc, f"completion{idx}")
    return values


def is_missing(x: Any) -> bool:
    return (x is None or (isinstance(x, float) and math.isnan(x))
            or type(x).__name__ in ("NAType", "NaTType"))
