"""Per-completion fields beside the text (quality, reward, length,
finish_reason...), grouped exactly like :func:`~diversity.load_samples`
groups the completions, so that ``quality=`` and gates can use them."""

from __future__ import annotations

import os
from typing import Any, Hashable, Union

from .loaders import SampleFileError, load_records, load_samples

__all__ = ["load_column"]


def load_column(source: Union[str, os.PathLike, Any], field: str, *, prompt_field: str | None = "prompt",
                completion_field: str = "completion", encoding: str = "utf-8") -> dict[Hashable, list[Any]]:
    """``prompt -> [value of field for each completion]``, aligned with ``load_samples(source)``.

    Works for sample files of every format the reader knows (JSONL, CSV/TSV,
    Parquet; one completion per row) and pandas DataFrames; a row without the
    field is an error naming its line.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "s.jsonl")
    >>> _ = open(path, "w").write('{"prompt": "p", "completion": "a", "reward": 0.5}\\n'
    ...                           '{"prompt": "p", "completion": "b", "reward": 0.9}\\n')
    >>> load_column(path, "reward")
    {'p': [0.5, 0.9]}
    """
    if hasattr(source, "columns") and hasattr(source, "to_dict"):
        if field not in source.columns:
            raise SampleFileError(f"<DataFrame>: no column {field!r} (columns: {', '.join(map(str, source.columns))}).")
        rows = source.to_dict(orient="records")
        where = "<DataFrame> row"
    else:
        rows = load_records(source, encoding=encoding)
        where = f"{source}: row"
    out: dict[Hashable, list[Any]] = {}
    for i, row in enumerate(rows, 1):
        if field not in row:
            raise SampleFileError(f"{where} {i} has no {field!r} field.")
        if completion_field not in row:
            raise SampleFileError(f"{where} {i} has no {completion_field!r} field (one completion per row is needed "
                                  "to align per-completion fields).")
        out.setdefault(None if prompt_field is None else row.get(prompt_field), []).append(row[field])
    texts = load_samples(source, prompt_field=prompt_field, completion_field=completion_field, encoding=encoding) \
        if not hasattr(source, "columns") else None
    if texts is not None and {k: len(v) for k, v in texts.items()} != {k: len(v) for k, v in out.items()}:
        raise SampleFileError(f"{source}: the {field!r} values do not line up with the completions.")
    return out
