"""Reading sample files in pieces (:func:`iter_rows`); :func:`score_file` is the file engine
(:mod:`diversity.engines.files`), re-exported here.
"""

from __future__ import annotations

import os
from typing import Hashable, Iterator, Union

from ..engines.files import score_file
from .reader import iter_samples

__all__ = ["iter_rows", "score_file"]


def iter_rows(source: Union[str, os.PathLike], *, prompt_field: str | None = "prompt",
              completion_field: str = "completion", completions_field: str = "completions",
              format: str | None = None, encoding: str = "utf-8") -> Iterator[tuple[str, Hashable, list[str]]]:
    """``(location, prompt key, completions)`` for every row, read incrementally by the one reader
    (:func:`diversity.io.reader.iter_samples`)."""
    return iter_samples(source, prompt_field=prompt_field, completion_field=completion_field,
                        completions_field=completions_field, format=format, encoding=encoding)
