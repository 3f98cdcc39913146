"""Gates: which completions count. A gate keeps the completions that pass a
test, before any metric sees them; its spec goes into every signature
(``gate:no-refusal``, ``gate:reward>=0.5``, ``gate:finish_reason=stop``).

* ``"no-refusal"``: drop completions the refusal detector labels a (full)
  refusal; partial refusals, which also answer, are kept with their answer.
  ``"no-refusal:strict"`` also drops partial refusals (``"no-refusal-or-partial"``,
  its 0.2 name, is read as an alias). The detector is the default ``rules-v2``;
  another is named in brackets and recorded there: ``"no-refusal[rules-v1]"``
  (0.2's detector), ``"no-refusal:strict[hf:<folder>]"``.
* ``"<field><op><number>"`` with op in ``>=, >, <=, <``: keep completions whose
  score passes; the scores come from ``quality=`` (a mapping prompt -> one
  score per completion, e.g. a ``reward`` column of the sample file), or from a
  callable ``text -> score`` given to :class:`Threshold`.
* ``"<field>=<text>"``: keep completions whose field equals the text (e.g.
  ``finish_reason=stop`` drops answers cut off by the token limit).

A prompt left with fewer completions than a metric needs is undefined for that
metric, with the reason; how many each prompt kept is in ``details``.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..core.errors import InvalidParameterError
from .refusal import DEFAULT_DETECTOR, classify_refusals, detector_from_spec, rules_detector

__all__ = ["Gate", "NoRefusal", "Threshold", "Equals", "parse_gate", "detector_from_spec"]

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


class Gate:
    spec: str
    needs: str | None = None  # the per-completion column it reads (None: only the text)

    def keep(self, texts: Sequence[str], column: Sequence[Any] | None) -> list[bool]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


@dataclass(frozen=True, repr=False)
class NoRefusal(Gate):
    """Drop full refusals (and partial refusals with ``strict=True``) as the detector labels them.

    Parameters
    ----------
    strict : bool, default False
        Also drop partial refusals (spec ``no-refusal:strict``).
    detector : str, detector object or None
        A built-in rule set by name (``"rules-v2"``, the default, or ``"rules-v1"``), a
        :class:`~diversity.quality.classifier.ClassifierDetector`, or None for the default. A
        detector other than the default is written into the spec in brackets.
    """

    strict: bool = False
    detector: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.strict, bool):
            raise InvalidParameterError(f"The 'strict' parameter of NoRefusal must be a bool. "
                                        f"Got {self.strict!r} instead.")
        if isinstance(self.detector, str):
            object.__setattr__(self, "detector", detector_from_spec(self.detector))

    @property
    def partial(self) -> bool:  # 0.2's name for ``strict``
        return self.strict

    @property
    def spec(self) -> str:  # type: ignore[override]
        det = self.detector or rules_detector()
        suffix = "" if det.spec == DEFAULT_DETECTOR else f"[{det.spec}]"
        return ("no-refusal:strict" if self.strict else "no-refusal") + suffix

    def keep(self, texts: Sequence[str], column: Sequence[Any] | None) -> list[bool]:
        drop = {"refusal", "partial"} if self.strict else {"refusal"}
        return [label not in drop for label in classify_refusals(texts, self.detector)]


@dataclass(frozen=True, repr=False)
class Threshold(Gate):
    """Keep completions whose score ``op`` ``value`` (scores from ``quality=`` or ``scorer``)."""

    name: str
    op: str
    value: float
    scorer: Callable[[str], float] | None = field(default=None, compare=False)

    @property
    def spec(self) -> str:  # type: ignore[override]
        return f"{self.name}{self.op}{self.value:g}"

    @property
    def needs(self) -> str | None:  # type: ignore[override]
        return None if self.scorer is not None else self.name

    def keep(self, texts: Sequence[str], column: Sequence[Any] | None) -> list[bool]:
        scores = [self.scorer(t) for t in texts] if self.scorer is not None else column
        if scores is None:
            raise InvalidParameterError(f"the gate {self.spec!r} needs a score per completion: pass quality= (one "
                                        f"{self.name!r} value per completion) or a Threshold with a scorer.")
        out = []
        for i, s in enumerate(scores):
            if isinstance(s, str):  # a CSV/TSV cell: the number as text ("0.5"); anything else stays an error
                try:
                    s = float(s)
                except ValueError:
                    pass
            if s is None or isinstance(s, bool) or not isinstance(s, (int, float)) or math.isnan(float(s)):
                raise ValueError(f"the gate {self.spec!r} got a missing or non-numeric score {s!r} for completion "
                                 f"{i}; give every completion a number.")
            out.append(bool(_OPS[self.op](float(s), self.value)))
        return out


@dataclass(frozen=True, repr=False)
class Equals(Gate):
    """Keep completions whose field equals ``value`` (e.g. ``finish_reason=stop``)."""

    name: str
    value: str

    @property
    def spec(self) -> str:  # type: ignore[override]
        return f"{self.name}={self.value}"

    @property
    def needs(self) -> str | None:  # type: ignore[override]
        return self.name

    def keep(self, texts: Sequence[str], column: Sequence[Any] | None) -> list[bool]:
        if column is None:
            raise InvalidParameterError(f"the gate {self.spec!r} needs the field {self.name!r} of every completion: "
                                        "pass quality= with it.")
        return [str(v) == self.value for v in column]


def parse_gate(gate: str | Gate | None) -> Gate | None:
    """A gate from its spec (see the module docstring), or the object itself."""
    if gate is None or isinstance(gate, Gate):
        return gate
    if not isinstance(gate, str):
        raise InvalidParameterError(f"a gate must be a spec string or a Gate, got {type(gate).__name__}.")
    m = re.fullmatch(r"no-refusal(-or-partial|:strict)?(?:\[(.+)\])?", gate.strip())
    if m:
        return NoRefusal(strict=m.group(1) is not None, detector=m.group(2))
    m = re.fullmatch(r"(\w+)\s*(>=|>|<=|<)\s*(-?[\d.]+(?:e-?\d+)?)", gate.strip())
    if m:
        return Threshold(m.group(1), m.group(2), float(m.group(3)))
    m = re.fullmatch(r"(\w+)\s*==?\s*(\S+)", gate.strip())
    if m:
        return Equals(m.group(1), m.group(2))
    raise InvalidParameterError(f"Unknown gate {gate!r}: use 'no-refusal', 'no-refusal:strict' (optionally with a "
                                "detector: 'no-refusal[rules-v1]'), "
                                "'<field>>=<number>' (e.g. 'reward>=0.5') or '<field>=<text>' (e.g. 'finish_reason=stop').")
