"""Validation of the non-text inputs: categorical values (attribute
diversity) and per-position log-probabilities or logits (token entropy)."""

from __future__ import annotations

import math
import numbers
from typing import Any, Hashable, Mapping

import numpy as np

__all__ = ["as_value_groups", "as_logprob_groups"]


def _as_category(x: Any, where: str) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, bool) or isinstance(x, numbers.Integral):
        return str(x)
    if isinstance(x, numbers.Real):
        if math.isnan(float(x)):
            raise ValueError(f"{where} is a missing value (NaN); drop or label missing values explicitly.")
        return str(x)
    if x is None:
        raise TypeError(f"{where} is None; drop or label missing values explicitly (e.g. 'unknown').")
    raise TypeError(f"{where} must be a string or number, got {type(x).__name__}.")


def as_value_groups(values: Any, name: str = "values") -> tuple[tuple[Hashable, ...], list[list[str]], bool]:
    """Categorical values (compared as ``str(value)``): one set, or sets per prompt."""
    if values is None or isinstance(values, (str, bytes)):
        raise TypeError(f"{name} is a single {'string' if isinstance(values, str) else type(values).__name__}, "
                        "not a sequence of categorical values.")
    if isinstance(values, Mapping):
        keys, sets, grouped = tuple(values.keys()), [list(v) for v in values.values()], True
    else:
        items = list(values)
        grouped = bool(items) and all(isinstance(v, (list, tuple)) for v in items)
        keys = tuple(range(len(items))) if grouped else (0,)
        sets = [list(v) for v in items] if grouped else [items]
    if not sets:
        raise ValueError(f"{name} is empty.")
    out = []
    for k, s in zip(keys, sets):
        where = f"{name}[{k!r}]" if grouped else name
        if not s:
            raise ValueError(f"{where} is empty: every prompt needs at least one value.")
        out.append([_as_category(v, f"{where}[{i}]") for i, v in enumerate(s)])
    return keys, out, grouped


def _depth(x: Any) -> int:
    d = 0
    while isinstance(x, (list, tuple, np.ndarray)) and len(x) and not isinstance(x, Mapping):
        d += 1
        x = x[0]
    if isinstance(x, Mapping):
        d += 1
    return d


def _positions(gen: Any, where: str) -> np.ndarray:
    """One generation -> (positions, candidates) array, candidates sorted in decreasing order."""
    if isinstance(gen, (str, bytes)) or not hasattr(gen, "__iter__"):
        raise TypeError(f"{where} must be a generation: a sequence of positions, each a sequence of "
                        f"log-probabilities; got {type(gen).__name__}.")
    rows = []
    for j, pos in enumerate(gen):
        if pos is None or isinstance(pos, (str, bytes)) or not (isinstance(pos, Mapping) or hasattr(pos, "__iter__")):
            raise TypeError(f"{where}[{j}] must be a sequence of log-probabilities (or a {{token: logprob}} "
                            f"mapping); got {type(pos).__name__}.")
        vals = list(pos.values()) if isinstance(pos, Mapping) else (pos.tolist() if isinstance(pos, np.ndarray)
                                                                     else list(pos))
        bad = next((v for v in vals if v is None or isinstance(v, (str, bytes, bool))), 0.0)
        if bad is None or isinstance(bad, (str, bytes, bool)):
            raise TypeError(f"{where}[{j}] must hold numbers (log-probabilities or logits), got {bad!r}.")
        try:
            arr = np.asarray(vals, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{where}[{j}] must hold numbers (log-probabilities or logits).") from None
        if arr.ndim != 1 or len(arr) == 0:
            raise ValueError(f"{where}[{j}] must be a non-empty list of numbers.")
        if np.isnan(arr).any() or np.isposinf(arr).any():
            raise ValueError(f"{where}[{j}] contains NaN or +inf.")
        rows.append(np.sort(arr)[::-1])
    if not rows:
        return np.empty((0, 1))
    width = min(len(r) for r in rows)
    return np.stack([r[:width] for r in rows])


def as_logprob_groups(data: Any, name: str = "logprobs") -> tuple[tuple[Hashable, ...], list[list[np.ndarray]], bool]:
    """Generations (positions x candidates), one set or sets per prompt."""
    if data is None or isinstance(data, (str, bytes)):
        raise TypeError(f"{name} must be generations (a sequence of positions of log-probabilities), "
                        f"got {type(data).__name__}.")
    if isinstance(data, Mapping):
        keys, sets, grouped = tuple(data.keys()), [list(v) for v in data.values()], True
    else:
        items = list(data)
        grouped = bool(items) and _depth(items) == 4
        keys = tuple(range(len(items))) if grouped else (0,)
        sets = [list(v) for v in items] if grouped else [items]
    if not sets or any(len(s) == 0 for s in sets):
        raise ValueError(f"{name}: every set needs at least one generation.")
    out = []
    for key, gens in zip(keys, sets):
        out.append([_positions(gen, f"{name}[{key!r}][{i}]" if grouped else f"{name}[{i}]")
                    for i, gen in enumerate(gens)])
    return keys, out, grouped
