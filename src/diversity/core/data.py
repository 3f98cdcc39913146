"""The input model and its checks, shared by every metric.

The input model:

* one *set* of completions is a sequence of strings (list, tuple, numpy
  array, pandas Series);
* several prompts are a mapping ``prompt -> sequence of strings`` or a
  sequence of such sequences.

A bare ``str`` is never a set (it is not a set of characters). Empty strings
are real model outputs and are kept (every metric leaves completions without
content out and says how many it left out); ``None``, NaN, ``bytes`` and other
non-strings are rejected with the index that holds them, and so are strings
that are not valid Unicode (a lone surrogate such as ``"\\ud800"``, which no
encoder or compressor accepts).

Prompt keys are identities: a mapping keeps its keys, and a pandas Series of
lists (what ``df.groupby("prompt")["completion"].apply(list)`` returns) is
read as a mapping from its index, never by position.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Hashable, Union

from .errors import InvalidParameterError

SampleSet = Sequence[str]
GroupedSamples = Union[Mapping[Hashable, Sequence[str]], Sequence[Sequence[str]]]
Samples = Union[SampleSet, GroupedSamples]


@dataclass(frozen=True)
class Groups:
    """Validated samples: one tuple of completions per group (prompt)."""

    keys: tuple[Hashable, ...]
    sets: tuple[tuple[str, ...], ...]
    grouped: bool  # False when the caller passed one bare set

    @property
    def n_samples(self) -> int:
        return sum(len(s) for s in self.sets)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(s) for s in self.sets)


def _is_missing(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isnan(float(x))


def _describe(x: Any) -> str:
    if isinstance(x, (bytes, bytearray)):
        return f"{type(x).__name__} {x[:30]!r} (decode it first, e.g. .decode('utf-8'))"
    return f"{type(x).__name__} {x!r}" if x is not None else "None"


def _check_unicode(texts: tuple[str, ...], where: str) -> None:
    """Reject lone surrogates, which no UTF-8 encoder (compressor, embedder) accepts."""
    try:
        "".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        for i, t in enumerate(texts):
            try:
                t.encode("utf-8")
            except UnicodeEncodeError as e:
                raise ValueError(
                    f"{where}[{i}] is not valid Unicode: a lone surrogate {t[e.start]!r} at character {e.start} "
                    "(a broken UTF-16 pair, e.g. from a JSON escape \\ud83d without its partner). Repair or "
                    "drop the text, e.g. text.encode('utf-8', 'replace').decode('utf-8')."
                ) from None


def _check_set(items: Any, where: str) -> tuple[str, ...]:
    if isinstance(items, (str, bytes)):
        raise TypeError(
            f"{where} is a single {type(items).__name__}, not a set of completions; "
            f"wrap it in a list: [{items[:30]!r}{'...' if len(items) > 30 else ''}]"
        )
    if isinstance(items, Mapping) or not _is_sequence(items):
        raise TypeError(f"{where} must be a sequence of strings, got {type(items).__name__}.")
    out = []
    for i, x in enumerate(items):
        if isinstance(x, str):
            out.append(x)
        elif _is_missing(x):
            raise ValueError(f"{where}[{i}] is a missing value (NaN), not a completion.")
        else:
            raise TypeError(f"{where}[{i}] must be a str, got {_describe(x)}.")
    out = tuple(out)
    _check_unicode(out, where)
    return out


def _is_series(x: Any) -> bool:
    """A pandas Series (or anything with an index and items): its index holds the keys."""
    return hasattr(x, "index") and hasattr(x, "items") and hasattr(x, "iloc")


def _is_sequence(x: Any) -> bool:
    if isinstance(x, (Sequence,)):
        return True
    # numpy arrays and pandas Series are not registered as Sequence
    return hasattr(x, "__len__") and hasattr(x, "__getitem__") and hasattr(x, "__iter__")


# Converters for containers of samples that the core does not know (a Hugging Face dataset): the io layer
# registers them at import (the core imports nothing from io); (predicate, convert) pairs, tried in order.
_ADAPTERS: list[tuple[Any, Any]] = []


def register_samples_adapter(predicate: Any, convert: Any) -> None:
    """Let :func:`as_groups` accept objects for which ``predicate(obj)`` is true, as ``convert(obj)``
    (a mapping ``prompt -> completions`` or a sequence of strings)."""
    _ADAPTERS.append((predicate, convert))


def as_groups(samples: Any, *, name: str = "samples") -> Groups:
    """Validate ``samples`` and return them as :class:`Groups`.

    Raises ``TypeError`` for a bare string, a non-sequence, or a non-string
    completion; ``ValueError`` for NaN completions, an empty input or an empty
    group.
    """
    if isinstance(samples, Groups):
        return samples
    for predicate, convert in _ADAPTERS:
        if predicate(samples):
            samples = convert(samples)
            break
    if samples is None:
        raise TypeError(f"{name} is None: pass the completions, one sequence of strings or one per prompt.")
    if _is_series(samples) and len(samples) and not isinstance(samples.iloc[0], str) and \
            _is_sequence(samples.iloc[0]):
        samples = dict(samples.items())  # a Series of lists: the index holds the prompt keys
    if isinstance(samples, Mapping):
        if len(samples) == 0:
            raise ValueError(f"{name} is empty: no prompts were given.")
        keys = tuple(samples.keys())
        sets = tuple(_check_set(samples[k], f"{name}[{k!r}]") for k in keys)
        grouped = True
    else:
        if isinstance(samples, (str, bytes)):
            _check_set(samples, name)  # raises with the helpful message
        if not _is_sequence(samples):
            raise TypeError(
                f"{name} must be a sequence of strings or a mapping prompt -> sequence of strings, "
                f"got {type(samples).__name__}."
            )
        items = list(samples)
        if len(items) == 0:
            raise ValueError(f"{name} is empty: a set of completions needs at least one.")
        if isinstance(items[0], Mapping):  # rows (a datasets.Dataset, a list of dicts): never read their keys as texts
            raise TypeError(f"{name} holds rows (mappings with the keys {', '.join(map(str, list(items[0])[:6]))}), "
                            "not completions; group them by prompt first, e.g. diversity.load_samples(ds, prompt_field=..., "
                            "completion_field=...) for a datasets.Dataset or a pandas DataFrame.")
        is_text = [isinstance(x, (str, bytes, bytearray)) or x is None or _is_missing(x) or not _is_sequence(x)
                   for x in items]
        if all(is_text):
            keys = (0,)
            sets = (_check_set(items, name),)
            grouped = False
        elif not any(is_text):
            keys = tuple(range(len(items)))
            sets = tuple(_check_set(s, f"{name}[{i}]") for i, s in enumerate(items))
            grouped = True
        else:
            i = is_text.index(not is_text[0])
            raise TypeError(
                f"{name} mixes strings and sequences: {name}[0] is {type(items[0]).__name__} "
                f"but {name}[{i}] is {type(items[i]).__name__}. Pass either one set of strings "
                "or one sequence of strings per prompt."
            )
    for k, s in zip(keys, sets):
        if len(s) == 0:
            where = f"{name}[{k!r}]" if grouped else name
            raise ValueError(f"{where} is empty: every prompt needs at least one completion.")
    return Groups(keys=keys, sets=sets, grouped=grouped)


def memory_limit() -> int:
    """Bytes one computation may allocate: ``$DIVERSITY_MEMORY_LIMIT`` (e.g.
    ``8G``, ``512M`` or bytes: a finite positive size), else half of the
    machine's physical memory."""
    import os

    env = os.environ.get("DIVERSITY_MEMORY_LIMIT")
    if env:
        units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
        text = env.strip().upper()
        text = text[:-2] + text[-1] if text.endswith("IB") else text  # 8GiB -> 8G
        text = text[:-1] if text.endswith("B") and text[-2:-1] in units else text  # 8GB -> 8G
        bad = InvalidParameterError(f"DIVERSITY_MEMORY_LIMIT must be a positive size such as 8G, 512M or a number of "
                                    f"bytes, got {env!r}; set it so (export DIVERSITY_MEMORY_LIMIT=8G) or unset it "
                                    "(default: half of the machine's memory).")
        try:
            number = float(text[:-1]) if text[-1:] in units else float(text)
        except (ValueError, IndexError):
            raise bad from None
        if not math.isfinite(number) or number <= 0:
            raise bad
        return max(1, int(number * units.get(text[-1:], 1)))
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 2**30


