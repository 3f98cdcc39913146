"""Figures for papers: embedding clouds of two (or more) models, a forest plot
of paired differences, and per-prompt paired values.

matplotlib is imported only here, when a figure is made (extra ``plot``).
Every function returns a :class:`matplotlib.figure.Figure` (no pyplot state);
save it with ``fig.savefig("out.pdf")`` or ``.png``. Sizes default to a
paper column (3.4 in wide) with 8-pt text.
"""

from __future__ import annotations

import math
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from ..compare.result import Comparison

__all__ = ["plot_embeddings", "plot_forest", "plot_per_prompt"]

_COLORS = ["#1b6ca8", "#d1495b", "#66a182", "#edae49", "#8d6a9f", "#2e4057"]
_RC = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7,
       "ytick.labelsize": 7}


def _figure(figsize):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover
        raise ImportError("Plots need matplotlib: pip install 'llm-diversity[plot]'") from e
    return Figure(figsize=figsize, layout="constrained")


def _style():
    import matplotlib

    return matplotlib.rc_context(_RC)


def _project(x: np.ndarray, method: str, seed: int) -> np.ndarray:
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}.")


def _grouped(samples: Any) -> dict[Hashable, list]:
    if isinstance(samples, Mapping):
        return {k: list(v) for k, v in samples.items()}
    if isinstance(samples, np.ndarray) and samples.ndim == 2:
        return {None: list(samples)}
    items = list(samples)
    if items and isinstance(items[0], str):
        return {None: items}
    return {i: list(v) for i, v in enumerate(items)}


