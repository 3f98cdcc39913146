"""Figures of the paper's three experiments (diversity.report.paper_plots and
plot_embeddings(clusters=)): what they show, and nothing clipped."""

import math

import numpy as np
import pytest

import diversity

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.backends.backend_agg  # noqa: E402

from diversity.report.paper_plots import plot_attractor_curves, plot_attribute_histograms, plot_position_profiles
from diversity.report.plots import MODEL_COLORS, plot_embeddings
from tests.test_plots import _assert_inside


def _bars(ax):
    return [(p.get_y() + p.get_height() / 2, p.get_width(), matplotlib.colors.to_hex(p.get_facecolor()))
            for p in ax.patches if p.get_width() > 0 and p.get_height() < 0.9]


def test_attribute_histograms_show_shares_other_and_not_parsed():
    values = {"base": {"nationality": ["US", "FR", "FR", "JP", "KE", "BR", "IN", "CN", None, "DE"]},
              "aligned": {"nationality": ["US", "US", "US", "US"]}}
    fig = plot_attribute_histograms(values, top=3)
    [ax] = [a for a in fig.axes if a.get_visible()]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    # the 3 most frequent over both models (US 5, FR 2, then ties by name: BR), then the rest and the unparsed
    assert ticks == ["US", "FR", "BR", "(other)", "(not parsed)"]
    base = {round(y): w for y, w, c in _bars(ax) if c == MODEL_COLORS[0].lower()}
    aligned = {round(y): w for y, w, c in _bars(ax) if c == MODEL_COLORS[1].lower()}
    assert base == {0: 0.1, 1: 0.2, 2: 0.1, 3: 0.5, 4: 0.1}  # shares of the model's 10 personas
    assert aligned == {0: 1.0}
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["base (n=10)", "aligned (n=4)"]
    _assert_inside(fig)


def test_position_profiles_draw_the_profile_where_enough_prompts_reach():
    lp = {"p1": [[[-0.1, -2.5]] * 6] * 4, "p2": [[[-0.7, -0.7]] * 3] * 4}
    r = diversity.branching_factor(lp, top_k=2, min_samples=4)
    fig = plot_position_profiles({"base": r, "aligned": r}, min_prompts=2)
    ax = fig.axes[0]
    line = ax.get_lines()[0]
    assert list(line.get_xdata()) == [1, 2, 3]  # positions 4-6 rest on one prompt
    assert np.allclose(line.get_ydata(), r.details["profile"][:3])
    assert ax.get_legend().get_texts()[0].get_text() == f"base (BF {r.value:.2f})"
    # beside it, the cumulative curve: the BF of positions 1..t
    right = fig.axes[1]
    assert np.allclose(right.get_lines()[0].get_ydata(), r.details["cumulative"][:3])
    assert right.get_title() == "cumulative: BF of positions 1..t"
    _assert_inside(fig)


def test_attractor_curves_plot_r_and_chance():
    u = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]])
    near, far = np.array([[1.0, 0.05]]), np.array([[-1.0, 0.0]])
    res = {n: diversity.attractor_strength(embeddings=({"x": u, "y": u}, {"x": p, "y": near}), threshold=0.25)
           for n, p in ((4, far), (None, near))}
    fig = plot_attractor_curves({"base": {"prefix": res}, "aligned": {"prefix": res, "off-sentence": res}})
    top, bottom = fig.axes[:2], fig.axes[2:]
    assert [a.get_title() for a in top] == ["prefix", "off-sentence"]
    assert [t.get_text() for t in bottom[0].get_xticklabels()] == ["4", "all"]
    solid = [ln for ln in top[0].get_lines() if ln.get_linestyle() == "-"]
    assert list(solid[0].get_ydata()) == [res[4].value, res[None].value] == [0.5, 1.0]
    dashed = [ln for ln in top[0].get_lines() if ln.get_linestyle() == "--"]
    assert list(dashed[0].get_ydata()) == [res[4].chance_rate, res[None].chance_rate]
    sim = [ln for ln in bottom[0].get_lines() if ln.get_linestyle() == "-"]
    assert list(sim[0].get_ydata()) == [res[4].nearest_similarity, res[None].nearest_similarity]
    sim0 = [ln for ln in bottom[0].get_lines() if ln.get_linestyle() == "--"]
    assert list(sim0[0].get_ydata()) == [res[4].details["chance_similarity"], res[None].details["chance_similarity"]]
    _assert_inside(fig)


def test_embedding_clouds_mark_each_models_clusters():
    rng = np.random.default_rng(0)
    tight = np.array([1.0, 0.0, 0.0]) + 0.01 * rng.normal(size=(4, 3))  # one cluster of 4
    spread = np.eye(3)[[0, 1, 2, 0]] + 0.01 * rng.normal(size=(4, 3))  # 3 clusters: {0, 3}, {1}, {2}
    fig = plot_embeddings(embeddings={"base": {"q": spread}, "aligned": {"q": tight}}, clusters=0.25)
    ax = fig.axes[0]
    assert ax.get_title().split("\n")[-1] == "clusters: base 3 · aligned 1"
    outlines = [ln for ln in ax.get_lines()]
    assert len(outlines) == 2  # base's pair and aligned's four; singletons are not outlined
    assert "semantic clusters" in " ".join(fig.legends[0].get_title().get_text().split())
    _assert_inside(fig)
    assert not plot_embeddings(embeddings={"base": {"q": spread}}).axes[0].get_lines()
    four = {lab: {f"q{i}": v for i in range(4)} for lab, v in (("base", spread), ("aligned", tight))}
    _assert_inside(plot_embeddings(embeddings=four, clusters=0.25))  # two columns: the legend title still fits


