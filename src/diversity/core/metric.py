"""The metric protocol.

A metric is a small class that declares:

* ``name``: its spec name, with parameters that belong in the name in braces
  (``"distinct-{n}"``); :attr:`Metric.spec` adds the other parameters that
  differ from their defaults (``"vendi?q=2"``), and :func:`~diversity.core.registry.from_spec`
  reads any spec back (``Metric.from_spec(m.spec) == m``);
* ``params``: its parameters, declared once (:class:`~diversity.core.params.Param`);
* ``input``: what it is computed from: ``"texts"``, ``"vectors"`` (embeddings,
  or a kernel when ``accepts_kernel``), ``"values"`` (categories) or ``"logprobs"``;
* ``higher_is_more_diverse``, ``references`` (citation keys), ``undefined_reason``;
* its properties, which comparisons, reports and the docs read (a new metric
  needs no edit elsewhere): ``diversity`` (``is_diversity``: False for rates
  reported beside diversity, such as the refusal rate), ``length_sensitive``
  (its value moves with completion length; default True, the safe
  assumption), ``order_dependent`` (it reads completions in their order), and
  ``needs_embeddings`` (``input == "vectors"``); :meth:`length_note` states a
  per-result measure of its length sensitivity where it has one;
* :meth:`compute`: one value per group of a :class:`~diversity.core.corpus.Corpus`
  whose groups are complete, plus per-group extras for its details;
* :meth:`fields`: its own signature fields; :meth:`details`: its details from
  the extras of every group.

Statistics: a group's value is computed once all its completions are known;
until then the group's items are its sufficient statistics (a per-prompt
diversity is not a sum over completions in general: self-BLEU, clusters and
the Vendi score need the whole set). :class:`~diversity.core.state.State`
holds finished groups (value and extras) and unfinished ones (items), merges
associatively and commutatively, and computes results through the same
:meth:`compute` in memory, streaming and on a cluster.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np

from .corpus import Corpus
from .errors import InvalidParameterError
from .params import REQUIRED, Param

__all__ = ["Metric", "Computed"]


class Computed:
    """Per-group values of one metric on one corpus, with per-group extras
    (lists or arrays with one entry per group) for its details."""

    __slots__ = ("values", "extras")

    def __init__(self, values: np.ndarray, extras: dict[str, Any] | None = None) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        self.extras = extras or {}


class Metric:
    name: ClassVar[str]
    func: ClassVar[str] = ""  # the public function, for messages
    params: ClassVar[tuple[Param, ...]] = ()
    input: ClassVar[str] = "texts"
    uses_tokens: ClassVar[bool] = False
    accepts_kernel: ClassVar[bool] = False
    higher_is_more_diverse: ClassVar[bool] = True
    diversity: ClassVar[bool] = True  # False for rates reported beside diversity (refusal rate)
    length_sensitive: ClassVar[bool] = True  # the value moves with completion length (the safe default)
    order_dependent: ClassVar[bool] = False  # the value depends on the order completions are listed in
    references: ClassVar[tuple[str, ...]] = ()
    undefined_reason: ClassVar[str] = "the metric is undefined on this input"
    per_completion: ClassVar[bool] = False  # extras["per_completion"]: one value per completion
    blank_value: ClassVar[float] = float("nan")  # per-completion value of a completion without content
    blank_group_value: ClassVar[float] = float("nan")  # value of a group whose completions are all empty

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        func = self.func or type(self).__name__
        names = [p.name for p in self.params]
        if len(args) > len(names):
            raise InvalidParameterError(f"{func} takes at most {len(names)} positional parameters.")
        given = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                raise InvalidParameterError(f"{func} has no parameter {k!r}; its parameters: {', '.join(names)}.")
            if k in given:
                raise InvalidParameterError(f"{func} got parameter {k!r} twice.")
            given[k] = v
        for p in self.params:
            value = given.get(p.name, p.default)
            if value is REQUIRED:
                raise InvalidParameterError(f"{func} needs the parameter {p.name!r}.")
            setattr(self, p.name, p.check(value, func))
        self.validate()

    def validate(self) -> None:
        """Checks across parameters (after each was validated on its own)."""

    # ---- declared properties -----------------------------------------------------------------

    @property
    def is_diversity(self) -> bool:
        """A diversity metric (False for rates reported beside diversity: refusal or pass rates)."""
        return bool(self.diversity)

    @property
    def needs_embeddings(self) -> bool:
        """Computed from embeddings (or a kernel) of the completions."""
        return self.input == "vectors"

    @property
    def direction(self) -> str:
        """``"higher"`` or ``"lower"``: which values are more diverse."""
        return "higher" if self.higher_is_more_diverse else "lower"

    def length_note(self, result: Any) -> str | None:
        """A sentence measuring how much this result depends on length (e.g. the share of texts
        shorter than MATTR's window), or None when the metric has no such measure."""
        return None

    # ---- naming --------------------------------------------------------------------------------

    def param_values(self) -> dict[str, Any]:
        return {p.name: getattr(self, p.name) for p in self.params}

    @property
    def spec(self) -> str:
        """The canonical spec: the name with its in-name parameters, then the
        parameters that differ from their defaults, in declaration order."""
        values = self.param_values()
        name = re.sub(r"\{(\w+)\}", lambda m: self._format(m.group(1)), self.name)
        query = [f"{p.name}={self._format(p.name)}" for p in self.params
                 if not p.in_name and not _equal(values[p.name], p.default)]
        return name + ("?" + "&".join(query) if query else "")

    def _format(self, name: str) -> str:
        p = next(p for p in self.params if p.name == name)
        return p.constraint.format(getattr(self, name))

    @property
    def key(self) -> str:
        """The spec (the name results and ``score()`` use)."""
        return self.spec

    @classmethod
    def from_spec(cls, spec: str) -> "Metric":
        from .registry import from_spec

        metric = from_spec(spec)
        if not isinstance(metric, cls):
            raise InvalidParameterError(f"{spec!r} is a {type(metric).__name__}, not a {cls.__name__}.")
        return metric

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.spec == self.spec  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.spec))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"

    # ---- computation ---------------------------------------------------------------------------

    def compute(self, corpus: Corpus) -> Computed:
        """One value per group of ``corpus`` (every group complete; NaN where undefined)."""
        raise NotImplementedError

    def statistics(self) -> tuple[str, ...] | None:
        """The compact mergeable statistics this metric's value on a pooled set is a function of
        (see :mod:`diversity.core.statistics`: ``"ngrams-<n>"``, ``"distinct-texts-<normalize>"``,
        ``"unit-sum"``, ``"gram"``), or None when it needs the items themselves (the default).
        A pooled state keeps only these for such a metric, and :meth:`compute` then reads them
        through the same corpus views."""
        return None

    def fields(self, corpus: Corpus) -> list[tuple[str, Any]]:
        """The metric's own signature fields (before tokenizer, embedding and aggregation fields)."""
        return []

    def finalize(self, values: np.ndarray, extras: dict[str, list]) -> np.ndarray:
        """Per-prompt values once every group is known (e.g. relative to a corpus-level floor);
        ``extras`` holds every computed group's extras. Default: unchanged."""
        return values

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        """Details of the result from the extras of every group (in group order)."""
        return {}


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return a == float(b)
    return a == b
