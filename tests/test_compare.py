"""Paired comparison of two models: statistics checked against scipy,
fairness controls, report formats, plots."""

import json
import warnings

import numpy as np
import pytest
from scipy import stats

import diversity
from diversity import LengthMismatchWarning
from diversity.stats.paired import holm as _holm

rng = np.random.default_rng(3)
WORDS = "the a cat dog bird sat ran flew on under over mat log tree red blue small big".split()


def make(n_prompts, k, vocab):
    return {f"p{i}": [" ".join(rng.choice(vocab, size=rng.integers(4, 10))) for _ in range(k)]
            for i in range(n_prompts)}


BASE = make(14, 6, WORDS)
ALIGNED = {p: [ts[0]] * 3 + ts[1:3] + [ts[0]] for p, ts in make(14, 6, WORDS[:6]).items()}


def test_identical_sets_give_zero_difference_and_no_significance():
    c = diversity.compare(BASE, BASE, ["distinct-1", "self-bleu"])
    for r in c.rows:
        assert r.diff == 0.0 and r.p_value == 1.0 and r.p_holm == 1.0
        assert r.verdict() == "no significant difference"
        assert (r.diff_ci.low, r.diff_ci.high) == (0.0, 0.0)


def test_paired_permutation_test_matches_scipy():
    c = diversity.compare(BASE, ALIGNED, ["distinct-2"], n_resamples=5000)
    r = c["distinct-2"]
    a, b = np.array(r.a.per_group), np.array(r.b.per_group)
    ref = stats.permutation_test((b, a), lambda x, y, axis: np.mean(x - y, axis=axis), permutation_type="samples",
                                 vectorized=True, n_resamples=5000, rng=np.random.default_rng(0))
    assert r.p_value == pytest.approx(ref.pvalue)
    assert r.diff == pytest.approx(np.mean(b - a))
    assert r.effect_size == pytest.approx(np.mean(b - a) / np.std(b - a, ddof=1))
    assert r.verdict() == "less diverse"


def test_wilcoxon_option_matches_scipy():
    r = diversity.compare(BASE, ALIGNED, ["distinct-1"], test="wilcoxon")["distinct-1"]
    a, b = np.array(r.a.per_group), np.array(r.b.per_group)
    assert r.p_value == pytest.approx(stats.wilcoxon(b, a).pvalue)
    assert r.test == "wilcoxon"


def test_holm_correction():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.005])
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    np.testing.assert_allclose(_holm(p), [0.03, 0.06, 0.06, np.nan, 0.02])
    c = diversity.compare(BASE, ALIGNED, ["distinct-1", "distinct-2", "unique-fraction"])
    np.testing.assert_allclose([r.p_holm for r in c.rows], _holm(np.array([r.p_value for r in c.rows])))


def test_direction_aware_verdicts():
    c = diversity.compare(BASE, ALIGNED, ["distinct-1", "self-bleu", "compression-ratio"])
    for r in c.rows:
        assert r.verdict() == "less diverse", r.metric
    assert (c["self-bleu"].diff > 0) and (c["distinct-1"].diff < 0)
    assert "aligned is less diverse than base" in c.summary()
    rev = diversity.compare(ALIGNED, BASE, ["self-bleu"], labels=("aligned", "base"))
    assert rev["self-bleu"].verdict() == "more diverse"


def test_equal_k_subsampling_is_seeded_and_recorded():
    big = {p: ts + ts[:3] for p, ts in BASE.items()}  # 9 per prompt
    c1 = diversity.compare(big, ALIGNED, ["distinct-1"], seed=1)
    c2 = diversity.compare(big, ALIGNED, ["distinct-1"], seed=1)
    assert c1.k == 6 and "|k:6-sub-seed1|" in c1.signature
    assert c1["distinct-1"].a.value == c2["distinct-1"].a.value
    assert "|k:6|" in c1["distinct-1"].a.signature
    with pytest.raises(ValueError, match="k=7 is larger than the smallest set"):
        diversity.compare(big, ALIGNED, ["distinct-1"], k=7)


def test_missing_prompts_are_reported_not_dropped_silently():
    b = {p: v for p, v in list(ALIGNED.items())[:10]}
    b["extra"] = ["x y", "y z", "z x", "x x", "y y", "z z"]
    with pytest.warns(UserWarning, match="4 missing in 'aligned', 1 missing in 'base'"):
        c = diversity.compare(BASE, b, ["distinct-1"])
    assert len(c.prompts) == 10 and c.missing["aligned"] == ("p10", "p11", "p12", "p13")
    assert c.missing["base"] == ("extra",)
    with pytest.raises(ValueError, match="no prompt in common"):
        diversity.compare({"a": ["x"]}, {"b": ["y"]}, ["distinct-1"])
    with pytest.raises(ValueError, match="must be grouped by prompt"):
        diversity.compare(["x", "y"], ["z", "w"], ["distinct-1"])


