"""Figures for papers: a forest plot of paired comparisons, per-prompt paired
values of one metric, and embedding clouds of two (or more) models.

matplotlib is imported only here, when a figure is made (extra ``plot``).
Every function returns a :class:`matplotlib.figure.Figure` (no pyplot state,
constrained layout, nothing clipped); write it with :func:`save_figure`
(PNG, PDF or SVG by suffix). Sizes default to a paper column (3.4 in wide)
with 8-pt text; colours are the Okabe–Ito colour-blind-safe palette.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..compare.result import Comparison, MetricComparison
from .embedding_plots import plot_embeddings
from .style import _WIDTH, MODEL_COLORS, VERDICT_COLORS, _figure, _plain, _shorten, _style, save_figure

__all__ = ["MODEL_COLORS", "VERDICT_COLORS", "plot_embeddings", "plot_forest", "plot_per_prompt", "save_figure"]


def _arrow(higher_is_more_diverse: bool) -> str:
    return "↑" if higher_is_more_diverse else "↓"


def _fmt_p(p: float) -> str:
    if p is None or math.isnan(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


# ---- forest plot ---------------------------------------------------------------------------------------------------

def _groups(obj: Any) -> tuple[str, list[tuple[str, Comparison]], float]:
    """(reference label, [(model label, Comparison)], alpha) of a Comparison, a MultiComparison-like
    object (``reference``, ``items()``, ``alpha``) or the ``label -> Comparison`` dict of compare_many."""
    if isinstance(obj, Comparison):
        return obj.labels[0], [(obj.labels[1], obj)], obj.alpha
    if not hasattr(obj, "items"):
        raise TypeError(f"plot_forest needs a Comparison or a MultiComparison (from compare_many); "
                        f"got {type(obj).__name__}.")
    # models are named by their comparison's labels (a MultiComparison over all pairs has (a, b) keys)
    pairs = [(c.labels[1] if isinstance(c, Comparison) else str(lab), c) for lab, c in obj.items()]
    if not pairs:
        raise ValueError("the comparison has no models.")
    for lab, c in pairs:
        if not isinstance(c, Comparison):
            raise TypeError(f"plot_forest: {lab!r} maps to {type(c).__name__}, not a Comparison.")
    refs = {c.labels[0] for _, c in pairs}
    reference = getattr(obj, "reference", None)
    if reference is None:
        if len(refs) != 1:
            raise ValueError(f"the comparisons do not share one reference: {sorted(refs)}.")
        reference = refs.pop()
    alpha = getattr(obj, "alpha", None)
    if alpha is None:
        alphas = {c.alpha for _, c in pairs}
        if len(alphas) != 1:
            raise ValueError(f"the comparisons use different alpha levels: {sorted(alphas)}.")
        alpha = alphas.pop()
    return str(reference), pairs, float(alpha)


def _sd_of_differences(r: MetricComparison) -> float:
    """Standard deviation (ddof=1) of the per-prompt differences b − a that d_z divides by."""
    pos_b = {g: i for i, g in enumerate(r.b.groups or ())}
    d = np.array([r.b.per_group[pos_b[g]] - r.a.per_group[i] for i, g in enumerate(r.a.groups or ())
                  if g in pos_b], dtype=float)
    d = d[~np.isnan(d)]
    return float(d.std(ddof=1)) if len(d) >= 2 else math.nan


def _forest_point(r: MetricComparison, scale: str) -> tuple[float, float, float, str | None]:
    """(x, CI low, CI high, note): note is text shown instead of a marker (then x is NaN)."""
    if r.reason is not None:
        return math.nan, math.nan, math.nan, "undefined"
    lo, hi = (r.diff_ci.low, r.diff_ci.high) if r.diff_ci is not None else (math.nan, math.nan)
    if scale == "diff":
        return r.diff, lo, hi, None
    sd = _sd_of_differences(r)
    if not (sd > 0):
        if r.diff == 0:
            return 0.0, 0.0, 0.0, None
        return math.nan, math.nan, math.nan, f"$d_z$ undefined: constant difference {r.diff:+.3g}"
    x = r.effect_size if math.isfinite(r.effect_size) else r.diff / sd
    return x, lo / sd, hi / sd, None


def _ci_phrase(rows: Iterable[MetricComparison]) -> str:
    for r in rows:
        if r.diff_ci is not None:
            level, method = r.diff_ci.level, r.diff_ci.method
            if method.startswith("bootstrap-prompts-"):
                return f"{level:.0%} {method[len('bootstrap-prompts-'):]} bootstrap CI over prompts"
            return f"{level:.0%} CI ({method})"
    return "CI"


def plot_forest(comparison: Any, *, scale: str = "dz", figsize: tuple[float, float] | None = None):
    """Forest plot of paired comparisons: one row per metric, one row group per model.

    Convention (the table's own scale and signs, nothing flipped):

    * **x** is the paired difference *b − a* (model − reference) with the
      sign of the table's ``b − a`` and ``d_z`` columns. With
      ``scale="dz"`` (default) it is Cohen's d_z, the mean of the
      per-prompt differences divided by their standard deviation, so that
      metrics in different units share one axis; with ``scale="diff"`` it is
      the raw difference in each metric's units.
    * **Direction** is in each row's label: ``distinct-2 ↑`` (higher is more
      diverse), ``self-bleu ↓`` (lower is more diverse). A positive x on a
      ↓ metric therefore means *b is less diverse*.
    * **Colour** is the verdict (``MetricComparison.verdict(alpha)``): blue
      *more diverse*, vermillion *less diverse*, grey *no significant
      difference*; so the reading never needs a mental sign flip.
    * **Fill**: filled marker when the Holm-corrected p < alpha, open otherwise.
    * **Bars**: the CI of the difference (the kind and level stated on the x
      axis, e.g. "95% percentile bootstrap CI over prompts"), divided by the
      same standard deviation as the point when ``scale="dz"``.
    * Rows whose paired statistics are undefined are kept and say
      "undefined" (a d_z with zero spread says so too).

    Parameters
    ----------
    comparison : Comparison or MultiComparison
        The result of :func:`diversity.compare`, or of
        :func:`diversity.compare_many` (anything with ``items()`` giving
        ``(label, Comparison)`` against one reference): one panel per model,
        sharing the x axis.
    scale : {"dz", "diff"}, default "dz"
    figsize : (float, float), optional
        Default: 3.4 in wide, the height computed from the number of rows.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if scale not in ("dz", "diff"):
        raise ValueError(f"The 'scale' parameter of plot_forest must be 'dz' or 'diff'. Got {scale!r} instead.")
    reference, pairs, alpha = _groups(comparison)
    for lab, c in pairs:
        if not c.rows:
            raise ValueError(f"the comparison of {lab!r} has no metrics.")
    from ..core.errors import require

    Line2D = require("matplotlib.lines", "plot", "plot_forest").Line2D
    from matplotlib.transforms import blended_transform_factory

    multi = not isinstance(comparison, Comparison)
    n_rows = [len(c.rows) for _, c in pairs]
    title_h = 0.22
    height = sum(0.24 * n + 0.2 + title_h for n in n_rows) + 1.05
    points = [[_forest_point(r, scale) for r in c.rows] for _, c in pairs]  # labels repeat with pairs='all'
    finite = [v for pts in points for p in pts for v in p[:3] if v is not None and math.isfinite(v)]
    lo, hi = (min(finite + [0.0]), max(finite + [0.0])) if finite else (-1.0, 1.0)
    pad = 0.08 * (hi - lo) if hi > lo else 1.0
    seen_verdicts, seen_fill = set(), set()
    with _style():
        fig = _figure(figsize or (_WIDTH, height))
        axes = fig.subplots(len(pairs), 1, sharex=True, squeeze=False,
                            gridspec_kw={"height_ratios": [n + 0.8 for n in n_rows]})[:, 0]
        for ax, (lab, c), pts in zip(axes, pairs, points):
            text_tr = blended_transform_factory(ax.transAxes, ax.transData)
            for i, (r, (x, clo, chi, note)) in enumerate(zip(c.rows, pts)):
                y = len(c.rows) - 1 - i
                verdict = r.verdict(alpha)
                color = VERDICT_COLORS.get(verdict, VERDICT_COLORS["no significant difference"])
                seen_verdicts.add(verdict)
                if note is not None:
                    ax.text(0.5, y, note, transform=text_tr, ha="center", va="center", style="italic",
                            color=color, fontsize=7)
                    continue
                if math.isfinite(clo) and math.isfinite(chi):
                    ax.plot([clo, chi], [y, y], color=color, lw=1.3, solid_capstyle="butt", zorder=2)
                filled = bool(r.p_holm < alpha)
                seen_fill.add(filled)
                ax.plot([x], [y], marker="o", ms=5.5, color=color, mec=color, mew=1.2,
                        mfc=color if filled else "white", zorder=3, gid=f"forest:{c.labels[0]}:{lab}:{r.metric}")
            ax.axvline(0, color="0.55", lw=0.7, ls=(0, (3, 2)), zorder=1)
            ax.set_yticks(range(len(c.rows)))
            ax.set_yticklabels([f"{r.metric} {_arrow(r.higher_is_more_diverse)}" for r in reversed(c.rows)])
            ax.set_ylim(-0.6, len(c.rows) - 0.4)
            ax.tick_params(axis="y", length=0)
            ax.spines[["top", "right"]].set_visible(False)
            ax.set_title(f"{lab} vs {c.labels[0]} · {len(c.prompts)} prompts", loc="left")
        axes[-1].set_xlim(lo - pad, hi + pad)
        refs = {c.labels[0] for _, c in pairs}
        who = (f"{pairs[0][0]} − {reference}" if not multi else f"model − {reference}" if len(refs) == 1
               else "b − a of each panel")
        if scale == "dz":
            xlabel = [f"paired effect $d_z$ of {who}", "(mean / sd of the per-prompt differences)"]
        else:
            xlabel = [f"difference {who}", "(mean per-prompt difference, metric units)"]
        axes[-1].set_xlabel("\n".join(textwrap.fill(t, 42) for t in xlabel))
        ci = _ci_phrase(r for _, c in pairs for r in c.rows)
        caption = [f"bars: {ci}" + (", same sd" if scale == "dz" else ""),
                   "↑/↓ after a metric: higher/lower is more diverse"]
        handles = []
        more, less = ((f"more diverse than {reference}", f"less diverse than {reference}") if multi and len(refs) == 1
                      else ("b more diverse than a", "b less diverse than a") if multi
                      else (f"{pairs[0][0]} more diverse", f"{pairs[0][0]} less diverse"))
        names = {"more diverse": more, "less diverse": less,
                 "no significant difference": "no significant difference", "undefined": "undefined"}
        for v, color in VERDICT_COLORS.items():
            if v in seen_verdicts:
                handles.append(Line2D([], [], ls="none", marker="s", ms=6, color=color, label=names[v]))
        a_txt = f"{alpha:g}"
        if True in seen_fill:
            handles.append(Line2D([], [], ls="none", marker="o", ms=5.5, color="black", mfc="black",
                                  label=f"Holm p < {a_txt}"))
        if False in seen_fill:
            handles.append(Line2D([], [], ls="none", marker="o", ms=5.5, color="black", mfc="white",
                                  label=f"Holm p ≥ {a_txt}"))
        fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False, handletextpad=0.3,
                   columnspacing=1.0, title="\n".join(textwrap.fill(t, 60) for t in caption))
    return fig


