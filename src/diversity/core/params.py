"""Declarative parameters: each metric parameter and each shared option is
declared once (name, constraint, default, documentation) and validated at the
boundary with one kind of message, in the spirit of scikit-learn's
``validate_params``::

    The 'n' parameter of distinct_n must be an int in the range [1, inf). Got 0 instead.

A constraint also writes a value into a metric spec (``vendi?q=2``) and reads
it back, so specs round-trip.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Sequence

from .errors import InvalidParameterError

__all__ = ["Param", "Int", "Real", "Choice", "Bool", "Optional", "Floats", "REQUIRED", "check"]

REQUIRED = object()


class Constraint:
    """What a value may be; ``describe`` completes "must be ..."."""

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def normalize(self, value: Any) -> Any:
        return value

    def format(self, value: Any) -> str:
        return str(value)

    def parse(self, text: str) -> Any:
        return text


@dataclass(frozen=True)
class Int(Constraint):
    low: int | None = None
    high: int | None = None

    def accepts(self, value):
        return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                and (self.low is None or value >= self.low) and (self.high is None or value <= self.high))

    def describe(self):
        return f"an int in the range [{'-inf' if self.low is None else self.low}, " \
               f"{'inf)' if self.high is None else str(self.high) + ']'}"

    def normalize(self, value):
        return int(value)

    def parse(self, text):
        try:
            return int(text)
        except ValueError:
            return text


@dataclass(frozen=True)
class Real(Constraint):
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    exclude: tuple[float, ...] = ()

    def accepts(self, value):
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or math.isnan(float(value)):
            return False
        v = float(value)
        return ((v > self.low if self.low_open else v >= self.low)
                and (v < self.high if self.high_open else v <= self.high) and v not in self.exclude)

    def describe(self):
        lb, rb = ("(" if self.low_open else "["), (")" if self.high_open else "]")
        text = f"a float in the range {lb}{float(self.low)}, {float(self.high)}{rb}"
        return text + "".join(f" other than {x:g}" for x in self.exclude)

    def normalize(self, value):
        return float(value)

    def format(self, value):
        """The shortest text that reads back as the same float (``e`` for math.e)."""
        if math.isinf(value):
            return "inf"
        if value == math.e:
            return "e"
        text = repr(float(value))
        return text[:-2] if text.endswith(".0") else text

    def parse(self, text):
        low = text.lower()
        if low in ("inf", "infinity"):
            return math.inf
        if low == "e":
            return math.e
        try:
            return float(text)
        except ValueError:
            return text


@dataclass(frozen=True)
class Choice(Constraint):
    options: tuple[str, ...]

    def accepts(self, value):
        return isinstance(value, str) and value in self.options

    def describe(self):
        return "one of " + ", ".join(repr(o) for o in self.options)


@dataclass(frozen=True)
class Bool(Constraint):
    def accepts(self, value):
        return isinstance(value, bool)

    def describe(self):
        return "a bool"

    def format(self, value):
        return "true" if value else "false"

    def parse(self, text):
        return {"true": True, "yes": True, "false": False, "no": False}.get(text.lower(), text)


@dataclass(frozen=True)
class Optional(Constraint):
    """``None`` or a value of ``inner``."""

    inner: Constraint

    def accepts(self, value):
        return value is None or self.inner.accepts(value)

    def describe(self):
        return f"{self.inner.describe()}, or None"

    def normalize(self, value):
        return None if value is None else self.inner.normalize(value)

    def format(self, value):
        return "none" if value is None else self.inner.format(value)

    def parse(self, text):
        return None if text.lower() == "none" else self.inner.parse(text)


@dataclass(frozen=True)
class Floats(Constraint):
    """A non-empty sequence of finite non-negative floats with a positive sum (n-gram weights)."""

    def accepts(self, value):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) == 0:
            return False
        try:
            vals = [float(v) for v in value]
        except (TypeError, ValueError):
            return False
        return all(math.isfinite(v) and v >= 0 for v in vals) and sum(vals) > 0

    def describe(self):
        return "a sequence of finite non-negative numbers with a positive sum"

    def normalize(self, value):
        return tuple(float(v) for v in value)

    def format(self, value):
        return ",".join(f"{v:g}" for v in value)

    def parse(self, text):
        try:
            return tuple(float(v) for v in text.split(","))
        except ValueError:
            return text


@dataclass(frozen=True)
class Param:
    """One declared parameter: name, constraint, default and a one-line description."""

    name: str
    constraint: Constraint
    default: Any = REQUIRED
    doc: str = ""
    in_name: bool = False  # written into the metric name ("distinct-{n}") rather than after "?"

    def check(self, value: Any, func: str) -> Any:
        return check(value, self.name, func, self.constraint)


def check(value: Any, name: str, func: str, constraint: Constraint) -> Any:
    """Validate one value; raise :class:`InvalidParameterError` with the uniform message."""
    if not constraint.accepts(value):
        raise InvalidParameterError(
            f"The {name!r} parameter of {func} must be {constraint.describe()}. Got {value!r} instead.")
    return constraint.normalize(value)


@dataclass(frozen=True)
class ParamSet:
    """An ordered set of parameters with their documentation (a numpydoc section)."""

    params: tuple[Param, ...] = field(default_factory=tuple)

    def doc(self) -> str:
        return "\n".join(f"    {p.name} : {_type_text(p)}\n        {p.doc}" for p in self.params)


def _type_text(p: Param) -> str:
    c = p.constraint
    if isinstance(c, Choice):
        t = "{" + ", ".join(f'"{o}"' for o in c.options) + "}"
    elif isinstance(c, Optional):
        t = f"{_type_text(Param(p.name, c.inner))} or None"
        return t
    else:
        t = {Int: "int", Real: "float", Bool: "bool", Floats: "sequence of float"}.get(type(c), "object")
    if p.default is not REQUIRED:
        shown = f'"{p.default}"' if isinstance(p.default, str) else repr(p.default)
        t += f", default {shown}"
    return t


def describe_all(params: Sequence[Param]) -> str:
    return ParamSet(tuple(params)).doc()
