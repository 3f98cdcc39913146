"""Per-completion quality values and gate verdicts as columns of the input:
``scores`` (numbers, for quality-aware metrics) and ``keep`` (the gate's
verdict for every completion), aligned with the completions they describe."""

from __future__ import annotations

import math
import numbers
from typing import Any, Hashable, Mapping

__all__ = ["add_quality_columns"]


def _values_for(func: str, quality: Any, key: Hashable, texts: list[str], grouped: bool) -> list[Any] | None:
    if quality is None:
        return None
    if callable(quality):
        return [quality(t) for t in texts]
    if isinstance(quality, Mapping):
        if key not in quality:
            raise ValueError(f"{func}: quality= has no values for prompt {key!r}; give one value per completion of "
                             "every prompt.")
        vals = list(quality[key])
    elif not grouped:
        vals = list(quality)
    else:
        raise ValueError(f"{func}: with samples grouped by prompt, quality= must be a mapping prompt -> values (or a "
                         "callable).")
    if len(vals) != len(texts):
        raise ValueError(f"{func}: quality= has {len(vals)} values for prompt {key!r}, which has {len(texts)} "
                         "completions; give one value per completion.")
    return vals


def add_quality_columns(func: str, columns: dict[Hashable, dict[str, list]], grouped: bool, quality: Any,
                        gate: Any) -> None:
    for key, cols in columns.items():
        texts = cols.get("texts")
        if texts is None:
            raise ValueError(f"{func}: quality= and gate= need the texts of the completions.")
        vals = _values_for(func, quality, key, texts, grouped)
        if vals is not None and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in vals):
            bad = [i for i, v in enumerate(vals) if math.isnan(float(v)) or math.isinf(float(v))]
            if bad:
                raise ValueError(f"{func}: quality value {bad[0]} of prompt {key!r} is {vals[bad[0]]!r}; give every "
                                 "completion a finite number.")
            cols["scores"] = [float(v) for v in vals]
        if gate is not None:
            cols["keep"] = gate.keep(texts, vals)