# ---- per-prompt plot -----------------------------------------------------------------------------------------------

def plot_per_prompt(comparison: Comparison, metric: str, *, seed: int = 0, jitter: float = 0.06,
                    figsize: tuple[float, float] | None = None):
    """Per-prompt values of one metric on both sides, paired by prompt.

    Each prompt is a dot per side (jittered sideways by ``±jitter``, seeded
    by ``seed``) and a line joining its two dots exactly; a box plot of each
    side stands beside its dots. The title gives the metric and its
    direction, the number of paired prompts and the Holm-corrected p-value
    (or "undefined").

    Parameters
    ----------
    comparison : Comparison
    metric : str
        Any metric of the comparison (its spec, e.g. ``"vendi?q=2"``).
    seed : int, default 0
        Seed of the horizontal jitter (the values are not changed).
    jitter : float, default 0.06
        Half-width of the jitter, in units of the distance between sides.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(comparison, Comparison):
        raise TypeError(f"plot_per_prompt needs one Comparison (for several models, pass multi[label]); "
                        f"got {type(comparison).__name__}.")
    try:
        r = comparison[metric]
    except KeyError:
        raise ValueError(f"metric {metric!r} is not in the comparison; it has "
                         f"{', '.join(repr(x.metric) for x in comparison.rows)}.") from None
    if not (isinstance(jitter, (int, float)) and 0 <= jitter < 0.5):
        raise ValueError(f"The 'jitter' parameter of plot_per_prompt must be a float in the range [0, 0.5). "
                         f"Got {jitter!r} instead.")
    if r.a.per_group is None or r.b.per_group is None:
        raise ValueError(f"{r.metric}: a per-prompt plot needs per-prompt results.")
    la, lb = comparison.labels
    pos_b = {g: i for i, g in enumerate(r.b.groups)}
    keys = [g for g in r.a.groups if g in pos_b]
    va = np.array([r.a.per_group[i] for i, g in enumerate(r.a.groups) if g in pos_b], dtype=float)
    vb = np.array([r.b.per_group[pos_b[g]] for g in keys], dtype=float)
    rng = np.random.default_rng(seed)
    xa = rng.uniform(-jitter, jitter, len(keys))
    xb = 1 + rng.uniform(-jitter, jitter, len(keys))
    both = ~(np.isnan(va) | np.isnan(vb))
    with _style():
        fig = _figure(figsize or (2.6, 2.7))
        ax = fig.subplots()
        for i in np.flatnonzero(both):
            ax.plot([xa[i], xb[i]], [va[i], vb[i]], color="0.6", lw=0.6, alpha=0.8, zorder=1,
                    solid_capstyle="butt", gid="pair")
        for side, (x, v) in enumerate(((xa, va), (xb, vb))):
            ok = ~np.isnan(v)
            color = MODEL_COLORS[side]
            ax.scatter(x[ok], v[ok], s=14, color=color, zorder=3, edgecolors="white", linewidths=0.4,
                       gid=f"dots:{side}")
            if ok.any():
                ax.boxplot([v[ok]], positions=[-0.3 if side == 0 else 1.3], widths=0.16, showfliers=False,
                           patch_artist=True, boxprops={"facecolor": "white", "edgecolor": color, "lw": 0.9},
                           medianprops={"color": color, "lw": 1.4}, whiskerprops={"color": color, "lw": 0.9},
                           capprops={"color": color, "lw": 0.9}, manage_ticks=False)
        ax.set_xticks([0, 1])
        ax.set_xticklabels([la, lb])
        ax.set_xlim(-0.5, 1.5)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_ylabel(f"{r.metric} per prompt")
        p = "undefined" if r.reason is not None else f"Holm p {_fmt_p(r.p_holm)}"
        ax.set_title(f"{r.metric} ({_arrow(r.higher_is_more_diverse)} more diverse)\n"
                     f"n = {r.n_prompts} prompts · {p}")
    return fig
