"""Attractor strength: hand-computed return rates, chance rates and nearest
similarities on constructed embeddings, every linkage, order invariance,
the signature, bad input, and texts through the real default embedder."""

import math
import random

import numpy as np
import pytest

import diversity
from diversity.metrics.attractor import returns_to_clusters


def unit_angles(*deg):
    r = np.radians(deg)
    return np.stack([np.cos(r), np.sin(r)], axis=1)


# unperturbed: a tight cluster at 0-10 degrees and a single completion at 90 degrees
U = unit_angles(0, 5, 10, 90)


def test_hand_computed_return_rate_chance_and_similarity():
    # returns: 3 (to the 0-10 cluster), 92 (to 90); not 135 (45 degrees from 90: d = 0.293) or 180
    P = unit_angles(3, 135, 92, 180)
    r = diversity.attractor_strength(embeddings=({"x": U}, {"x": P}), threshold=0.25)
    assert r.value == 0.5 and r.per_group == (0.5,)
    # leave-one-out: 0, 5 and 10 each join the others' cluster; 90 joins nothing -> 3/4
    assert r.chance_rate == 0.75
    nearest = [math.cos(math.radians(a)) for a in (2, 45, 2, 90)]  # angle to the nearest unperturbed one
    assert r.nearest_similarity == pytest.approx(np.mean(nearest), abs=1e-12)
    assert r.higher_is_more_diverse is False and r.ci is None
    # the unperturbed completions' own nearest other: 0->5, 5->0 or 10, 10->5, 90->10 degrees
    own = [math.cos(math.radians(a)) for a in (5, 5, 5, 80)]
    assert r.details["chance_similarity"] == pytest.approx(np.mean(own), abs=1e-12)
    assert str(r.signature) == ("attractor-strength|thr:0.25|cal:given|link:average|dist:cosine|perturb:unspecified|"
                                "pos:na|"
                                f"size:na|after:all|emb:precomputed|agg:none|k:4|m:4|v:{diversity.__version__}")


def test_linkage_decides_membership():
    # a cluster of two at 0 and 40 degrees (d = 0.234 < 0.25, so they merge); a probe at 20 degrees is
    # d = 0.0603 from both: it returns under every linkage; a probe at 50 degrees is 0.357 from 0 and
    # 0.0152 from 40: single linkage (min) takes it, average (0.186) takes it, complete (max) does not
    ref = unit_angles(0, 40)
    probes = unit_angles(20, 50)
    assert returns_to_clusters(ref, probes, 0.25, "single").tolist() == [True, True]
    assert returns_to_clusters(ref, probes, 0.25, "average").tolist() == [True, True]
    assert returns_to_clusters(ref, probes, 0.25, "complete").tolist() == [True, False]
    # a tighter threshold splits the reference into two singletons: 50 returns to 40 alone
    assert returns_to_clusters(ref, probes, 0.2, "complete").tolist() == [True, True]
    assert returns_to_clusters(ref, unit_angles(90), 0.25, "single").tolist() == [False]


def test_prompts_average_and_ci_and_settings_in_the_signature():
    emb_u = {"a": U, "b": unit_angles(0, 1, 2)}
    emb_p = {"a": unit_angles(3, 180), "b": unit_angles(180, 170, 1)}
    r = diversity.attractor_strength(embeddings=(emb_u, emb_p), perturbation="prefix", position=0, size=8,
                                     threshold=0.25, linkage="complete")
    assert r.per_group == (0.5, pytest.approx(1 / 3)) and r.value == pytest.approx((0.5 + 1 / 3) / 2)
    assert r.chance_rate == pytest.approx((0.75 + 1.0) / 2)
    assert r.ci is not None and r.ci.low <= r.value <= r.ci.high
    f = r.signature.fields
    assert (f["perturb"], f["pos"], f["size"], f["link"], f["k"], f["m"], f["agg"]) == (
        "prefix", "0", "8", "complete", "3-4", "2-3", "per-prompt-mean")
    assert f["ci"] == "0.95-percentile-10000" and f["seed"] == "0"


def test_order_of_prompts_and_completions_does_not_matter():
    rnd = np.random.default_rng(3)
    emb_u = {f"p{i}": rnd.normal(size=(6, 5)) + rnd.normal(size=5) * 3 for i in range(6)}
    emb_p = {f"p{i}": rnd.normal(size=(5, 5)) + rnd.normal(size=5) for i in range(6)}
    a = diversity.attractor_strength(embeddings=(emb_u, emb_p), threshold=0.6)
    keys = list(emb_u)
    random.Random(1).shuffle(keys)
    shuffled_u = {k: emb_u[k][rnd.permutation(6)] for k in keys}
    shuffled_p = {k: emb_p[k][rnd.permutation(5)] for k in reversed(keys)}
    b = diversity.attractor_strength(embeddings=(shuffled_u, shuffled_p), threshold=0.6)
    assert a.value == pytest.approx(b.value, abs=1e-15) and a.chance_rate == pytest.approx(b.chance_rate, abs=1e-15)
    assert a.ci == b.ci and a.signature == b.signature
    assert 0 < a.value < 1  # the constructed data is not degenerate


