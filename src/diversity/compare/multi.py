"""Many models at once: :class:`MultiComparison`, a mapping from each model (or
pair of models) to its :class:`~diversity.compare.result.Comparison`, with one
Holm correction over every test and a combined table (metrics x models)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..core.result import jsonable
from .result import Comparison
from .tables import stars

__all__ = ["MultiComparison"]


@dataclass(frozen=True)
class MultiComparison(Mapping):
    """The result of :func:`~diversity.compare_many`.

    ``multi[label]`` is that model's comparison with the reference (``multi[(a, b)]``
    for every pair with ``pairs="all"``); p-values are Holm-corrected over every
    test of every comparison (``holm_family`` tests).
    """

    reference: str
    comparisons: Mapping[Any, Comparison]
    pairs: str = "reference"
    alpha: float = 0.05
    holm_family: int = 0
    mean_tokens: Mapping[str, float] = field(default_factory=dict)

    def __getitem__(self, key: Any) -> Comparison:
        return self.comparisons[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.comparisons)

    def __len__(self) -> int:
        return len(self.comparisons)

    @property
    def metrics(self) -> list[str]:
        first = next(iter(self.comparisons.values()))
        return [r.metric for r in first.rows]

    def summary(self) -> str:
        return "\n\n".join(f"{c.labels[1]} vs {c.labels[0]}:\n{c.summary()}" for c in self.comparisons.values())

    def to_markdown(self) -> str:
        """One table, metrics x models: each model's value and its difference from the
        reference with Holm-corrected significance marks (over every test); with a gate, the same
        table for the completions that pass."""
        comps = list(self.comparisons.values())
        lines = self._table(comps)
        first = comps[0]
        if first.gated is not None:
            lines += ["", f"Completions that pass the gate `{first.gated.settings.get('gate')}`", ""]
            lines += self._table([c.gated for c in comps])
        for c in comps:
            if c.encoders is not None:
                lines += ["", f"Encoder agreement, {c.labels[1]} vs {c.labels[0]}", ""] + c.encoders.markdown(c)
        return "\n".join(lines)

    def _table(self, comps: list[Comparison]) -> list[str]:
        first = comps[0]
        level = f"{first.ci_level:.0%}"
        if self.pairs == "reference":
            models = [self.reference] + [c.labels[1] for c in comps]
            head = ["metric", ""] + [f"{self.reference}"] + [f"{c.labels[1]} (Δ vs {self.reference})" for c in comps]
        else:
            models = []
            head = ["metric", ""] + [f"{c.labels[1]} − {c.labels[0]}" for c in comps]
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|"]
        for i, r0 in enumerate(first.rows):
            cells = [r0.metric, "↑" if r0.higher_is_more_diverse else "↓"]
            if self.pairs == "reference":
                cells.append(_fmt(r0.a.value))
            for c in comps:
                r = c.rows[i]
                diff = "undefined" if r.reason else f"{r.diff:+.3f}{stars(r.p_holm)}"
                cells.append(diff if self.pairs != "reference" else f"{_fmt(r.b.value)} ({diff})")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        fam = first.settings.get("families") or {}
        rates = f" (rates: {', '.join(fam['rates'])}, corrected as their own family)" if fam.get("rates") else ""
        lines.append(f"↑/↓: higher/lower is more diverse. {len(first.prompts)} prompts shared by every model, k = "
                     f"{first.k_text} completions per prompt per model (equal within each prompt), length: "
                     f"{first.settings.get('length', 'full')}. Δ: paired difference over prompts ({level} bootstrap "
                     f"CIs in the per-model tables); p: {first.settings.get('test')} test, Holm-corrected over all "
                     f"{first.settings.get('holm_family', self.holm_family)} tests (the diversity metrics of every "
                     f"comparison){rates}; * p<0.05, ** p<0.01, *** p<0.001.")
        lines += [x for x in first.statements() if not x.startswith(("Holm family", "Embeddings"))]
        if self.mean_tokens:
            lines.append("Mean tokens per completion: " + ", ".join(f"{m} {v:.1f}" for m, v in self.mean_tokens.items()
                                                                     if not models or m in models) + ".")
        return lines

    def to_frame(self):
        """Long format (needs pandas): one row per comparison x metric."""
        from ..core.errors import require

        pd = require("pandas", "pandas", "MultiComparison.to_pandas()")

        frames = []
        for key, c in self.comparisons.items():
            f = c.to_frame().reset_index()
            f.insert(0, "model", c.labels[1])
            f.insert(1, "reference", c.labels[0])
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "pairs": self.pairs, "alpha": self.alpha,
                "holm_family": self.holm_family, "mean_tokens": jsonable(dict(self.mean_tokens)),
                "comparisons": [c.to_dict() for c in self.comparisons.values()]}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def cite(self) -> str:
        return next(iter(self.comparisons.values())).cite()

    def __repr__(self) -> str:
        return f"<MultiComparison: {len(self)} comparisons, reference {self.reference!r}>\n" + self.to_markdown()


def _fmt(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"
