"""The result of a comparison: one :class:`MetricComparison` per metric, with
both sides, the paired difference, its CI, the effect size and the
Holm-corrected p-value; a :class:`Comparison` holds them with the settings,
and renders tables (:mod:`.tables`), JSON that :meth:`Comparison.from_dict`
reads back, and citations."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any, Hashable, Mapping

from ..core.result import ConfidenceInterval, DiversityResult, jsonable
from .encoders import EncoderAgreement

__all__ = ["MetricComparison", "Comparison", "LengthMismatchWarning", "UnreachableSignificanceWarning",
           "EmbeddingTruncationWarning"]


class LengthMismatchWarning(UserWarning):
    """The two sides' completions differ much in length, which moves lexical metrics."""


class UnreachableSignificanceWarning(UserWarning):
    """With this many prompts and tests, no Holm-corrected p-value can fall below alpha."""


class EmbeddingTruncationWarning(UserWarning):
    """The embedding model reads only the start of a different share of each side's completions."""


@dataclass(frozen=True)
class MetricComparison:
    """One metric, both sides, and their paired difference over prompts."""

    metric: str
    higher_is_more_diverse: bool
    a: DiversityResult
    b: DiversityResult
    n_prompts: int
    diff: float
    diff_ci: ConfidenceInterval | None
    effect_size: float
    p_value: float
    p_holm: float
    test: str
    reason: str | None = None  # why the paired statistics are undefined (None when they are defined)
    length_sensitive: bool = False  # the metric moves with completion length (distinct-n, entropy, self-BLEU...)
    diversity: bool = True  # False for rates reported beside diversity (refusal rate, gate pass rate)

    def verdict(self, alpha: float = 0.05) -> str:
        """``"less diverse"``, ``"more diverse"`` (b relative to a), ``"no significant difference"``,
        or ``"undefined"`` (see :attr:`reason`)."""
        if self.reason is not None:
            return "undefined"
        if not (self.p_holm < alpha) or self.diff == 0 or math.isnan(self.diff):
            return "no significant difference"
        if not self.diversity:
            return "higher" if self.diff > 0 else "lower"
        more = (self.diff > 0) == self.higher_is_more_diverse
        return "more diverse" if more else "less diverse"

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "higher_is_more_diverse": self.higher_is_more_diverse,
            "a": self.a.to_dict(), "b": self.b.to_dict(), "n_prompts": self.n_prompts,
            "diff": jsonable(self.diff), "diff_ci": self.diff_ci.to_dict() if self.diff_ci else None,
            "effect_size_dz": jsonable(self.effect_size), "p_value": jsonable(self.p_value),
            "p_holm": jsonable(self.p_holm), "test": self.test, "verdict": self.verdict(),
            "reason": self.reason, "length_sensitive": self.length_sensitive, "diversity": self.diversity,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "MetricComparison":
        nan = math.nan
        return cls(metric=d["metric"], higher_is_more_diverse=d["higher_is_more_diverse"],
                   a=DiversityResult.from_dict(d["a"]), b=DiversityResult.from_dict(d["b"]),
                   n_prompts=d["n_prompts"], diff=_num(d["diff"]),
                   diff_ci=ConfidenceInterval.from_dict(d["diff_ci"]) if d.get("diff_ci") else None,
                   effect_size=_num(d["effect_size_dz"]), p_value=_num(d["p_value"]), p_holm=_num(d.get("p_holm", nan)),
                   test=d["test"], reason=d.get("reason"), length_sensitive=d.get("length_sensitive", False),
                   diversity=d.get("diversity", True))


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`~diversity.compare`: one :class:`MetricComparison` per metric.

    Attributes
    ----------
    labels : (str, str)
        The reference and the compared model; differences are ``b - a``.
    length_warning : bool
        Mean completion lengths differ by more than 1.5x after the length setting.
    length_matched : Comparison or None
        When the warning fired on a full-length comparison: the same comparison
        with ``length="match"``, shown beside it in tables and reports.
    cross_model : mapping or None
        Cross-model homogeneity (same-prompt similarity of the two models'
        completions, with its between-prompt floor) when embeddings were used.
    encoders : EncoderAgreement or None
        With two encoders (``embedder=[e1, e2]``): the second encoder's
        comparison (``encoders.second``) and, per semantic metric, the
        agreement of the two (:mod:`diversity.compare.encoders`).
    """

    labels: tuple[str, str]
    rows: tuple[MetricComparison, ...]
    prompts: tuple[Hashable, ...]
    missing: Mapping[str, tuple[Hashable, ...]]
    k: int
    mean_tokens: Mapping[str, float]
    signature: str
    alpha: float = 0.05
    settings: Mapping[str, Any] = field(default_factory=dict)
    length_warning: bool = False
    length_matched: "Comparison | None" = None
    cross_model: Mapping[str, Any] | None = None
    gated: "Comparison | None" = None
    gate_note: str | None = None
    encoders: "EncoderAgreement | None" = None

    def __getitem__(self, metric: str) -> MetricComparison:
        for r in self.rows:
            if r.metric == metric or r.a.metric == metric:
                return r
        raise KeyError(metric)

    @property
    def ci_level(self) -> float:
        return float(self.settings.get("ci_level", 0.95))

    @property
    def signatures(self) -> dict[str, str]:
        return {r.metric: r.a.signature for r in self.rows}

    def with_rows(self, rows: tuple[MetricComparison, ...], **changes: Any) -> "Comparison":
        return replace(self, rows=rows, **changes)

    def summary(self) -> str:
        """One sentence per metric, direction-aware (length-sensitive verdicts marked when lengths differ)."""
        a, b = self.labels
        lines = []
        level = f"{self.ci_level:.0%}"
        for r in self.rows:
            v = r.verdict(self.alpha)
            if v == "undefined":
                lines.append(f"{r.metric}: undefined ({r.reason}).")
                continue
            ci = f" ({level} CI {_fmt(r.diff_ci.low, 4)} to {_fmt(r.diff_ci.high, 4)})" if r.diff_ci else ""
            if v in ("higher", "lower"):
                what = f"{b} has a {v} {r.metric} than {a}"
            else:
                what = f"{b} is {v} than {a}" if v != "no significant difference" else \
                    f"no significant difference between {b} and {a}"
            mark = " (length-sensitive: the sides differ in length; see the length-matched comparison)" \
                if self.length_warning and r.length_sensitive else ""
            lines.append(f"{r.metric}: {what}; difference {b} - {a} = {r.diff:+.4g}{ci}, "
                         f"d_z = {_fmt(r.effect_size, 2)}, p {_eq(r.p_value)} (Holm {_eq(r.p_holm)}), "
                         f"over {r.n_prompts} prompts{mark}.")
        notes = self.settings.get("length_notes") or {}
        for metric, per_side in notes.items():
            lines.append(f"{metric}: " + "; ".join(f"{lab}: {note}" for lab, note in per_side.items()) + ".")
        lines += self.statements()
        if self.length_matched is not None:
            lines.append("Length-matched (len:match):")
            lines += ["  " + x for x in self.length_matched.summary().splitlines()]
        if self.gated is not None:
            lines.append(f"Gated ({self.gated.settings.get('gate')}):")
            lines += ["  " + x for x in self.gated.summary().splitlines()]
            lines.append(self.gate_note or "")
        if self.encoders is not None:
            lines += self.encoders.summary().splitlines()
        return "\n".join(lines)

    @property
    def k_text(self) -> str:
        """Completions per prompt per side as compared: ``5``, or ``3-5`` when prompts differ (equal on
        both sides within every prompt)."""
        return str(self.settings.get("k_text", self.k))

    def statements(self) -> list[str]:
        """What a reader must know to read the p-values: the Holm families, the smallest attainable
        p, where refusals were decided, and what the design set aside."""
        s = self.settings
        out = []
        fam = s.get("families")
        if fam:
            text = (f"Holm family: the {len(fam['diversity'])} diversity metrics"
                    + (f"; rates ({', '.join(fam['rates'])}) are corrected as their own family of "
                       f"{len(fam['rates'])}, beside it" if fam.get("rates") else "") + ".")
            out.append(text)
        if s.get("min_p_note"):
            out.append(f"No significance is attainable: {s['min_p_note']}.")
        elif s.get("min_p") is not None:
            out.append(f"Smallest attainable p with {s.get('min_p_prompts')} prompts: {s['min_p']:.3g} "
                       f"({s['min_p_holm']:.3g} after Holm over {s.get('holm_family')} "
                       f"test{'s' if s.get('holm_family') != 1 else ''}).")
        trunc = s.get("embedding_truncation")
        if trunc:
            out.append("Embeddings read the first " + str(s.get("embedding_maxlen", "?")) + " word pieces: "
                       + ", ".join(f"{lab} {v:.0%}" for lab, v in trunc.items()) + " of the completions are longer"
                       + (" and embedded by their beginning." if not s.get("embedding_long") else
                          f" and embedded whole ({s['embedding_long']})."))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels), "k": self.k, "alpha": self.alpha, "signature": str(self.signature),
            "prompts": jsonable(list(self.prompts)), "missing": jsonable(dict(self.missing)),
            "mean_tokens": jsonable(dict(self.mean_tokens)), "settings": jsonable(dict(self.settings)),
            "length_warning": self.length_warning,
            "length_matched": self.length_matched.to_dict() if self.length_matched is not None else None,
            "cross_model": jsonable(dict(self.cross_model)) if self.cross_model else None,
            "gated": self.gated.to_dict() if self.gated is not None else None, "gate_note": self.gate_note,
            "encoders": self.encoders.to_dict() if self.encoders is not None else None,
            "metrics": [r.to_dict() for r in self.rows],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Comparison":
        """Read back :meth:`to_dict` / ``comparison.json`` (prompt keys as JSON gives them)."""
        return cls(labels=tuple(d["labels"]), rows=tuple(MetricComparison.from_dict(r) for r in d["metrics"]),
                   prompts=tuple(d["prompts"]), missing={k: tuple(v) for k, v in d["missing"].items()}, k=d["k"],
                   mean_tokens={k: _num(v) for k, v in d["mean_tokens"].items()}, signature=d["signature"],
                   alpha=d["alpha"], settings=dict(d["settings"]), length_warning=d.get("length_warning", False),
                   length_matched=cls.from_dict(d["length_matched"]) if d.get("length_matched") else None,
                   cross_model=d.get("cross_model"),
                   gated=cls.from_dict(d["gated"]) if d.get("gated") else None, gate_note=d.get("gate_note"),
                   encoders=EncoderAgreement.from_dict(d["encoders"]) if d.get("encoders") else None)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def to_csv(self) -> str:
        from .tables import comparison_csv

        return comparison_csv(self)

    def to_frame(self):
        """A pandas DataFrame, one row per metric (needs pandas)."""
        from .tables import comparison_frame

        return comparison_frame(self)

    def per_prompt_frame(self):
        """One row per prompt x metric x model (needs pandas); ``per_prompt.csv`` of a report."""
        from .tables import per_prompt_frame

        return per_prompt_frame(self)

    def to_markdown(self) -> str:
        """Markdown table(s) with CIs, effect sizes, Holm p-values and footnotes (and the
        length-matched table beside the full-length one when the sides differ in length)."""
        from .tables import comparison_markdown

        return comparison_markdown(self)

    def to_latex(self, caption: str | None = None, label: str | None = None) -> str:
        """A booktabs table (needs ``\\usepackage{booktabs}``)."""
        from .tables import comparison_latex

        return comparison_latex(self, caption, label)

    def cite(self) -> str:
        """BibTeX for every metric compared (and for arXiv 2406.05587)."""
        from ..report.citations import bibtex_for

        return bibtex_for([r.metric for r in self.rows], extra=("mohammadi2024creativity",))

    def __repr__(self) -> str:
        return f"<Comparison {self.labels[1]} vs {self.labels[0]}: {len(self.rows)} metrics, " \
               f"{len(self.prompts)} prompts, k={self.k_text}>\n" + self.summary()


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def _eq(p: float) -> str:
    """``= 0.034`` or ``< 0.001``."""
    text = _fmt_p(p)
    return f"< {text[1:]}" if text.startswith("<") else f"= {text}"


def _fmt_p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