def test_bad_input_names_the_problem():
    e = ({"x": U}, {"x": U[:1]})
    with pytest.raises(diversity.InvalidParameterError, match="'threshold' parameter"):
        diversity.attractor_strength(embeddings=e, threshold=0)
    with pytest.raises(diversity.InvalidParameterError, match="'linkage' parameter"):
        diversity.attractor_strength(embeddings=e, linkage="ward")
    with pytest.raises(diversity.InvalidParameterError, match="'position' parameter"):
        diversity.attractor_strength(embeddings=e, position=-1)
    with pytest.raises(diversity.InvalidParameterError, match="'perturbation' parameter"):
        diversity.attractor_strength(embeddings=e, perturbation="a|b")
    with pytest.raises(ValueError, match="'y' is in one only"):
        diversity.attractor_strength(embeddings=({"x": U, "y": U}, {"x": U}))
    with pytest.raises(ValueError, match="prompt 'x' has 1 unperturbed completion"):
        diversity.attractor_strength(embeddings=({"x": U[:1]}, {"x": U}))
    with pytest.raises(ValueError, match="zero vector"):
        diversity.attractor_strength(embeddings=({"x": np.zeros((2, 2))}, {"x": U}))
    with pytest.raises(diversity.InvalidParameterError, match="needs both"):
        diversity.attractor_strength({"x": ["a", "b"]})


@pytest.mark.slow
def test_texts_through_the_default_embedder():
    pytest.importorskip("sentence_transformers")
    unperturbed = {"cat": ["The cat sat on the mat.", "A cat was sitting on the mat.", "The cat sat on a mat."]}
    perturbed = {"cat": ["The cat sat on the mat again.", "Quarterly revenue rose four percent in Brazil."]}
    r = diversity.attractor_strength(unperturbed, perturbed, threshold=0.3, perturbation="off-sentence")
    assert r.per_group == (0.5,)  # the paraphrase returns, the off-topic sentence does not
    assert r.signature.fields["emb"].startswith("sentence-transformers/all-MiniLM-L6-v2@")
    assert r.n_unperturbed == 3 and r.n_perturbed == 2


def test_continuation_cuts_are_checked():
    e = ({"x": U}, {"x": U[:1]})
    with pytest.raises(diversity.InvalidParameterError, match="continuation_tokens= cuts texts"):
        diversity.attractor_strength(embeddings=e, continuation_tokens=4)
    with pytest.raises(diversity.InvalidParameterError, match="'continuation_tokens' parameter"):
        diversity.attractor_strength({"x": ["a", "b"]}, {"x": ["c"]}, continuation_tokens=-1)
    with pytest.raises(diversity.InvalidParameterError, match="distinct cut points"):
        diversity.attractor_curve({"x": ["a", "b"]}, {"x": ["c"]}, tokens=(4, 4))


@pytest.mark.slow
def test_the_return_curve_cuts_the_continuation():
    pytest.importorskip("sentence_transformers")
    u = {"cat": ["The cat sat on the mat.", "A cat was sitting on the mat.", "The cat sat on a mat."]}
    # the first continuation starts on the mat and wanders off; the second never comes near
    p = {"cat": ["The cat sat on the mat while quarterly revenue rose four percent in Brazil and coffee exports "
                 "fell sharply.", "Quarterly revenue rose four percent in Brazil."]}
    curve = diversity.attractor_curve(u, p, tokens=(6, None), threshold=0.3, perturbation="prefix")
    assert list(curve) == [6, None]
    assert curve[6].per_group == (0.5,) and curve[None].per_group == (0.0,)
    assert curve[6].signature.fields["after"] == "6" and curve[None].signature.fields["after"] == "all"
    whole = diversity.attractor_strength(u, p, threshold=0.3, perturbation="prefix")
    assert whole.value == curve[None].value and whole.signature == curve[None].signature
    cut = diversity.attractor_strength(u, {"cat": ["The cat sat on the mat", "Quarterly revenue rose four percent "
                                                   "in"]}, threshold=0.3, perturbation="prefix")
    assert cut.nearest_similarity == pytest.approx(curve[6].nearest_similarity, abs=1e-12)


class BagOfWords:
    """A tiny real embedder built here: hashed word counts (deterministic, no model download)."""

    model_id, revision = "test-bag-of-words", "1"

    def encode(self, texts):
        import zlib

        out = np.zeros((len(texts), 64))
        for i, t in enumerate(texts):
            for w in t.lower().replace(".", " ").split():
                out[i, zlib.crc32(w.encode()) % 64] += 1.0
        return out + 1e-3  # never a zero row


PARAPHRASES = ["the cat sat on the warm mat by the door of the old house today",
               "the cat sat on the mat by the door of the old house this morning",
               "a cat sat on the warm mat near the door of the old house today",
               "the cat was sitting on the mat by the door of the house today"]


