"""Embedding clouds of several models: a 2-D projection (PCA or t-SNE) of the
completions' embeddings, per prompt, titled with the prompt's text and each
model's mean pairwise distance."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from .style import _WIDTH, MODEL_COLORS, _figure, _plain, _shorten, _style

__all__ = ["plot_embeddings"]


def _project(x: np.ndarray, method: str, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """2-D coordinates and, for PCA, the explained variance ratios."""
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed)
        return pca.fit_transform(x), pca.explained_variance_ratio_
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x), None


def _padded_hull(members: np.ndarray, radius: float) -> np.ndarray:
    """The outline of a cluster's points: the convex hull of a circle of ``radius`` around each point (a
    capsule around two points, a rounded hull around three or more, also when they are collinear)."""
    from scipy.spatial import ConvexHull

    angles = np.linspace(0.0, 2 * np.pi, 24, endpoint=False)
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1) * radius
    cloud = (members[:, None, :] + ring[None, :, :]).reshape(-1, 2)
    return cloud[ConvexHull(cloud).vertices]


def _outline_clusters(ax: Any, v: np.ndarray, pts: np.ndarray, threshold: float, color: str,
                      radius: float) -> int:
    """Outline each cluster of two or more rows of ``v`` around its points ``pts`` (a single completion is its
    own cluster and is counted, not outlined); the number of clusters."""
    from ..metrics.clusters import semantic_cluster_labels

    if len(v) == 0:
        return 0
    labels = semantic_cluster_labels(v, threshold) if len(v) > 1 else np.zeros(len(v), dtype=int)
    for c in np.unique(labels):
        members = pts[labels == c]
        if len(members) < 2:
            continue
        hull = _padded_hull(members, radius)
        closed = np.vstack([hull, hull[:1]])
        ax.plot(closed[:, 0], closed[:, 1], color=color, lw=0.7, alpha=0.75)
        ax.fill(hull[:, 0], hull[:, 1], color=color, alpha=0.10, lw=0)
    return int(len(np.unique(labels)))


def _grouped(samples: Any) -> dict[Hashable, list]:
    if isinstance(samples, Mapping):
        return {k: list(v) for k, v in samples.items()}
    if isinstance(samples, np.ndarray) and samples.ndim == 2:
        return {None: list(samples)}
    items = list(samples)
    if items and isinstance(items[0], str):
        return {None: items}
    return {i: list(v) for i, v in enumerate(items)}


def _mean_pairwise_cosine(v: np.ndarray) -> float:
    """Mean cosine distance over pairs of different rows (as :func:`diversity.mean_pairwise_distance`)."""
    k = len(v)
    if k < 2:
        return math.nan
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    u = v / np.where(norms > 0, norms, 1.0)
    s = u.sum(axis=0)
    return float(1.0 - (s @ s - float((u * u).sum())) / (k * (k - 1)))


def plot_embeddings(models: Mapping[str, Any] | None = None, *, embeddings: Mapping[str, Any] | None = None,
                    embedder: Any = None, method: str = "pca", per_prompt: bool = True,
                    prompts: Sequence[Hashable] | None = None, prompt_text: Mapping[Hashable, str] | None = None,
                    max_panels: int = 6, title_chars: int = 40, seed: int = 0,
                    figsize: tuple[float, float] | None = None, clusters: float | None = None):
    """2-D projection of the models' completion embeddings, coloured by model.

    With ``per_prompt=True`` (default) each panel is one prompt, titled with
    the prompt's text (from ``prompt_text``, shortened to ``title_chars``
    characters with an ellipsis; the key otherwise) and, per model, the mean
    pairwise cosine distance (MPD, as :func:`diversity.mean_pairwise_distance`)
    of that prompt's completions, computed from the same embeddings:
    ``MPD: base 0.42 · aligned 0.18``. Blank completions (empty or
    whitespace only) are left out before embedding, exactly as the metrics
    leave them out, so the panel's MPD is the metric's value; the legend
    counts them. With ``per_prompt=False`` one cloud of
    everything, titled with each model's MPD averaged over prompts.

    Parameters
    ----------
    models : mapping label -> samples, optional
        E.g. ``{"base": a, "aligned": b}`` with each side grouped by prompt
        (or a plain list of texts). Texts are embedded once with
        ``embedder`` (default all-MiniLM-L6-v2, cached).
    embeddings : mapping label -> arrays, optional
        Precomputed embeddings with the same structure instead of texts.
    method : {"pca", "tsne"}
        Projection fitted on all models together (per panel), seeded by
        ``seed``. PCA axes give the share of variance explained.
    per_prompt : bool, default True
        One panel per prompt (the first ``max_panels`` prompts common to all
        models, or ``prompts``) instead of one cloud of everything.
    prompts : sequence of keys, optional
    prompt_text : mapping key -> str, optional
        The text of each prompt, for the panel titles.
    max_panels : int, default 6
    title_chars : int, default 40
    seed : int, default 0
    figsize : (float, float), optional
    clusters : float or None
        Mark each model's semantic clusters (:func:`diversity.semantic_clusters`
        at this cosine-distance threshold, average linkage, per prompt and
        model, in the full embedding space): every cluster of two or more
        completions is outlined in the model's colour (its convex hull in
        the projection), and the title gives each model's number of clusters.
        With ``per_prompt=False`` each model's completions of all prompts
        are pooled and clustered together (not the per-prompt count of
        :func:`diversity.semantic_clusters`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if method not in ("pca", "tsne"):
        raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}.")
    if not (isinstance(max_panels, int) and max_panels >= 1):
        raise ValueError(f"The 'max_panels' parameter of plot_embeddings must be an int in the range [1, inf). "
                         f"Got {max_panels!r} instead.")
    if not (isinstance(title_chars, int) and title_chars >= 4):
        raise ValueError(f"The 'title_chars' parameter of plot_embeddings must be an int in the range [4, inf). "
                         f"Got {title_chars!r} instead.")
    source = embeddings if embeddings is not None else models
    if source is None:
        raise ValueError("plot_embeddings needs models (texts) or embeddings.")
    labels = [str(lab) for lab in source]
    if len(labels) < 1:
        raise ValueError("plot_embeddings needs at least one model.")
    if embeddings is None:
        if embedder is None:
            from ..embed import SentenceTransformerEmbedder

            embedder = SentenceTransformerEmbedder()
        n_blank = {str(lab): sum(not t.strip() for ts in _grouped(m).values() for t in ts)
                   for lab, m in models.items()}
        vecs = {}
        for lab, m in models.items():
            vecs[str(lab)] = {}
            for p, ts in _grouped(m).items():
                kept = [t for t in ts if t.strip()]  # blank completions: left out, as the metrics do
                vecs[str(lab)][p] = (np.asarray(embedder.encode(kept), dtype=np.float64) if kept
                                     else np.empty((0, 0)))
        dim = next((v.shape[1] for per in vecs.values() for v in per.values() if v.size), 0)
        if not dim:
            raise ValueError("plot_embeddings: every completion is blank; nothing to plot.")
        vecs = {lab: {p: (v if v.size else np.empty((0, dim))) for p, v in per.items()} for lab, per in vecs.items()}
    else:
        vecs = {str(lab): {p: np.asarray(v, dtype=np.float64) for p, v in _grouped(e).items()}
                for lab, e in embeddings.items()}
        n_blank = {}
    for lab in labels:
        for p, v in vecs[lab].items():
            if v.ndim != 2 or (len(v) == 0 and embeddings is not None):
                raise ValueError(f"embeddings of {lab!r}, prompt {p!r} must be a non-empty 2-D array.")
            if not np.isfinite(v).all():
                raise ValueError(f"embeddings of {lab!r}, prompt {p!r} contain NaN or infinity.")
    common = [p for p in vecs[labels[0]] if all(p in vecs[lab] for lab in labels)]
    if per_prompt and common != [None]:
        if prompts is not None:
            absent = [p for p in prompts if p not in common]
            if absent:
                raise ValueError(f"prompts {absent!r} are not common to all models.")
            panels = list(prompts)
        else:
            panels = common[:max_panels]
        if not panels:
            raise ValueError("no prompt is common to all models.")
    else:
        panels = [None]
    n = len(panels)
    cols = 2 if n == 4 else min(n, 3)
    rows = math.ceil(n / cols)
    axis = "PC" if method == "pca" else "t-SNE "
    with _style():
        fig = _figure(figsize or ((_WIDTH if cols == 1 else 2.35 * cols), 2.45 * rows + 0.45))
        axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
        for ax, panel in zip(axes, panels):
            if panel is None:
                parts = [(lab, np.vstack(list(vecs[lab].values()))) for lab in labels]
                mpd = {lab: float(np.nanmean([_mean_pairwise_cosine(v) for v in vecs[lab].values()]))
                       for lab in labels}
                head = "MPD"
            else:
                parts = [(lab, vecs[lab][panel]) for lab in labels]
                mpd = {lab: _mean_pairwise_cosine(v) for lab, v in parts}
                text = prompt_text.get(panel, panel) if prompt_text is not None else panel
                head = f"“{_plain(_shorten(text, title_chars))}”\nMPD"
            xy, evr = _project(np.vstack([v for _, v in parts]), method, seed)
            span = float(np.ptp(xy, axis=0).max()) if len(xy) > 1 else 1.0
            start = 0
            n_clusters = {}
            for i, (lab, v) in enumerate(parts):
                pts = xy[start:start + len(v)]
                start += len(v)
                color = MODEL_COLORS[i % len(MODEL_COLORS)]
                ax.scatter(pts[:, 0], pts[:, 1], s=10, alpha=0.8, color=color, label=lab, edgecolors="none")
                if clusters is not None:
                    n_clusters[lab] = _outline_clusters(ax, v, pts, clusters, color, 0.03 * (span or 1.0))
            ax.set_xticks([])
            ax.set_yticks([])
            if evr is not None:
                ax.set_xlabel(f"PC1 ({evr[0]:.0%})")
                ax.set_ylabel(f"PC2 ({evr[1]:.0%})")
            else:
                ax.set_xlabel(f"{axis}1")
                ax.set_ylabel(f"{axis}2")
            values = " · ".join(f"{lab} {mpd[lab]:.2f}" if math.isfinite(mpd[lab]) else f"{lab} n/a"
                                for lab in labels)
            if clusters is not None:
                values += "\nclusters: " + " · ".join(f"{lab} {n_clusters[lab]}" for lab in labels)
            ax.set_title(f"{head}: {values}", fontsize=7)
        for ax in axes[n:]:
            ax.set_visible(False)
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=min(len(labels), 4), frameon=False,
                   markerscale=1.6, handletextpad=0.2,
                   title=textwrap.fill("MPD: mean pairwise cosine distance between a model's completions"
                                       + (" for the panel's prompt" if panels != [None] else ", mean over prompts")
                                       + (f"; outlines: semantic clusters (cosine distance ≤ {clusters:g}, "
                                          "average linkage) of two or more completions" if clusters is not None
                                          else "")
                                       + ("; blank completions left out, as in the metrics: " + ", ".join(
                                           f"{lab} {n_blank[lab]}" for lab in labels)
                                          if any(n_blank.values()) else ""), int(16 * fig.get_figwidth())))
    return fig
