"""Figures (diversity.report.plots): what they show, not only that a file appears.

Checked: the forest plot's sign convention and verdict colours against the
comparison's own numbers, its legend and stated interval, undefined rows kept,
one panel per model for compare_many; per-prompt lines ending exactly at the
jittered dots; embedding panel titles (prompt text, per-model mean pairwise
distance equal to diversity.mean_pairwise_distance); no text artist outside the
figure after drawing; PNG/PDF/SVG output by suffix.
"""

import dataclasses
import inspect
import warnings

import numpy as np
import pytest

import diversity

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.text import Text

from diversity.report.plots import (
    MODEL_COLORS,
    VERDICT_COLORS,
    plot_embeddings,
    plot_forest,
    plot_per_prompt,
    save_figure,
)

WORDS = ["the", "a", "cat", "dog", "bird", "sat", "ran", "flew", "on", "under", "over", "mat", "log", "tree", "red", "blue", "small", "big", "old", "new"]
_rng = np.random.default_rng(11)


def _sentence():
    return " ".join(_rng.choice(WORDS, size=_rng.integers(5, 10)))


BASE = {f"p{i}": [_sentence() for _ in range(6)] for i in range(12)}
# b repeats its first completion in a varying share of each set: less diverse, by a different amount per prompt
ALIGNED = {p: [ts[0] if j < 1 + i % 4 else _sentence() for j in range(6)] for i, (p, ts) in enumerate(BASE.items())}
SIMILAR = {p: ts[1:] + ts[:1] for p, ts in BASE.items()}  # the same sets, reordered
METRICS = ["distinct-1", "distinct-2", "self-bleu"]


