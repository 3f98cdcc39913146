"""The house style of every figure: colours, fonts, one-column width, and
:func:`save_figure`. matplotlib is imported only when a figure is made.

Shared by :mod:`.plots`, :mod:`.embedding_plots` and :mod:`.paper_plots`
(which import from here, never from each other, so any of them can be
imported first)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["MODEL_COLORS", "VERDICT_COLORS", "save_figure"]

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
# Models in this order (yellow is left out: too light on white).
MODEL_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
# Forest-plot verdicts (b relative to a): blue / vermillion, the pair of the palette furthest apart; greys for none.
VERDICT_COLORS = {"more diverse": "#0072B2", "less diverse": "#D55E00", "no significant difference": "#8C8C8C",
                  "undefined": "#4D4D4D"}
_RC = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7, "legend.title_fontsize": 7,
       "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.linewidth": 0.6, "xtick.major.width": 0.6,
       "ytick.major.width": 0.6, "lines.linewidth": 1.0, "pdf.fonttype": 42, "ps.fonttype": 42,
       "svg.fonttype": "path", "svg.hashsalt": "diversity", "figure.dpi": 100}
_WIDTH = 3.4  # inches: one column of a two-column paper
_FORMATS = (".png", ".pdf", ".svg")


def _figure(figsize):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover
        raise ImportError("Plots need matplotlib: pip install 'llm-diversity[plot]'") from e
    fig = Figure(figsize=figsize, layout="constrained")
    fig.get_layout_engine().set(w_pad=0.04, h_pad=0.04)
    return fig


def _style():
    import matplotlib

    return matplotlib.rc_context(_RC)


def _shorten(text: str, width: int) -> str:
    """``text`` on one line in at most ``width`` characters: cut at a word boundary (within the
    last third) and ended with an ellipsis."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    space = cut.rfind(" ")
    if space >= (2 * width) // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def _plain(text: str) -> str:
    """``text`` drawn as written: a ``$`` in a model's output or a prompt would start matplotlib's math mode."""
    return str(text).replace("$", r"\$")


def save_figure(fig: Any, path: str | Path | Sequence[str | Path], *, dpi: int = 300) -> list[Path]:
    """Write ``fig`` to one or several files, the format taken from each suffix.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str, Path, or a sequence of them
        ``.png`` (raster at ``dpi``), ``.pdf`` or ``.svg`` (vector; PDF
        fonts embedded as TrueType so that text stays editable). No
        creation date is written: the same figure gives the same bytes.
    dpi : int, default 300
        Resolution of PNG output.

    Returns
    -------
    list of Path
        The files written, in the order given.

    Examples
    --------
    >>> save_figure(plot_forest(comparison), ["forest.pdf", "forest.png"])  # doctest: +SKIP
    """
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    if not paths:
        raise ValueError("save_figure needs at least one path.")
    for p in paths:
        if p.suffix.lower() not in _FORMATS:
            raise ValueError(f"cannot tell the format of {str(p)!r}: the suffix must be one of "
                             f"{', '.join(_FORMATS)}.")
    if not (isinstance(dpi, int) and dpi > 0):
        raise ValueError(f"The 'dpi' parameter of save_figure must be a positive int. Got {dpi!r} instead.")
    # no creation date in the file: the same figure gives the same bytes (reproducible, diff-able)
    metadata = {".pdf": {"CreationDate": None}, ".svg": {"Date": None}, ".png": {}}
    with _style():
        for p in paths:
            fig.savefig(p, format=p.suffix.lower()[1:], dpi=dpi, metadata=metadata[p.suffix.lower()])
    return paths