def plot_embeddings(models: Mapping[str, Any], *, embeddings: Mapping[str, Any] | None = None, embedder: Any = None,
                    method: str = "pca", per_prompt: bool = False, prompts: Sequence[Hashable] | None = None,
                    max_panels: int = 6, seed: int = 0, figsize: tuple[float, float] | None = None):
    """2-D projection of the models' completion embeddings, coloured by model.

    Parameters
    ----------
    models : mapping label -> samples
        E.g. ``{"base": a, "aligned": b}`` with each side grouped by prompt
        (or a plain list of texts). Texts are embedded once with
        ``embedder`` (default all-MiniLM-L6-v2, cached).
    embeddings : mapping label -> arrays, optional
        Precomputed embeddings with the same structure instead of texts.
    method : {"pca", "tsne"}
        Projection fitted on all models together (per prompt with
        ``per_prompt=True``), seeded by ``seed``.
    per_prompt : bool
        One panel per prompt (the first ``max_panels`` common prompts, or
        ``prompts``) instead of one cloud of everything.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if method not in ("pca", "tsne"):
        raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}.")
    labels = list(models if embeddings is None else embeddings)
    if len(labels) < 1:
        raise ValueError("plot_embeddings needs at least one model.")
    if embeddings is None:
        if embedder is None:
            from ..embed import SentenceTransformerEmbedder

            embedder = SentenceTransformerEmbedder()
        grouped = {lab: _grouped(models[lab]) for lab in labels}
        vecs = {lab: {p: np.asarray(embedder.encode(ts), dtype=np.float64) for p, ts in g.items()}
                for lab, g in grouped.items()}
    else:
        vecs = {lab: {p: np.asarray(v, dtype=np.float64) for p, v in _grouped(embeddings[lab]).items()}
                for lab in labels}
    for lab in labels:
        for p, v in vecs[lab].items():
            if not np.isfinite(v).all():
                raise ValueError(f"embeddings of {lab!r}, prompt {p!r} contain NaN or infinity.")
    if per_prompt:
        common = [p for p in vecs[labels[0]] if all(p in vecs[lab] for lab in labels)]
        panels = list(prompts) if prompts is not None else common[:max_panels]
        if not panels:
            raise ValueError("no prompt is common to all models.")
    else:
        panels = [None]
    n = len(panels)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    with _style():
        fig = _figure(figsize or (3.4 if cols == 1 else 2.3 * cols, 2.6 if rows == 1 else 2.1 * rows))
        axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
        for ax, panel in zip(axes, panels):
            parts = [(lab, np.vstack(list(vecs[lab].values())) if panel is None else vecs[lab][panel]) for lab in labels]
            xy = _project(np.vstack([v for _, v in parts]), method, seed)
            start = 0
            for i, (lab, v) in enumerate(parts):
                pts = xy[start:start + len(v)]
                start += len(v)
                ax.scatter(pts[:, 0], pts[:, 1], s=9, alpha=0.7, color=_COLORS[i % len(_COLORS)], label=lab,
                           edgecolors="none")
            name = "PC" if method == "pca" else "t-SNE "
            ax.set_xlabel(f"{name}1")
            ax.set_ylabel(f"{name}2")
            if panel is not None:
                title = str(panel)
                ax.set_title(title if len(title) <= 30 else title[:28] + "…")
        for ax in axes[n:]:
            ax.set_visible(False)
        axes[0].legend(frameon=False, loc="best")
    return fig


def plot_forest(comparison: Comparison, *, figsize: tuple[float, float] | None = None):
    """Forest plot of the paired differences, one row per metric, on a common scale.

    Each row is the mean paired difference (b − a) over prompts divided by
    the standard deviation of the per-prompt differences (Cohen's d_z), with
    the bootstrap CI of the difference on the same scale, and signed so that
    negative always means *b is less diverse* (metrics where lower is more
    diverse are flipped). Filled markers: Holm-corrected p < alpha.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = comparison.rows
    if not rows:
        raise ValueError("the comparison has no metrics.")
    la, lb = comparison.labels
    with _style():
        fig = _figure(figsize or (3.4, 0.3 * len(rows) + 1.0))
        ax = fig.subplots()
        for i, r in enumerate(rows):
            y = len(rows) - 1 - i
            sign = 1.0 if r.higher_is_more_diverse else -1.0
            scale = r.diff / r.effect_size if r.effect_size and np.isfinite(r.effect_size) else float("nan")
            mid = sign * r.effect_size if np.isfinite(r.effect_size) else 0.0
            if r.diff_ci is not None and np.isfinite(scale) and scale != 0:
                lo, hi = sorted((sign * r.diff_ci.low / scale, sign * r.diff_ci.high / scale))
                ax.plot([lo, hi], [y, y], color="0.3", lw=1.2)
            sig = r.p_holm < comparison.alpha
            color = _COLORS[1] if mid < 0 else _COLORS[0]
            ax.plot([mid], [y], marker="o", ms=5, color=color, markerfacecolor=color if sig else "white")
        ax.axvline(0, color="0.6", lw=0.8, ls="--")
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([r.metric for r in reversed(rows)])
        ax.set_xlabel(f"paired effect $d_z$, {lb} − {la}\n← less diverse · more diverse →")
        ax.set_ylim(-0.6, len(rows) - 0.4)
    return fig


def plot_per_prompt(comparison: Comparison, metric: str, *, figsize: tuple[float, float] | None = None):
    """Per-prompt values of one metric on both sides, paired by prompt (one line per prompt).

    Returns
    -------
    matplotlib.figure.Figure
    """
    r = comparison[metric]
    la, lb = comparison.labels
    va, vb = np.array(r.a.per_group), np.array(r.b.per_group)
    with _style():
        fig = _figure(figsize or (2.6, 2.6))
        ax = fig.subplots()
        for x0, x1 in zip(va, vb):
            ax.plot([0, 1], [x0, x1], color="0.75", lw=0.7, zorder=1)
        rng = np.random.default_rng(0)
        for i, v in enumerate((va, vb)):
            ax.scatter(i + rng.uniform(-0.04, 0.04, len(v)), v, s=12, color=_COLORS[i], zorder=2, edgecolors="none")
            ax.boxplot([v[~np.isnan(v)]], positions=[i], widths=0.35, showfliers=False,
                       medianprops={"color": "black"}, boxprops={"color": "0.3"}, whiskerprops={"color": "0.3"},
                       capprops={"color": "0.3"})
        ax.set_xticks([0, 1])
        ax.set_xticklabels([la, lb])
        arrow = "↑" if r.higher_is_more_diverse else "↓"
        ax.set_ylabel(f"{r.metric} per prompt ({arrow} more diverse)")
        ax.set_xlim(-0.5, 1.5)
    return fig