def test_semantic_cluster_labels_agree_with_semantic_clusters():
    from diversity.metrics.clusters import semantic_cluster_labels

    rng = np.random.default_rng(5)
    x = rng.normal(size=(12, 6))
    labels = semantic_cluster_labels(x, 0.6)
    r = diversity.semantic_clusters(embeddings={"q": x}, threshold=0.6)
    assert len(set(labels.tolist())) == r.value
    assert sorted(np.bincount(labels).tolist(), reverse=True) == list(r.details["cluster_sizes"][0])
    with pytest.raises(ValueError, match="zero vector"):
        semantic_cluster_labels(np.zeros((2, 3)))
    assert math.isfinite(r.value)


def test_a_dollar_in_a_value_or_prompt_is_drawn_as_written():
    # matplotlib reads $...$ as math: "$5k and $9k" would come out as italic "5kand9k"
    fig = plot_attribute_histograms({"base": {"salary": ["$5k and $9k", "$5k and $9k", None]}})
    ax = [a for a in fig.axes if a.get_visible()][0]
    label = ax.get_yticklabels()[0]
    assert label.get_text() == r"\$5k and \$9k"
    FigureCanvasAgg = matplotlib.backends.backend_agg.FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    assert not label._preprocess_math(label.get_text())[1]  # not math mode
    emb = {"base": {"q": np.eye(3)}, "aligned": {"q": np.eye(3)[::-1]}}
    title = plot_embeddings(embeddings=emb, prompt_text={"q": "Spend $5 or $6?"}).axes[0].get_title()
    assert title.startswith(r"“Spend \$5 or \$6?”")


def test_cluster_outlines_enclose_pairs_and_collinear_points():
    """A cluster of two is outlined by a closed capsule around both points, three collinear points by a rounded
    hull (not a segment); a single completion is counted, not outlined."""
    from matplotlib.path import Path as MplPath

    base = np.array([[1.0, 0.0, 0.0], [0.999, 0.04, 0.0], [0.0, 1.0, 0.0]])  # a pair and a singleton
    line = np.array([[1.0, 0.0, 0.0], [1.0, 0.02, 0.0], [1.0, 0.04, 0.0]])  # three collinear, one cluster
    fig = plot_embeddings(embeddings={"base": {"q": base}, "aligned": {"q": line}}, clusters=0.25, method="pca")
    ax = fig.axes[0]
    assert ax.get_title().split("\n")[-1] == "clusters: base 2 · aligned 1"
    outlines = ax.get_lines()
    assert len(outlines) == 2
    points = [c.get_offsets() for c in ax.collections if hasattr(c, "get_offsets") and len(c.get_offsets())]
    for ln, own, n_in in zip(outlines, points, (2, 3)):  # base's pair, aligned's three collinear points
        xy = np.column_stack([ln.get_xdata(), ln.get_ydata()])
        assert len(xy) > 8 and np.allclose(xy[0], xy[-1])  # closed, rounded
        assert MplPath(xy).contains_points(own).sum() == n_in
    _assert_inside(fig)


class _Words:
    """A deterministic embedder built here: hashed word counts."""

    model_id, revision = "test-words", "1"

    def encode(self, texts):
        import zlib

        out = np.zeros((len(texts), 32))
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, zlib.crc32(w.encode()) % 32] += 1.0
        return out + 1e-3


def test_blank_completions_are_left_out_as_the_metrics_do():
    """issue 21 item 11: the panel's MPD is diversity.mean_pairwise_distance on the same completions."""
    a = {"q": ["the cat sat", "", "a dog ran far", "   ", "the cat ran"]}
    b = {"q": ["red blue green", "red blue", "green sky blue"]}
    emb = _Words()
    fig = plot_embeddings({"base": a, "aligned": b}, embedder=emb)
    title = fig.axes[0].get_title()
    for lab, side in (("base", a), ("aligned", b)):
        mpd = diversity.mean_pairwise_distance(side, embedder=emb).value
        assert f"{lab} {mpd:.2f}" in title
    n_points = sum(len(c.get_offsets()) for c in fig.axes[0].collections)
    assert n_points == 6  # 3 + 3: the two blank ones are not drawn
    assert "blank completions left out, as in the metrics: base 2, aligned 0" in " ".join(
        fig.legends[0].get_title().get_text().split())
    with pytest.raises(ValueError, match="every completion is blank"):
        plot_embeddings({"base": {"q": ["", " "]}}, embedder=emb)
