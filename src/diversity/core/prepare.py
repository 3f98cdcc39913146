"""The input boundary: validate what a user passed and turn it into columns grouped by prompt.

Every engine (in memory, file, Dask) calls :func:`prepare` on what it was given, so types,
Unicode, shapes, alignment and missing values are checked once, with the same messages.
"""

from __future__ import annotations

from typing import Any, Hashable, Sequence

from .data import as_array_groups, as_groups
from .errors import InvalidParameterError
from .metric import Metric

__all__ = ["prepare"]


def prepare(func: str, metrics: Sequence[Metric], *, samples: Any = None, embeddings: Any = None,
            kernel: Any = None, values: Any = None, logprobs: Any = None, quality: Any = None, gate: Any = None
            ) -> tuple[bool, dict[Hashable, dict[str, list]]]:
    """Validate the input of ``metrics`` and return ``(grouped, {key: columns})``; with ``quality``
    (one value per completion) a ``scores`` column, with a ``gate`` a ``keep`` column."""
    grouped, columns = _prepare(func, metrics, samples=samples, embeddings=embeddings, kernel=kernel, values=values,
                                logprobs=logprobs)
    if quality is not None or gate is not None:
        from .quality_columns import add_quality_columns

        add_quality_columns(func, columns, grouped, quality, gate)
    return grouped, columns


def _prepare(func: str, metrics: Sequence[Metric], *, samples: Any = None, embeddings: Any = None,
             kernel: Any = None, values: Any = None, logprobs: Any = None
             ) -> tuple[bool, dict[Hashable, dict[str, list]]]:
    needs = {m.input for m in metrics}
    columns: dict[Hashable, dict[str, list]] = {}
    grouped = True
    if kernel is not None:
        if samples is not None or embeddings is not None:
            raise ValueError(f"{func}: pass either samples/embeddings or kernel, not both.")
        for m in metrics:
            if not m.accepts_kernel:
                raise ValueError(f"{func}: {m.spec} cannot be computed from a kernel matrix.")
        g, arrays = as_array_groups(kernel, "kernel", square=True)
        grouped = g.grouped
        return grouped, {k: {"kernels": [a]} for k, a in zip(g.keys, arrays)}
    if "values" in needs or "logprobs" in needs:
        if len(needs) > 1:
            raise ValueError(f"{func}: metrics of categorical values or log-probabilities cannot be scored together "
                             "with text metrics in one call.")
        from .inputs import as_logprob_groups, as_value_groups

        data = values if "values" in needs else logprobs
        name = "values" if "values" in needs else "logprobs"
        if data is None:
            raise InvalidParameterError(f"{func}: {metrics[0].spec} needs {name}=.")
        keys, sets, grouped = (as_value_groups if name == "values" else as_logprob_groups)(data, name)
        return grouped, {k: {name: list(s)} for k, s in zip(keys, sets)}
    if samples is None and embeddings is None:
        if "vectors" in needs:
            raise ValueError(f"{func}: pass samples (texts), or embeddings=" +
                             (" or kernel=." if any(m.accepts_kernel for m in metrics) else "."))
        raise TypeError(f"{func}: samples is None; pass the completions (a sequence of strings, or a mapping "
                        "prompt -> sequence of strings).")
    if samples is None and any(m.input == "texts" for m in metrics):
        m = next(m for m in metrics if m.input == "texts")
        raise ValueError(f"{func}: {m.spec} is computed from the texts; only embeddings or kernels were given.")
    text_groups = as_groups(samples) if samples is not None else None
    if embeddings is not None:
        g, arrays = as_array_groups(embeddings, "embeddings")
        if text_groups is not None:
            _check_aligned(func, text_groups, g)
            g = text_groups
        grouped = g.grouped
        for i, (k, a) in enumerate(zip(g.keys, arrays)):
            cols: dict[str, list] = {"embeddings": list(a)}
            if text_groups is not None:
                cols["texts"] = list(text_groups.sets[i])
            columns[k] = cols
        return grouped, columns
    return text_groups.grouped, {k: {"texts": list(s)} for k, s in zip(text_groups.keys, text_groups.sets)}


def _check_aligned(func: str, text_groups: Any, groups: Any) -> None:
    if text_groups.grouped and groups.grouped and text_groups.keys != groups.keys:
        only_t = [k for k in text_groups.keys if k not in groups.keys][:3]
        only_e = [k for k in groups.keys if k not in text_groups.keys][:3]
        raise ValueError(f"{func}: samples and embeddings have different prompt keys (only in samples: "
                         f"{only_t!r}, only in embeddings: {only_e!r}"
                         + ("; same keys in another order" if not only_t and not only_e else "") + ").")
    if text_groups.sizes != groups.sizes:
        if len(text_groups.sizes) == len(groups.sizes):
            bad = next(i for i, (a, b) in enumerate(zip(text_groups.sizes, groups.sizes)) if a != b)
            where = (f"prompt {text_groups.keys[bad]!r} has {text_groups.sizes[bad]} completions but "
                     f"{groups.sizes[bad]} embedding rows")
        else:
            where = f"{len(text_groups.sizes)} prompts of samples vs {len(groups.sizes)} of embeddings"
        raise ValueError(f"{func}: samples and embeddings do not match: {where}.")
