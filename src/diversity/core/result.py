"""Result objects and signatures.

A :class:`DiversityResult` is immutable, JSON-serialisable through
:meth:`DiversityResult.to_dict`, converts to ``float`` and carries a
*signature*: a string that records every setting that changes the number, in
the spirit of sacrebleu, e.g.::

    distinct-2|var:set|tok:unicode-v2|lc:no|agg:per-prompt-mean|k:10|v:0.3.0

Two results are comparable only when their signatures define the same value
(:meth:`~diversity.core.signature.Signature.same_value_as`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Hashable, Mapping, Sequence

from .._version import __version__
from .signature import Signature


def format_signature(metric: str, fields: Sequence[tuple[str, Any]]) -> Signature:
    """Join ``metric`` and ``key:value`` fields with ``|``; the library version goes last."""
    return Signature.build(metric, fields, __version__)


def jsonable(x: Any) -> Any:
    if isinstance(x, float):
        return None if math.isnan(x) else x
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if hasattr(x, "item") and callable(x.item):  # numpy scalar
        return jsonable(x.item())
    if hasattr(x, "tolist"):
        return jsonable(x.tolist())
    raise TypeError(f"cannot serialise {type(x).__name__} to JSON")


@dataclass(frozen=True)
class ConfidenceInterval:
    """A confidence interval with the method that produced it."""

    low: float
    high: float
    level: float
    method: str

    def __iter__(self):
        yield self.low
        yield self.high

    def to_dict(self) -> dict[str, Any]:
        return {"low": jsonable(self.low), "high": jsonable(self.high), "level": self.level,
                "method": self.method}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ConfidenceInterval":
        return cls(_num(d["low"]), _num(d["high"]), float(d["level"]), d["method"])


@dataclass(frozen=True)
class DiversityResult:
    """The value of one diversity metric on one input.

    Attributes
    ----------
    metric : str
        The metric's spec, e.g. ``"distinct-2"`` or ``"vendi?q=2"``; it can be
        passed back to :func:`diversity.score` and the command line.
    value : float
        The number. NaN when the metric is undefined on this input (a warning
        says why).
    higher_is_more_diverse : bool
        Direction: ``True`` for distinct-n, entropy, Vendi; ``False`` for
        self-BLEU, compression ratio, homogenization.
    signature : Signature
        Every setting that changes the number, library version last (a
        ``str``; ``result.signature.fields`` holds the parsed fields).
    n_samples : int
        Completions scored (all groups together).
    n_groups : int
        Prompts (1 for a single set).
    per_group : tuple of float or None
        The within-prompt values, in ``groups`` order, when aggregated over
        prompts with ``aggregate="per-prompt"``.
    groups : tuple or None
        Prompt keys matching ``per_group``.
    std : float or None
        Standard deviation (ddof=1) of ``per_group``.
    ci : ConfidenceInterval or None
        Bootstrap confidence interval over prompts, when requested.
    details : mapping
        Metric-specific extras (length statistics, counts, per-completion values).
    """

    metric: str
    value: float
    higher_is_more_diverse: bool
    signature: str
    n_samples: int
    n_groups: int
    per_group: tuple[float, ...] | None = None
    groups: tuple[Hashable, ...] | None = None
    std: float | None = None
    ci: ConfidenceInterval | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))
        if not isinstance(self.signature, Signature):
            object.__setattr__(self, "signature", Signature(self.signature))

    def __reduce__(self):
        # pickle and copy.deepcopy: the read-only details view is rebuilt from a plain dict, so results
        # travel through joblib, multiprocessing and notebook caches (a mappingproxy does not pickle)
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["details"] = dict(self.details)
        state["signature"] = str(self.signature)
        return (_rebuild, (type(self), state))

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        direction = "higher = more diverse" if self.higher_is_more_diverse else "lower = more diverse"
        ci = f" [{self.ci.level:.0%} CI {self.ci.low:.4g}, {self.ci.high:.4g}]" if self.ci else ""
        std = f" ± {self.std:.3g} (std over prompts)" if self.std is not None and not math.isnan(self.std) else ""
        return (f"<{self.metric} = {self.value:.4g}{std}{ci} ({direction}); "
                f"n_samples={self.n_samples}, n_groups={self.n_groups}; {self.signature}>")

    def to_dict(self) -> dict[str, Any]:
        """A plain dict that ``json.dumps`` accepts (NaN becomes ``null``)."""
        return {
            "metric": self.metric,
            "value": jsonable(self.value),
            "higher_is_more_diverse": self.higher_is_more_diverse,
            "signature": str(self.signature),
            "n_samples": self.n_samples,
            "n_groups": self.n_groups,
            "per_group": jsonable(self.per_group),
            "groups": jsonable(self.groups),
            "std": jsonable(self.std),
            "ci": self.ci.to_dict() if self.ci else None,
            "details": jsonable(dict(self.details)),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DiversityResult":
        """Read back :meth:`to_dict` (JSON ``null`` is NaN again; prompt keys as JSON gives them)."""
        return cls(metric=d["metric"], value=_num(d["value"]), higher_is_more_diverse=d["higher_is_more_diverse"],
                   signature=d["signature"], n_samples=d["n_samples"], n_groups=d["n_groups"],
                   per_group=None if d.get("per_group") is None else tuple(_num(v) for v in d["per_group"]),
                   groups=None if d.get("groups") is None else tuple(d["groups"]),
                   std=None if d.get("std") is None and "std" not in d else _num(d.get("std")),
                   ci=ConfidenceInterval.from_dict(d["ci"]) if d.get("ci") else None,
                   details=d.get("details") or {})


def _rebuild(cls: type, state: Mapping[str, Any]) -> Any:
    """Unpickle a result: its constructor with the saved fields (the checks of ``__post_init__`` run again)."""
    return cls(**state)


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)
