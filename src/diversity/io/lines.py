"""Bytes to numbered lines, for the one sample-file reader (:mod:`diversity.io.reader`).

A file is read in blocks of :data:`BLOCK` bytes (memory bounded by a block),
gunzipped as it is read when it starts with the gzip magic bytes, decoded
with the encoding its byte-order mark names (UTF-32 and UTF-16 in either byte
order, UTF-8) or else the one given, and cut into lines at ``\\r\\n``,
``\\r`` or ``\\n``. Lines are numbered from the bytes, so an undecodable
byte or a NUL character is reported at the line that holds it, with its byte
offset, whatever the block size.
"""

from __future__ import annotations

import codecs
import gzip
import re
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterator, Union

__all__ = ["BLOCK", "BOMS", "RemotePath", "SampleFileError", "iter_lines", "open_binary"]

BLOCK = 1 << 20  # bytes decoded at a time
# longest marks first: the UTF-32 LE mark begins with the UTF-16 LE one
BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_BREAK = re.compile(r"(\r\n|\r|\n)")
_N_BREAKS = re.compile(r"\r\n|\r|\n")


class SampleFileError(ValueError):
    """A sample file or frame could not be read; the message names file and line."""


class RemotePath(str):
    """A file named by an fsspec URL (``s3://bucket/s.jsonl``, ``memory://s.csv``), read through fsspec."""

    @property
    def _pure(self) -> PurePosixPath:
        return PurePosixPath(self.split("://", 1)[1])

    @property
    def suffixes(self) -> list[str]:
        return self._pure.suffixes

    @property
    def name(self) -> str:
        return self._pure.name


def open_binary(path: Union[Path, RemotePath]) -> BinaryIO:
    """The file's bytes: a local path, or an fsspec URL."""
    if isinstance(path, RemotePath):
        import fsspec

        return fsspec.open(str(path), "rb").open()
    return open(path, "rb")


def _open_binary(path: Union[Path, RemotePath]) -> tuple[BinaryIO, bool]:
    with open_binary(path) as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    raw = open_binary(path)
    if not gzipped:
        return raw, False
    unzipped = gzip.GzipFile(fileobj=raw, mode="rb")
    unzipped.myfileobj = raw  # closed with it
    return unzipped, True


def _read_block(raw: BinaryIO, path: Path, lineno: int) -> bytes:
    try:
        return raw.read(BLOCK)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise SampleFileError(f"{path}: starts like gzip (bytes 1f 8b) but cannot be decompressed "
                              f"({e or type(e).__name__}) after line {lineno - 1} of its text; is the file cut short "
                              "or not gzip?") from None


def iter_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """``(line number, line with its ending)`` for every line of a text file, decoded block by block.

    Line numbers count ``\\r\\n``, ``\\r`` and ``\\n`` in the bytes read, so
    an error names the line that holds the bad byte (and its byte offset).
    """
    raw, gzipped = _open_binary(path)
    where = " of the decompressed data" if gzipped else ""
    with raw:
        lineno = 1          # number of the line that starts ``carry``
        carry = ""          # decoded text of the line not yet complete
        pending = b""       # bytes of a character cut by the block boundary
        offset = 0          # byte offset of ``pending[0]`` in the (decompressed) data
        first = True
        while True:
            block = _read_block(raw, path, lineno)
            if first:
                first = False
                bom = next(((b, e) for b, e in BOMS if block.startswith(b)), None)
                if bom is not None:
                    block, encoding, offset = block[len(bom[0]):], bom[1], len(bom[0])
            final = not block
            buf = pending + block
            try:
                text, pending = buf.decode(encoding), b""
            except UnicodeDecodeError as e:
                if not final and len(buf) - e.start < 4:  # a character cut by the block boundary
                    text, pending = buf[:e.start].decode(encoding), buf[e.start:]
                else:
                    line = lineno + len(_N_BREAKS.findall(carry + buf[:e.start].decode(encoding)))
                    raise SampleFileError(
                        f"{path}:{line}: cannot decode byte 0x{buf[e.start:e.start + 1].hex()} at byte offset "
                        f"{offset + e.start}{where} as {encoding} ({e.reason}); pass the file's encoding, e.g. "
                        "encoding='latin-1' (CLI: --encoding latin-1).") from None
            offset += len(buf) - len(pending)
            nul = text.find("\0")
            if nul >= 0:
                line = lineno + len(_N_BREAKS.findall(carry + text[:nul]))
                raise SampleFileError(f"{path}:{line}: NUL character; a text file has none. Is it UTF-16 without a "
                                      "byte-order mark (pass encoding='utf-16-le', CLI: --encoding utf-16-le), or "
                                      "not a text file?")
            text = carry + text
            if final:
                if text:
                    yield lineno, text
                return
            hold_cr = text.endswith("\r")  # "\r\n" may straddle two blocks
            if hold_cr:
                text = text[:-1]
            if "\r" not in text:
                parts = text.split("\n")
                for p in parts[:-1]:
                    yield lineno, p + "\n"
                    lineno += 1
            else:
                parts = _BREAK.split(text)
                for i in range(0, len(parts) - 1, 2):
                    yield lineno, parts[i] + parts[i + 1]
                    lineno += 1
                parts = parts[-1:]
            carry = parts[-1] + ("\r" if hold_cr else "")
