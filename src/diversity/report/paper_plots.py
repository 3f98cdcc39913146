"""Figures for the three experiments of arXiv 2406.05587: persona attribute
histograms side by side, branching-factor profiles by position, and
attractor return curves (the embedding clouds with clusters marked are
:func:`diversity.report.plots.plot_embeddings` with ``clusters=``).

Same conventions as :mod:`diversity.report.plots`: a Figure is returned
(no pyplot state), constrained layout, Okabe–Ito colours per model.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .style import _WIDTH, MODEL_COLORS, _figure, _plain, _style

__all__ = ["plot_attribute_histograms", "plot_position_profiles", "plot_attractor_curves"]

NOT_PARSED = "(not parsed)"


def plot_attribute_histograms(values: Mapping[str, Mapping[str, Sequence[str | None]]], *,
                              fields: Sequence[str] | None = None, top: int = 6,
                              figsize: tuple[float, float] | None = None):
    """Side-by-side histograms of persona attributes, one panel per field.

    Parameters
    ----------
    values : mapping model label -> mapping field -> values
        One value per persona (``None``: not parsed, drawn as its own grey
        bar ``(not parsed)`` so that a model that cannot follow the format
        shows it).
    fields : sequence of str, optional
        The panels (default: every field of the first model).
    top : int
        The most frequent values shown per panel (over all models); the rest
        are summed into ``(other)``.

    Returns
    -------
    matplotlib.figure.Figure
        Bars are shares of each model's personas (so models with different
        numbers of personas compare).
    """
    labels = [str(m) for m in values]
    if not labels:
        raise ValueError("plot_attribute_histograms needs at least one model")
    fields = list(fields or next(iter(values.values())).keys())
    if not (isinstance(top, int) and top >= 1):
        raise ValueError(f"top must be an int >= 1, got {top!r}")
    n_panels = len(fields)
    cols = min(n_panels, 2)
    rows = math.ceil(n_panels / cols)
    with _style():
        fig = _figure(figsize or (2 * _WIDTH if cols > 1 else _WIDTH, 1.9 * rows + 0.5))
        axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
        for ax, f in zip(axes, fields):
            counts = {lab: Counter(NOT_PARSED if v is None else str(v) for v in values[lab][f]) for lab in labels}
            total = Counter()
            for c in counts.values():
                total.update({k: v for k, v in c.items() if k != NOT_PARSED})
            shown = [k for k, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
            other = any(k not in shown and k != NOT_PARSED for c in counts.values() for k in c)
            cats = shown + (["(other)"] if other else []) + \
                ([NOT_PARSED] if any(NOT_PARSED in c for c in counts.values()) else [])
            y = np.arange(len(cats))
            h = 0.8 / len(labels)
            for i, lab in enumerate(labels):
                c, n = counts[lab], max(sum(counts[lab].values()), 1)
                share = [(sum(v for k, v in c.items() if k not in shown and k != NOT_PARSED) if cat == "(other)"
                          else c.get(cat, 0)) / n for cat in cats]
                ax.barh(y + (i - (len(labels) - 1) / 2) * h, share, height=h,
                        color=MODEL_COLORS[i % len(MODEL_COLORS)], label=_plain(f"{lab} (n={n})"))
            for tick, cat in enumerate(cats):
                if cat in (NOT_PARSED, "(other)"):
                    ax.axhspan(tick - 0.45, tick + 0.45, color="#DDDDDD", alpha=0.5, lw=0, zorder=0)
            ax.set_yticks(y, [_plain(c if len(c) <= 22 else c[:21] + "…") for c in cats])
            ax.invert_yaxis()
            ax.set_xlim(0, 1)
            ax.set_xlabel("share of personas")
            ax.set_title(_plain(f))
        for ax in axes[n_panels:]:
            ax.set_visible(False)
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=min(len(labels), 4), frameon=False)
    return fig


def plot_position_profiles(results: Mapping[str, Any], *, min_prompts: int = 1,
                           figsize: tuple[float, float] | None = None):
    """Branching factor by position, one line per model: the per-position profile and, beside it, the
    cumulative curve (where the results have one).

    Parameters
    ----------
    results : mapping model label -> result of :func:`diversity.branching_factor`
        ``details["profile"][t]`` is the mean over prompts of
        :math:`\\exp(\\bar h_t)` at generated position t (left panel);
        ``details["cumulative"][t]`` the mean over prompts of
        :math:`\\exp(c_t)`, the branching factor of the first t positions
        (right panel, the authors' BF curve; its last point on a prompt is
        that prompt's BF); ``details["profile_prompts"][t]`` how many
        prompts reach t.
    min_prompts : int
        Positions reached by fewer prompts are not drawn (the tail rests on
        few prompts).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not results:
        raise ValueError("plot_position_profiles needs at least one model")
    cumulative = any(r.details.get("cumulative") for r in results.values())
    with _style():
        fig = _figure(figsize or ((2 * _WIDTH if cumulative else _WIDTH), 2.4))
        axes = np.atleast_1d(fig.subplots(1, 2 if cumulative else 1, sharey=cumulative))
        for i, (lab, r) in enumerate(results.items()):
            support = np.asarray(r.details.get("profile_prompts", [1] * len(r.details.get("profile", []))),
                                 dtype=float)
            color = MODEL_COLORS[i % len(MODEL_COLORS)]
            for ax, key in zip(axes, ("profile", "cumulative")):
                y = np.asarray(r.details.get(key, []), dtype=float)
                keep = support[:len(y)] >= min_prompts
                t = np.arange(1, len(y) + 1)[keep]
                ax.plot(t, y[keep], color=color, label=f"{lab} (BF {r.value:.2f})", marker="o", ms=1.8)
        axes[0].set_ylabel("branching factor")
        titles = ("per position: exp(mean entropy at t)", "cumulative: BF of positions 1..t")
        for ax, title in zip(axes, titles):
            ax.set_xlabel("generated position t")
            ax.set_ylim(bottom=1.0)
            ax.grid(alpha=0.3, lw=0.5)
            if cumulative:
                ax.set_title(title, fontsize=7)
        axes[0].legend(frameon=False, loc="best")
    return fig


def plot_attractor_curves(curves: Mapping[str, Mapping[str, Mapping[int | None, Any]]], *,
                          figsize: tuple[float, float] | None = None):
    """Attractor return curves: R after n tokens of the perturbed continuation, per perturbation kind.

    Parameters
    ----------
    curves : mapping model label -> mapping perturbation kind -> :func:`diversity.attractor_curve` output
        ``{n: AttractorResult}``; ``None`` (the whole continuation) is drawn
        at the right end, labelled ``all``.

    Returns
    -------
    matplotlib.figure.Figure
        One column per kind. Top: R(n) with its bootstrap interval (solid)
        and the model's chance rate R0(n) (dashed: its unperturbed
        completions' own leave-one-out return rate, each held-out one cut at
        n tokens). Bottom: the mean cosine similarity of a perturbed
        continuation to its nearest unperturbed completion (solid) and of an
        unperturbed completion cut at n tokens to its nearest other one
        (dashed, ``details["chance_similarity"]``).
    """
    labels = list(curves)
    if not labels:
        raise ValueError("plot_attractor_curves needs at least one model")
    kinds = list(dict.fromkeys(k for lab in labels for k in curves[lab]))
    with _style():
        fig = _figure(figsize or (min(2.3 * len(kinds), 2 * _WIDTH), 4.4))
        grid = np.atleast_2d(fig.subplots(2, len(kinds), squeeze=False, sharex="col"))
        for col, kind in enumerate(kinds):
            top, bottom = grid[0, col], grid[1, col]
            if col:
                bottom.sharey(grid[1, 0])  # similarities compare across kinds
            ticks: list[int | None] = []
            for lab in labels:
                ticks += [n for n in curves[lab].get(kind, {}) if n not in ticks]
            finite = sorted(n for n in ticks if n is not None)
            pos = {n: i for i, n in enumerate(finite)}
            if None in ticks:
                pos[None] = len(finite)
            for i, lab in enumerate(labels):
                curve = curves[lab].get(kind)
                if not curve:
                    continue
                color = MODEL_COLORS[i % len(MODEL_COLORS)]
                ns = sorted(curve, key=lambda n: pos[n])
                x = [pos[n] for n in ns]
                top.plot(x, [curve[n].value for n in ns], color=color, marker="o", ms=2.5, label=f"{lab}: perturbed")
                lo = [curve[n].ci.low if curve[n].ci else curve[n].value for n in ns]
                hi = [curve[n].ci.high if curve[n].ci else curve[n].value for n in ns]
                top.fill_between(x, lo, hi, color=color, alpha=0.15, lw=0)
                # the baselines are cut at the same n as the continuations: one value per n
                top.plot(x, [curve[n].chance_rate for n in ns], color=color, ls="--", lw=0.8,
                         label=f"{lab}: unperturbed (chance)")
                bottom.plot(x, [curve[n].nearest_similarity for n in ns], color=color, marker="o", ms=2.5)
                chance_sim = [curve[n].details.get("chance_similarity") for n in ns]
                if all(v is not None for v in chance_sim):
                    bottom.plot(x, chance_sim, color=color, ls="--", lw=0.8)
            bottom.set_xticks(list(pos.values()), ["all" if n is None else str(n) for n in pos])
            bottom.set_xlabel("tokens after the perturbation")
            top.set_ylim(-0.02, 1.02)
            top.set_title(kind)
            for ax in (top, bottom):
                ax.grid(alpha=0.3, lw=0.5)
        grid[0, 0].set_ylabel("return rate R")
        grid[1, 0].set_ylabel("nearest similarity")
        handles, names = grid[0, 0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=min(len(labels), 3), frameon=False)
    return fig