def test_length_warning_and_control():
    long = {p: [t + " and then it went on and on and on for a long while" for t in ts] for p, ts in BASE.items()}
    with pytest.warns(LengthMismatchWarning, match="'aligned' completions are .*x longer"):
        diversity.compare(BASE, long, ["distinct-1"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", LengthMismatchWarning)
        c = diversity.compare(BASE, long, ["distinct-1"], max_tokens=4)
    assert c.mean_tokens["aligned"] <= 4 and "|len:trunc4|" in c.signature


def test_formats_round_trip():
    c = diversity.compare(BASE, ALIGNED, ["distinct-1", "self-bleu"])
    d = json.loads(c.to_json())
    assert d["labels"] == ["base", "aligned"] and d["metrics"][0]["verdict"] == "less diverse"
    assert d["metrics"][1]["a"]["signature"] == c["self-bleu"].a.signature
    md = c.to_markdown()
    assert "| distinct-1 | ↑ |" in md and "| self-bleu | ↓ |" in md and c.signature in md
    tex = c.to_latex(caption="Diversity", label="tab:div")
    assert "\\toprule" in tex and "\\bottomrule" in tex and "$\\downarrow$" in tex and "\\label{tab:div}" in tex
    assert "$^{***}$" in tex or "$^{**}$" in tex or "$^{*}$" in tex
    frame = c.to_frame()
    assert list(frame.index) == ["distinct-1", "self-bleu"] and "p_holm" in frame.columns
    bib = c.cite()
    assert "@inproceedings{li2016diversity" in bib and "@inproceedings{zhu2018texygen" in bib
    assert "mohammadi2024creativity" in bib


def test_compare_many_against_a_reference():
    sft = {p: ts[:4] + ts[:2] for p, ts in BASE.items()}
    res = diversity.compare_many({"base": BASE, "sft": sft, "rlhf": ALIGNED}, reference="base",
                                 metrics=["distinct-1"])
    assert set(res) == {"sft", "rlhf"}
    assert res["rlhf"].labels == ("base", "rlhf") and res["sft"].k == res["rlhf"].k == 6
    with pytest.raises(ValueError, match="reference 'chat' is not among"):
        diversity.compare_many({"base": BASE, "sft": sft}, reference="chat")


def test_bad_compare_parameters():
    with pytest.raises(ValueError, match="'test' parameter of compare must be one of"):
        diversity.compare(BASE, ALIGNED, ["distinct-1"], test="t-test")
    with pytest.raises(ValueError, match="labels must be two different strings"):
        diversity.compare(BASE, ALIGNED, ["distinct-1"], labels=("x", "x"))


# ---- plots -------------------------------------------------------------------

def _nonblank_png(path, min_size):
    matplotlib = pytest.importorskip("matplotlib")
    img = matplotlib.image.imread(path)
    assert img.shape[0] >= min_size[0] and img.shape[1] >= min_size[1]
    rgb = img[..., :3]
    assert rgb.std() > 0.05  # not a blank canvas
    assert (rgb < 0.5).mean() > 0.005  # some dark ink (text, axes)


def test_comparison_signature_is_pinned():
    c = diversity.compare(BASE, ALIGNED, ["distinct-1"], seed=2, n_resamples=999, permutations=999)
    assert c.signature == (f"compare|labels:base,aligned|prompts:14|k:6|len:full|test:permutation-999|"
                           f"adj:holm-1|ci:0.95-percentile-999|v:{diversity.__version__}")
    w = diversity.compare(BASE, ALIGNED, ["distinct-1"], test="wilcoxon", max_tokens=5)
    assert "|len:trunc5|test:wilcoxon|adj:holm-1|" in w.signature


def test_compare_results_on_precomputed_per_prompt_results():
    import math as _m
    gen = lambda h: [[[0.0] * 5 if h else [0.0, -1e9, -1e9, -1e9, -1e9]]]  # noqa: E731
    a = {"token-entropy": diversity.token_entropy({f"p{i}": gen(True) for i in range(6)})}
    b = {"token-entropy": diversity.token_entropy({f"p{i}": gen(i % 2 == 0) for i in range(6)})}
    c = diversity.compare_results(a, b, labels=("base", "aligned"))
    r = c["token-entropy"]
    assert r.diff == pytest.approx(-_m.log2(5) / 2) and r.n_prompts == 6
    with pytest.raises(ValueError, match="need per-prompt results"):
        diversity.compare_results({"x": diversity.distinct_n(["a b"])}, {"x": diversity.distinct_n(["a c"])})