def check_embedding_rows(x: np.ndarray, keys: Sequence[Hashable], offsets: np.ndarray, what: str) -> None:
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1)) if x.size else np.empty(0, np.int64)
    if len(bad):
        g = int(np.searchsorted(offsets, bad[0], side="right") - 1)
        raise ValueError(f"{what}: row {bad[0] - offsets[g]} of prompt {keys[g]!r} contains NaN or infinity.")


def as_array_groups(arrays: Any, name: str, *, square: bool = False) -> tuple[Groups, list[np.ndarray]]:
    """Validate embeddings (``square=False``) or kernels: one 2-D array, a
    mapping prompt -> array, or a sequence of arrays."""
    if isinstance(arrays, dict) or hasattr(arrays, "keys"):
        keys, items, grouped = tuple(arrays.keys()), [arrays[k] for k in arrays.keys()], True
    elif isinstance(arrays, np.ndarray) or (isinstance(arrays, (list, tuple)) and arrays and
                                             not hasattr(arrays[0], "shape") and not isinstance(arrays[0], list)):
        keys, items, grouped = (0,), [arrays], False
    elif isinstance(arrays, (list, tuple)) and arrays and isinstance(arrays[0], np.ndarray):
        keys, items, grouped = tuple(range(len(arrays))), list(arrays), True
    else:
        keys, items, grouped = (0,), [arrays], False
    if len(items) == 0:
        raise ValueError(f"{name} is empty.")
    out = []
    dim = None
    for k, a in zip(keys, items):
        where = f"{name}[{k!r}]" if grouped else name
        if np.iscomplexobj(a):
            raise TypeError(f"{where} is complex; embeddings and kernels must be real (np.real would silently "
                            "drop the imaginary part, so it is not done for you).")
        try:
            a = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{where} must be a numeric 2-D array: {e}") from None
        if a.ndim != 2:
            raise ValueError(f"{where} must be a 2-D array (one row per completion), got shape {a.shape}.")
        if a.shape[0] == 0 or a.shape[1] == 0:
            raise ValueError(f"{where} is empty (shape {a.shape}).")
        if square:
            if a.shape[0] != a.shape[1]:
                raise ValueError(f"{where} must be a square kernel matrix, got shape {a.shape}.")
            if not np.allclose(a, a.T, rtol=1e-6, atol=1e-8):
                raise ValueError(f"{where} is not symmetric.")
            if not np.allclose(np.diag(a), 1.0, atol=1e-6):
                raise ValueError(f"{where} must have a unit diagonal (k(x, x) = 1), as the Vendi score requires.")
            if np.isfinite(a).all():
                lam = np.linalg.eigvalsh(a)
                tol = 1e-8 * max(1.0, float(np.abs(lam).max()))
                if lam.min() < -tol:
                    raise ValueError(f"{where} is not positive semi-definite (smallest eigenvalue {lam.min():.3g}): "
                                     "a similarity kernel must be, or its Vendi score is meaningless.")
        elif dim is not None and a.shape[1] != dim:
            raise ValueError(f"{where} has dimension {a.shape[1]} but earlier embeddings have {dim}.")
        dim = a.shape[1]
        if not np.isfinite(a).all():
            row = int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0])
            raise ValueError(f"{where}: row {row} contains NaN or infinity.")
        out.append(a)
    groups = Groups(keys=keys, sets=tuple(("",) * len(a) for a in out), grouped=grouped)
    return groups, out
