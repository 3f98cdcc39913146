"""Sample files as Dask partitions: one partition per file, read on a worker
by the one reader (:mod:`diversity.io.reader`), so that
:func:`diversity.score_dask` on files has the formats, checks and messages
(file and line) of :func:`~diversity.load_samples` and ``score_file``.
A Hugging Face ``datasets`` object becomes a pandas frame of one completion per row
(:func:`dataset_frame`). Paths may be globs or folders (a folder: its sample files, sorted by name),
or fsspec URLs of single files (``s3://bucket/s.jsonl``; the file system's
package must be installed on the workers).
"""

from __future__ import annotations

import glob
import os
from typing import Any

from .reader import FORMATS, SampleFileError, iter_records, iter_samples, prompt_key, resolve

__all__ = ["expand_paths", "read_files", "read_file", "dataset_frame"]


def expand_paths(paths: list[str], func: str) -> list[str]:
    """Files named by paths, globs and folders (a folder: its sample files, sorted by name)."""
    out: list[str] = []
    for p in paths:
        if "://" in p:  # an fsspec URL: one file, read through fsspec on the worker
            out.append(p)
        elif os.path.isdir(p):
            found = sorted(os.path.join(p, f) for f in os.listdir(p)
                           if os.path.splitext(f[:-3] if f.lower().endswith(".gz") else f)[1].lower() in FORMATS)
            if not found:
                raise FileNotFoundError(f"{func}: the folder {p!r} holds no sample files "
                                        f"({', '.join(sorted(FORMATS))}, optionally .gz).")
            out += found
        elif glob.has_magic(p) and not os.path.exists(p):
            found = sorted(glob.glob(p))
            if not found:
                raise FileNotFoundError(f"{func}: no file matches {p!r}.")
            out += found
        else:
            out.append(p)
    return out


def read_files(paths: list[Any], dask: Any, dd: Any, func: str, fields: dict[str, str | None]) -> Any:
    """One partition per file, read on a worker by the one reader (:mod:`diversity.io.reader`): the
    formats, checks and messages (file and line) of ``load_samples`` and ``score_file``."""
    import pandas as pd

    paths = expand_paths([os.fspath(p) for p in paths], func)
    formats = {resolve(p, None, "utf-8")[1] for p in paths}  # checked on the client: a missing file fails now
    if len(formats) > 1:
        raise ValueError(f"{func}: files of several formats ({', '.join(sorted(formats))}); pass files of one "
                         "format per call.")
    columns = list(dict.fromkeys(c for c in fields.values() if c is not None))
    meta = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    parts = [dask.delayed(read_file, pure=True)(p, fields) for p in paths]
    # object columns stay objects: dask would otherwise turn a column of lists (embeddings) into strings
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed(parts, meta=meta, verify_meta=False)


def read_file(path: str, fields: dict[str, str | None]) -> Any:
    """A file as a frame of one completion per row (a ``completions`` list becomes one row each)."""
    import pandas as pd

    prompt, completion = fields["prompt_field"], fields["completion_field"]
    extra = [c for c in (fields["embedding_field"], fields["quality_field"]) if c is not None]
    cols: dict[str, list] = {c: [] for c in dict.fromkeys([prompt, *( [completion] if completion else []), *extra])}
    if completion is None:  # embeddings only
        rows = ((loc, prompt_key(r, loc, prompt) if isinstance(r, dict) else None, [None], r)
                for loc, r in iter_records(path))
    else:
        rows = iter_samples(path, prompt_field=prompt, completion_field=completion, with_rows=True)
    for loc, key, texts, row in rows:
        if not isinstance(row, dict):
            raise SampleFileError(f"{loc}: expected a JSON object, got {type(row).__name__}.")
        for c in extra:
            if c not in row:
                raise SampleFileError(f"{loc}: no {c!r} field (fields: {', '.join(map(str, row))}).")
            if len(texts) != 1:
                raise SampleFileError(f"{loc}: the row holds {len(texts)} completions but one {c!r} value; per-"
                                      "completion fields need one completion per row.")
        for t in texts:
            cols[prompt].append(key)
            if completion is not None:
                cols[completion].append(t)
            for c in extra:
                cols[c].append(row[c])
    return pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in cols.items()})


def dataset_frame(ds: Any, func: str, fields: dict[str, str | None]) -> Any:
    """A ``datasets`` object as a pandas frame of one completion per row (read on the client)."""
    import pandas as pd

    name = type(ds).__name__
    if name.endswith("DatasetDict"):
        splits = list(ds.keys())
        if len(splits) != 1:
            raise ValueError(f"{func}: the {name} has the splits {', '.join(map(repr, splits))}; pass one split "
                             "(data['train']).")
        ds = ds[splits[0]]
    prompt, completion = fields["prompt_field"], fields["completion_field"]
    extra = [c for c in (fields["embedding_field"], fields["quality_field"]) if c is not None]
    df = ds.to_pandas() if hasattr(ds, "to_pandas") else pd.DataFrame.from_records(list(ds))
    columns = list(df.columns)
    if completion is None or completion in columns:
        return df
    if "completions" in columns:
        if extra:
            raise ValueError(f"{func}: the dataset holds a 'completions' list per row but one {extra[0]!r} value; "
                             "per-completion columns need one completion per row.")
        df = df[[prompt, "completions"]].explode("completions", ignore_index=True)
        df = df[df["completions"].notna()]
        return df.rename(columns={"completions": completion}).reset_index(drop=True)
    if "messages" in columns and not extra:
        from .hf_datasets import from_dataset

        if prompt not in ("prompt", "prompt_id"):
            raise ValueError(f"{func}: chat rows ('messages') give the prompt as 'prompt' or 'prompt_id'; got "
                             f"prompt_field={prompt!r}.")
        samples = from_dataset(ds, prompt_column=prompt, messages_column="messages")
        return pd.DataFrame({prompt: pd.Series([k for k, v in samples.items() for _ in v], dtype=object),
                             completion: pd.Series([t for v in samples.values() for t in v], dtype=object)})
    return df  # _check_columns names the missing column