def test_the_curve_reads_r_against_a_baseline_of_the_same_length():
    # a perfect attractor: the perturbed continuations are the unperturbed completions themselves
    u, p = {"x": PARAPHRASES}, {"x": PARAPHRASES}
    curve = diversity.attractor_curve(u, p, tokens=(2, 4, 8, None), embedder=BagOfWords(), threshold=0.3)
    for n, r in curve.items():
        # each cut continuation has its own whole completion among the clusters, the held-out one does not
        assert r.value >= r.chance_rate, n
        assert r.nearest_similarity >= r.details["chance_similarity"] - 1e-12, n
    assert curve[2].chance_rate < curve[None].chance_rate  # the baseline itself depends on the length
    whole = diversity.attractor_strength(u, p, embedder=BagOfWords(), threshold=0.3)
    assert whole.chance_rate == curve[None].chance_rate and whole.value == curve[None].value


def test_blank_completions_are_left_out_and_counted():
    u = {"x": PARAPHRASES + [""], "y": PARAPHRASES}
    p = {"x": [PARAPHRASES[0], "", "   "], "y": ["", " "]}
    with pytest.warns(diversity.UndefinedMetricWarning, match=r"1 prompt\(s\) left out.*'y'"):
        r = diversity.attractor_strength(u, p, embedder=BagOfWords(), threshold=0.3)
    assert r.groups == ("x",) and r.n_unperturbed == 4 and r.n_perturbed == 1
    assert r.details["blank_unperturbed"] == 1 and r.details["blank_perturbed"] == 4
    assert r.details["left_out"] == ("y",)
    clean = diversity.attractor_strength({"x": PARAPHRASES}, {"x": PARAPHRASES[:1]}, embedder=BagOfWords(),
                                         threshold=0.3)
    assert r.value == clean.value and r.chance_rate == clean.chance_rate
    with pytest.raises(diversity.InvalidParameterError, match="int >= 1"):
        diversity.attractor_strength(u, p, embedder=BagOfWords(), continuation_tokens=0)


def test_threshold_calibrated_on_the_encoder():
    """threshold="auto": the quantile of the within-prompt cosine distances of the unperturbed completions."""
    from diversity.metrics.attractor import calibrate_threshold

    # U: angles 0, 5, 10, 90 -> 6 pair distances 1 - cos of 5, 10, 90, 5, 85, 80 degrees
    d = sorted(1 - math.cos(math.radians(a)) for a in (5, 10, 90, 5, 85, 80))
    cal = calibrate_threshold(embeddings=[{"x": U}])
    assert cal.value == pytest.approx(round(float(np.quantile(d, 0.25)), 4), abs=1e-12)
    assert (cal.quantile, cal.n_pairs, cal.n_sets, cal.label) == (0.25, 6, 1, "q0.25-6pairs")
    # pooled over two sides: one threshold for both models
    both = calibrate_threshold(embeddings=[{"x": U}, {"y": unit_angles(0, 60, 120)}], quantile=0.5)
    d2 = d + [1 - math.cos(math.radians(a)) for a in (60, 120, 60)]
    assert both.value == pytest.approx(round(float(np.quantile(d2, 0.5)), 4)) and both.n_pairs == 9
    P = unit_angles(3, 135, 92, 180)
    auto = diversity.attractor_strength(embeddings=({"x": U}, {"x": P}))
    given = diversity.attractor_strength(embeddings=({"x": U}, {"x": P}), threshold=cal)
    assert auto.value == given.value and auto.signature == given.signature
    assert auto.signature.fields["thr"] == f"{cal.value:g}" and auto.signature.fields["cal"] == "q0.25-6pairs"
    # at q = 0.25 (0.0067: between the 5- and 10-degree distances) 0 and 5 degrees merge, 10 and 90 stay alone;
    # 3 returns to {0, 5} (mean distance 0.0010), 92 to {90} (0.0006); 135 and 180 return nowhere
    assert cal.value == 0.0067 and auto.per_group == (0.5,)
    # leave-one-out: without 0, 5 and 10 merge and 0 is 0.0095 from them on average (out); 5 joins {0} or {10}
    # (0.0038); without 10, 0 and 5 merge and 10 is 0.0095 away (out); 90 joins nothing -> 1/4
    assert auto.chance_rate == 0.25
    with pytest.raises(diversity.InvalidParameterError, match="'quantile' parameter must be in \\(0, 1\\)"):
        calibrate_threshold(embeddings=[{"x": U}], quantile=1.0)
    with pytest.raises(diversity.InvalidParameterError, match="not both and not neither"):
        calibrate_threshold()
    with pytest.raises(ValueError, match="no prompt has 2 non-blank completions"):
        calibrate_threshold({"x": ["only one", " "]}, embedder=BagOfWords())
    with pytest.raises(diversity.InvalidParameterError, match="'threshold' parameter must be in \\(0, 2\\], 'auto'"):
        diversity.attractor_strength(embeddings=({"x": U}, {"x": P}), threshold="calibrated")