def _compare(a, b, metrics=METRICS, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return diversity.compare(a, b, metrics, n_resamples=999, **kw)


@pytest.fixture(scope="module")
def comp():
    return _compare(BASE, ALIGNED)


def _drawn_texts(fig):
    """The texts a reader sees: titles, axis labels, tick labels within the view limits, texts in the
    axes, legend entries and titles."""
    out = list(fig.texts)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        out += [c for c in ax.get_children() if isinstance(c, Text)]  # titles, texts in the axes
        out += [ax.xaxis.label, ax.yaxis.label]
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            eps = 1e-9 * max(1.0, hi - lo)
            out += [t.label1 for t in axis.get_major_ticks() if lo - eps <= t.get_loc() <= hi + eps]
    for leg in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        out += [*leg.get_texts(), leg.get_title()]
    return [t for t in out if t.get_visible() and t.get_text().strip()]


def _assert_inside(fig):
    """Nothing clipped: after drawing, every text a reader sees, and the tight box of everything drawn,
    lie inside the figure."""
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    texts = _drawn_texts(fig)
    assert texts
    for t in texts:
        e = t.get_window_extent(renderer)
        assert e.x0 >= box.x0 - 0.5 and e.x1 <= box.x1 + 0.5 and e.y0 >= box.y0 - 0.5 and e.y1 <= box.y1 + 0.5, \
            f"text {t.get_text()!r} at {e} is clipped by the figure {box}"
    tight, size = fig.get_tightbbox(renderer), fig.get_size_inches()
    assert tight.x0 >= -0.01 and tight.y0 >= -0.01 and tight.x1 <= size[0] + 0.01 and tight.y1 <= size[1] + 0.01


def _marker(ax, gid):
    [line] = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    return line


def _bar(ax, y):
    """The CI bar drawn at row y (a two-point horizontal line without marker)."""
    bars = [ln for ln in ax.get_lines() if ln.get_gid() is None and ln.get_marker() in ("None", None, "")
            and len(ln.get_xdata()) == 2 and list(ln.get_ydata()) == [y, y]]
    assert len(bars) == 1
    return sorted(bars[0].get_xdata())


def _legend_texts(fig):
    [leg] = fig.legends
    return [t.get_text() for t in leg.get_texts()], leg.get_title().get_text()


# ---- forest plot ---------------------------------------------------------------------------------------------------

def test_forest_labels_legend_and_stated_interval(comp):
    fig = plot_forest(comp)
    [ax] = fig.axes
    # top to bottom in the table's order; the direction of each metric in its label
    assert [t.get_text() for t in ax.get_yticklabels()] == ["self-bleu ↓", "distinct-2 ↑", "distinct-1 ↑"]
    assert "$d_z$ of aligned − base" in ax.get_xlabel()
    assert ax.get_title(loc="left") == "aligned vs base · 12 prompts"
    texts, title = _legend_texts(fig)
    assert texts == ["aligned less diverse", "Holm p < 0.05"]
    assert "bars: 95% percentile bootstrap CI over prompts" in title
    assert "↑/↓ after a metric: higher/lower is more diverse" in title
    _assert_inside(fig)


def test_the_clipping_check_catches_a_clipped_label(comp):
    fig = plot_forest(comp)
    fig.axes[0].set_xlabel("a very long axis label " * 6)
    with pytest.raises(AssertionError, match="is clipped by the figure"):
        _assert_inside(fig)


def test_forest_sign_convention_is_the_tables_and_colour_is_the_verdict(comp):
    """self-bleu (lower is more diverse) rises for the less diverse b: the marker sits at the table's
    positive d_z (not flipped), coloured 'less diverse'; distinct-n falls: negative, same colour."""
    fig = plot_forest(comp)
    ax = fig.axes[0]
    less = VERDICT_COLORS["less diverse"]
    for i, r in enumerate(comp.rows):
        assert r.verdict(comp.alpha) == "less diverse"
        m = _marker(ax, f"forest:base:aligned:{r.metric}")
        x = m.get_xdata()[0]
        assert x == pytest.approx(r.effect_size)
        assert np.sign(x) == np.sign(r.diff) == (1 if r.metric == "self-bleu" else -1)
        assert to_hex(m.get_color()) == to_hex(m.get_markerfacecolor()) == less.lower()  # filled: Holm p < alpha
        # the CI of the difference on the same scale: divided by the sd of the per-prompt differences
        sd = r.diff / r.effect_size
        assert _bar(ax, len(comp.rows) - 1 - i) == pytest.approx(sorted([r.diff_ci.low / sd, r.diff_ci.high / sd]))
    assert comp["self-bleu"].diff > 0 and _marker(ax, "forest:base:aligned:self-bleu").get_xdata()[0] > 0


def test_forest_raw_difference_scale(comp):
    fig = plot_forest(comp, scale="diff")
    ax = fig.axes[0]
    r = comp["self-bleu"]
    assert _marker(ax, "forest:base:aligned:self-bleu").get_xdata()[0] == pytest.approx(r.diff)
    assert _bar(ax, 0) == pytest.approx([r.diff_ci.low, r.diff_ci.high])
    assert ax.get_xlabel().startswith("difference aligned − base")
    _assert_inside(fig)
    with pytest.raises(ValueError, match="The 'scale' parameter of plot_forest must be 'dz' or 'diff'. Got 'z'"):
        plot_forest(comp, scale="z")


def test_forest_open_grey_markers_without_significance():
    c = _compare(BASE, SIMILAR)
    fig = plot_forest(c)
    ax = fig.axes[0]
    for r in c.rows:
        assert r.verdict(c.alpha) == "no significant difference"
        m = _marker(ax, f"forest:base:aligned:{r.metric}")
        assert to_hex(m.get_color()) == VERDICT_COLORS["no significant difference"].lower()
        assert to_hex(m.get_markerfacecolor()) == "#ffffff"  # open: Holm p >= alpha
    texts, _ = _legend_texts(fig)
    assert texts == ["no significant difference", "Holm p ≥ 0.05"]


def test_forest_keeps_undefined_rows_and_says_so(comp):
    rows = list(comp.rows)
    rows[1] = dataclasses.replace(rows[1], reason="defined on 1 of 12 shared prompts", diff_ci=None)
    c = dataclasses.replace(comp, rows=tuple(rows))
    fig = plot_forest(c)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["self-bleu ↓", "distinct-2 ↑", "distinct-1 ↑"]
    assert [t.get_text() for t in ax.texts] == ["undefined"]
    assert not [ln for ln in ax.get_lines() if ln.get_gid() == "forest:base:aligned:distinct-2"]
    texts, _ = _legend_texts(fig)
    assert texts == ["aligned less diverse", "undefined", "Holm p < 0.05"]
    _assert_inside(fig)


def test_forest_constant_difference_has_no_dz_and_says_why():
    a = {f"p{i}": [f"w{i} a", f"w{i} b", f"w{i} c", f"w{i} d"] for i in range(6)}
    b = {f"p{i}": [f"w{i} a"] * 2 + [f"w{i} b", f"w{i} c"] for i in range(6)}
    c = _compare(a, b, ["unique-fraction"])
    assert c.rows[0].diff == pytest.approx(-0.25)
    fig = plot_forest(c)
    assert [t.get_text() for t in fig.axes[0].texts] == ["$d_z$ undefined: constant difference -0.25"]
    _assert_inside(fig)


class _StandIn:
    """The MultiComparison interface the plot relies on: reference, alpha, items()."""

    def __init__(self, reference, comparisons, alpha=0.05):
        self.reference, self._c, self.alpha = reference, comparisons, alpha

    def items(self):
        return self._c.items()


def _models():
    sft = {p: ts[:3] + ts[:3] for p, ts in BASE.items()}
    return {"base": BASE, "sft": sft, "rlhf": ALIGNED}


def _check_multi(fig, labels, n_rows):
    axes = fig.axes
    assert [ax.get_title(loc="left") for ax in axes] == [f"{lab} vs base · 12 prompts" for lab in labels]
    assert all(len(ax.get_yticklabels()) == n_rows for ax in axes)
    assert axes[0].get_shared_x_axes().joined(axes[0], axes[-1])
    assert axes[-1].get_xlabel().startswith("paired effect $d_z$ of model − base")
    assert all(ax.get_xlabel() == "" for ax in axes[:-1])
    texts, _ = _legend_texts(fig)
    assert "less diverse than base" in texts
    _assert_inside(fig)


def test_forest_of_compare_many_one_panel_per_model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        multi = diversity.compare_many(_models(), reference="base", metrics=METRICS, n_resamples=999)
    fig = plot_forest(multi)
    _check_multi(fig, ["sft", "rlhf"], 3)
    for ax, (lab, c) in zip(fig.axes, multi.items()):
        for r in c.rows:
            m = _marker(ax, f"forest:base:{lab}:{r.metric}")
            assert to_hex(m.get_color()) == VERDICT_COLORS[r.verdict(multi.alpha)].lower()


def test_forest_of_a_stand_in_multi_comparison_and_a_plain_dict():
    comps = {lab: _compare(BASE, m, labels=("base", lab)) for lab, m in _models().items() if lab != "base"}
    _check_multi(plot_forest(_StandIn("base", comps)), ["sft", "rlhf"], 3)
    _check_multi(plot_forest(comps), ["sft", "rlhf"], 3)
    with pytest.raises(ValueError, match="do not share one reference"):
        plot_forest({"x": comps["sft"], "y": _compare(ALIGNED, BASE, labels=("rlhf", "base"))})
    with pytest.raises(TypeError, match="plot_forest needs a Comparison or a MultiComparison"):
        plot_forest(42)


def test_forest_of_all_pairs():
    if "pairs" not in inspect.signature(diversity.compare_many).parameters:
        pytest.skip("compare_many has no pairs= option")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        multi = diversity.compare_many(_models(), metrics=["distinct-1"], pairs="all", n_resamples=999)
    fig = plot_forest(multi)
    assert len(fig.axes) == len(multi) == 3
    for ax, ((a, b), c) in zip(fig.axes, multi.items()):  # each panel its own pair (two share the label dpo)
        assert ax.get_title(loc="left").startswith(f"{b} vs {a}")
        m = _marker(ax, f"forest:{a}:{b}:distinct-1")
        assert m.get_xdata()[0] == pytest.approx(c.rows[0].effect_size)
    assert fig.axes[-1].get_xlabel().startswith("paired effect $d_z$ of b − a of each panel\n")
    _assert_inside(fig)


# ---- per-prompt plot -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("metric", METRICS)
def test_per_prompt_lines_end_at_the_jittered_dots(comp, metric):
    fig = plot_per_prompt(comp, metric)
    ax = fig.axes[0]
    r = comp[metric]
    dots = {c.get_gid(): c.get_offsets() for c in ax.collections if c.get_gid()}
    da, db = np.asarray(dots["dots:0"]), np.asarray(dots["dots:1"])
    assert len(da) == len(db) == r.n_prompts == 12
    assert np.ptp(da[:, 0]) > 0  # jittered
    assert np.allclose(da[:, 1], r.a.per_group) and np.allclose(db[:, 1], r.b.per_group)
    lines = [ln for ln in ax.get_lines() if ln.get_gid() == "pair"]
    assert len(lines) == 12
    for ln, pa, pb in zip(lines, da, db):
        assert np.allclose(ln.get_xydata(), [pa, pb])  # starts and ends exactly at the dots
    arrow = "↓" if metric == "self-bleu" else "↑"
    p = "< 0.001" if r.p_holm < 0.001 else f"= {r.p_holm:.3f}"
    assert ax.get_title() == f"{metric} ({arrow} more diverse)\nn = 12 prompts · Holm p {p}"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["base", "aligned"]
    assert to_hex(ax.collections[0].get_facecolor()[0]) == MODEL_COLORS[0].lower()
    _assert_inside(fig)


def test_per_prompt_title_undefined_and_errors(comp):
    rows = [dataclasses.replace(r, reason="too few prompts") if r.metric == "distinct-2" else r for r in comp.rows]
    fig = plot_per_prompt(dataclasses.replace(comp, rows=tuple(rows)), "distinct-2")
    assert fig.axes[0].get_title().endswith("· undefined")
    with pytest.raises(ValueError, match="metric 'vendi' is not in the comparison; it has 'distinct-1'"):
        plot_per_prompt(comp, "vendi")
    with pytest.raises(TypeError, match="plot_per_prompt needs one Comparison"):
        plot_per_prompt({"x": comp}, "distinct-1")
    with pytest.raises(ValueError, match="The 'jitter' parameter of plot_per_prompt must be a float"):
        plot_per_prompt(comp, "distinct-1", jitter=0.7)


# ---- embeddings ----------------------------------------------------------------------------------------------------

EMB_RNG = np.random.default_rng(4)
EMB = {"base": {p: EMB_RNG.normal(size=(8, 16)) for p in ("q1", "q2", "q3")},
       "aligned": {p: EMB_RNG.normal(size=(8, 16)) * 0.2 + 1 for p in ("q1", "q2", "q3")}}
TEXT = {"q1": "Write a short story about a lighthouse keeper who finds a message in a bottle.",
        "q2": "Name a colour."}


def _mpd(v):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return diversity.mean_pairwise_distance(embeddings=v, n_resamples=99).value


def test_embedding_panels_titled_with_prompt_text_and_values():
    fig = plot_embeddings(embeddings=EMB, prompt_text=TEXT)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 3
    titles = [ax.get_title() for ax in axes]
    first = titles[0].split("\n")[0]
    assert first == "“Write a short story about a lighthouse…”" and len(first) <= 40 + 2
    assert titles[1].startswith("“Name a colour.”\n")
    assert titles[2].startswith("“q3”\n")  # no text given: the key
    for ax, p in zip(axes, ("q1", "q2", "q3")):
        values = ax.get_title().split("\n")[1]
        assert values == f"MPD: base {_mpd(EMB['base'][p]):.2f} · aligned {_mpd(EMB['aligned'][p]):.2f}"
        assert ax.get_xlabel().startswith("PC1 (") and ax.get_xlabel().endswith("%)")
        assert [to_hex(c.get_facecolor()[0]) for c in ax.collections] == [c.lower() for c in MODEL_COLORS[:2]]
    texts, title = _legend_texts(fig)
    assert texts == ["base", "aligned"] and title.startswith("MPD: mean pairwise cosine distance")
    _assert_inside(fig)


def test_embedding_cloud_of_everything_and_tsne():
    fig = plot_embeddings(embeddings=EMB, per_prompt=False)
    [ax] = fig.axes
    mean = {lab: np.mean([_mpd(v) for v in EMB[lab].values()]) for lab in EMB}
    assert ax.get_title() == f"MPD: base {mean['base']:.2f} · aligned {mean['aligned']:.2f}"
    assert sum(len(c.get_offsets()) for c in ax.collections) == 48
    _assert_inside(fig)
    fig = plot_embeddings(embeddings=EMB, method="tsne", prompts=["q2"])
    [ax] = fig.axes
    assert ax.get_xlabel() == "t-SNE 1" and ax.get_title().startswith("“q2”")
    _assert_inside(fig)


def test_embedding_errors():
    with pytest.raises(ValueError, match="method must be 'pca' or 'tsne'"):
        plot_embeddings(embeddings=EMB, method="umap")
    with pytest.raises(ValueError, match=r"prompts \['q9'\] are not common to all models"):
        plot_embeddings(embeddings=EMB, prompts=["q9"])
    with pytest.raises(ValueError, match="contain NaN or infinity"):
        plot_embeddings(embeddings={"a": {"q": np.full((3, 4), np.nan)}})
    with pytest.raises(ValueError, match="needs models"):
        plot_embeddings()


# ---- files ---------------------------------------------------------------------------------------------------------

def test_save_figure_writes_png_pdf_and_svg(comp, tmp_path):
    fig = plot_forest(comp)
    paths = save_figure(fig, [tmp_path / "f.png", tmp_path / "f.pdf", str(tmp_path / "f.svg")], dpi=100)
    assert [p.name for p in paths] == ["f.png", "f.pdf", "f.svg"]
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "f.pdf").read_bytes()[:5] == b"%PDF-"
    svg = (tmp_path / "f.svg").read_bytes()
    assert svg.startswith((b"<?xml", b"<svg"))
    assert b"<svg" in svg
    img = matplotlib.image.imread(tmp_path / "f.png")
    assert img.shape[1] == round(3.4 * 100)  # a paper column wide, as drawn
    assert (img[..., :3] < 0.5).mean() > 0.005  # ink
    [p] = save_figure(fig, tmp_path / "single.pdf")
    assert p.read_bytes()[:4] == b"%PDF"
    # no creation date and no random ids: the same figure made again is the same file
    import time

    first = save_figure(plot_forest(comp), [tmp_path / "h.pdf", tmp_path / "h.svg"])
    time.sleep(1.1)
    again = save_figure(plot_forest(comp), [tmp_path / "g.pdf", tmp_path / "g.svg"])
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in first]
    with pytest.raises(ValueError, match=r"cannot tell the format of '.*f\.jpg'"):
        save_figure(fig, tmp_path / "f.jpg")
    with pytest.raises(ValueError, match="The 'dpi' parameter of save_figure must be a positive int"):
        save_figure(fig, tmp_path / "f.png", dpi=0)
