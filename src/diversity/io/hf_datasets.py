"""Hugging Face ``datasets`` objects as samples (see :mod:`diversity.io.formats`)."""

from __future__ import annotations

from typing import Any, Hashable

from .lines import SampleFileError

__all__ = ["from_dataset", "is_hf_dataset", "dataset_samples"]


def is_hf_dataset(obj: Any) -> bool:
    """A ``datasets`` Dataset, DatasetDict, IterableDataset or IterableDatasetDict (without importing datasets)."""
    return type(obj).__module__.split(".")[0] == "datasets" and type(obj).__name__ in (
        "Dataset", "DatasetDict", "IterableDataset", "IterableDatasetDict")


def from_dataset(ds: Any, *, prompt_column: str | None = "prompt", completion_column: str = "completion",
                 completions_column: str = "completions", messages_column: str | None = None,
                 split: str | None = None) -> dict[Hashable, list[str]]:
    """Completions grouped by prompt from a Hugging Face ``datasets`` object.

    Parameters
    ----------
    ds : datasets.Dataset, DatasetDict, IterableDataset or IterableDatasetDict
    prompt_column : str or None, default "prompt"
        Column holding the prompt (or an id). ``None``: one set, returned under ``None``.
    completion_column, completions_column : str
        Column with one completion per row, or with a list of completions per
        row (whichever the row fills; both filled is an error).
    messages_column : str or None
        Read chat rows from this column instead (prompt: the conversation up
        to the last user turn; completion: the assistant reply; see
        :mod:`diversity.io.formats`); ``prompt_column`` must then be
        ``"prompt"``, ``"prompt_id"`` or None.
    split : str or None
        The split of a DatasetDict; may be left out when it has one split.

    Returns
    -------
    dict
        ``prompt -> completions``, for :func:`diversity.score` and :func:`diversity.compare`.

    Raises
    ------
    TypeError
        ``ds`` is not a ``datasets`` object.
    ValueError
        An unknown split, or several splits and no ``split=``; a column that
        is not in the dataset (the message lists its columns).
    SampleFileError
        A row that does not fit (naming the row and the field).
    """
    from .formats import chat_row
    from .reader import completions, prompt_key

    if not is_hf_dataset(ds):
        raise TypeError(f"from_dataset needs a datasets.Dataset, DatasetDict or IterableDataset, got "
                        f"{type(ds).__name__}.")
    name = type(ds).__name__
    if name.endswith("DatasetDict"):
        splits = list(ds.keys())
        if split is None:
            if len(splits) != 1:
                raise ValueError(f"The {name} has the splits {', '.join(map(repr, splits))}; pass split= to choose "
                                 "one (e.g. one model's completions per split: compare(from_dataset(d, split='base'), "
                                 "from_dataset(d, split='aligned'))).")
            split = splits[0]
        if split not in splits:
            raise ValueError(f"The {name} has no split {split!r}; its splits: {', '.join(map(repr, splits))}.")
        ds, name = ds[split], f"{name}[{split!r}]"
    elif split is not None:
        raise ValueError(f"split={split!r} was given, but a {name} has no splits.")
    columns = getattr(ds, "column_names", None)
    if messages_column is not None:
        needed = [messages_column]
        if prompt_column not in ("prompt", "prompt_id", None):
            raise ValueError(f"With messages_column, prompt_column must be 'prompt' (the rendered conversation), "
                             f"'prompt_id' (the row's id) or None. Got {prompt_column!r} instead.")
    else:
        needed = [c for c in (prompt_column,) if c is not None]
        if columns is not None and completion_column not in columns and completions_column not in columns:
            raise ValueError(f"The {name} has neither a {completion_column!r} nor a {completions_column!r} column "
                             f"(columns: {', '.join(columns)}); pass completion_column= or completions_column=.")
    if columns is not None:
        missing = [c for c in needed if c not in columns]
        if missing:
            raise ValueError(f"The {name} has no column {missing[0]!r} (columns: {', '.join(columns)}); pass the "
                             f"column's name ({'messages_column' if missing[0] == messages_column else 'prompt_column'}"
                             "=).")
    out: dict[Hashable, list[str]] = {}
    for i, row in enumerate(ds):
        loc = f"<{name}> row {i}"
        if messages_column is not None:
            r = chat_row(row, loc, messages_column)
            key = None if prompt_column is None else prompt_key(r, loc, prompt_column)
            out.setdefault(key, []).append(r["completion"])
            continue
        key = None if prompt_column is None else prompt_key(row, loc, prompt_column)
        out.setdefault(key, []).extend(completions(row, loc, completion_column, completions_column, True))
    if not out:
        raise SampleFileError(f"<{name}>: no rows.")
    return out


def dataset_samples(ds: Any) -> dict[Hashable, list[str]]:
    """A ``datasets`` object passed straight to :func:`diversity.score`, :func:`diversity.compare`, ...:
    :func:`from_dataset` with its default columns (``prompt`` and ``completion`` or ``completions``),
    or chat rows from ``messages`` when the dataset has that column and no completion column. Other
    column names: call :func:`from_dataset` with them."""
    columns = _column_names(ds)
    if "messages" in columns and not {"completion", "completions"} & set(columns):
        return from_dataset(ds, prompt_column="prompt_id" if "prompt_id" in columns else "prompt",
                            messages_column="messages")
    if columns and not {"completion", "completions"} & set(columns):
        raise ValueError(f"The {type(ds).__name__} has no 'completion', 'completions' or 'messages' column "
                         f"(columns: {', '.join(columns)}): name its columns with "
                         "diversity.from_dataset(ds, prompt_column=..., completion_column=...) and pass the result.")
    return from_dataset(ds)


def _column_names(ds: Any) -> list[str]:
    names = getattr(ds, "column_names", None)
    if isinstance(names, dict):  # a DatasetDict: the columns of each split
        names = sorted({c for cols in names.values() for c in (cols or [])})
    return list(names or [])

