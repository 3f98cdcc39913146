"""Semantic metrics on precomputed embeddings: closed forms against brute
force, the Vendi score against published values and direct eigen-decomposition,
and bad input."""

import math

import numpy as np
import pytest

import diversity
from diversity import UndefinedMetricWarning
from diversity.metrics.semantic import vendi_from_eigenvalues

rng = np.random.default_rng(0)


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_cosine_distances(x):
    u = unit(x)
    return 1.0 - u @ u.T


@pytest.mark.parametrize("k,d", [(2, 3), (7, 5), (50, 384), (500, 16)])
def test_mean_pairwise_distance_closed_form_equals_brute_force(k, d):
    x = rng.normal(size=(k, d))
    D = brute_cosine_distances(x)
    brute = D[~np.eye(k, dtype=bool)].mean()
    assert diversity.mean_pairwise_distance(embeddings=x).value == pytest.approx(brute, abs=1e-9)
    # euclidean, blocked
    E = np.linalg.norm(x[:, None] - x[None], axis=2)
    assert diversity.mean_pairwise_distance(embeddings=x, metric="euclidean").value == \
        pytest.approx(E[~np.eye(k, dtype=bool)].mean(), rel=1e-9)


def test_remote_clique_excludes_the_diagonal():
    x = rng.normal(size=(5, 8))
    D = brute_cosine_distances(x)
    ours = diversity.remote_clique(embeddings=x).value
    per_point = [np.delete(D[i], i).mean() for i in range(5)]
    assert ours == pytest.approx(np.mean(per_point), abs=1e-12)
    assert ours == pytest.approx(diversity.mean_pairwise_distance(embeddings=x).value, abs=1e-12)
    # the `diversity` package averages rows over all k entries (self-distance 0 included)
    package_value = D.mean(axis=1).mean()
    assert package_value == pytest.approx(ours * 4 / 5, abs=1e-12)


def test_chamfer_excludes_the_point_itself():
    x = rng.normal(size=(30, 6))
    D = brute_cosine_distances(x)
    np.fill_diagonal(D, np.inf)
    assert diversity.chamfer(embeddings=x).value == pytest.approx(D.min(axis=1).mean(), abs=1e-9)
    E = np.linalg.norm(x[:, None] - x[None], axis=2)
    np.fill_diagonal(E, np.inf)
    assert diversity.chamfer(embeddings=x, metric="euclidean").value == pytest.approx(E.min(axis=1).mean(), rel=1e-9)


def test_centroid_distance():
    x = rng.normal(size=(20, 5))
    u = unit(x)
    c = u.mean(axis=0)
    brute = np.mean(1 - u @ c / np.linalg.norm(c))
    assert diversity.centroid_distance(embeddings=x).value == pytest.approx(brute, abs=1e-12)
    e = np.linalg.norm(x - x.mean(axis=0), axis=1).mean()
    assert diversity.centroid_distance(embeddings=x, metric="euclidean").value == pytest.approx(e)
    with pytest.warns(UndefinedMetricWarning, match="no direction"):
        assert math.isnan(diversity.centroid_distance(embeddings=np.array([[1.0, 0], [-1.0, 0]])).value)


# ---- Vendi -------------------------------------------------------------------

K3 = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])


def direct_vendi(K, q):
    lam = np.linalg.eigvalsh(K / len(K))
    lam = lam[lam > 1e-12]
    if q == 1:
        return float(np.exp(-(lam * np.log(lam)).sum()))
    if math.isinf(q):
        return float(1 / lam.max())
    return float((lam**q).sum() ** (1 / (1 - q)))


def test_vendi_published_value():
    # Friedman & Dieng (2023), the 3x3 example of the vendi-score README
    assert diversity.vendi_score(kernel=K3).value == pytest.approx(2.1573004833739833, abs=1e-12)


def test_vendi_extremes():
    assert diversity.vendi_score(kernel=np.eye(4)).value == pytest.approx(4.0)
    assert diversity.vendi_score(kernel=np.ones((4, 4))).value == pytest.approx(1.0)
    assert diversity.vendi_score(embeddings=np.eye(6)).value == pytest.approx(6.0)
    assert diversity.vendi_score(embeddings=np.ones((6, 3))).value == pytest.approx(1.0)


@pytest.mark.parametrize("q", [0.5, 1.0, 2.0, math.inf, "inf"])
def test_vendi_orders_against_direct_eigendecomposition(q):
    qq = math.inf if q == "inf" else q
    assert diversity.vendi_score(kernel=K3, q=q).value == pytest.approx(direct_vendi(K3, qq), rel=1e-10)
    x = rng.normal(size=(40, 8))  # N > d: computed from the d x d matrix
    K = unit(x) @ unit(x).T
    assert diversity.vendi_score(embeddings=x, q=q).value == pytest.approx(direct_vendi(K, qq), rel=1e-8)
    y = rng.normal(size=(6, 50))  # N < d
    K = unit(y) @ unit(y).T
    assert diversity.vendi_score(embeddings=y, q=q).value == pytest.approx(direct_vendi(K, qq), rel=1e-8)


def test_vendi_signature_and_order_validation():
    r = diversity.vendi_score(kernel=K3, q=2)
    assert r.signature == f"vendi?q=2|q:2|kernel:given|agg:none|k:3|v:{diversity.__version__}"
    assert "|q:1|sim:cosine|emb:precomputed|" in diversity.vendi_score(embeddings=np.eye(3)).signature
    with pytest.raises(ValueError, match=r"'q' parameter of vendi_score must be a float in the range \(0.0, inf\]"):
        diversity.vendi_score(kernel=K3, q=0)
    assert vendi_from_eigenvalues(np.array([0.5, 0.5, -1e-18]), 1.0) == pytest.approx(2.0)


@pytest.mark.parametrize("K,match", [
    (np.ones((2, 3)), "must be a square kernel matrix"),
    (np.array([[1.0, 0.2], [0.3, 1.0]]), "is not symmetric"),
    (np.array([[2.0, 0.0], [0.0, 2.0]]), "unit diagonal"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "is not symmetric|NaN"),
])
def test_bad_kernels(K, match):
    with pytest.raises(ValueError, match=match):
        diversity.vendi_score(kernel=K)


# ---- clusters ----------------------------------------------------------------

def test_semantic_clusters_counts_classes_not_max_label():
    x = np.array([[1.0, 0.0, 0], [0.99, 0.05, 0], [0, 1.0, 0], [0, 0.98, 0.1], [0, 0, 1.0]])
    r = diversity.semantic_clusters(embeddings=x)
    assert r.value == 3.0
    assert r.details["cluster_sizes"] == ((2, 2, 1),)
    assert diversity.semantic_entropy(embeddings=x).value == pytest.approx(
        -(2 * 0.4 * math.log2(0.4) + 0.2 * math.log2(0.2)))
    assert diversity.semantic_clusters(embeddings=x[:1]).value == 1.0
    assert diversity.semantic_clusters(embeddings=x, threshold=1.5).value == 1.0
    assert "|thr:0.25|link:average|dist:cosine|" in r.signature


# ---- grouping, bad input -----------------------------------------------------

def test_grouped_embeddings_per_prompt_and_pooled():
    groups = {"a": rng.normal(size=(5, 4)), "b": rng.normal(size=(7, 4))}
    r = diversity.mean_pairwise_distance(embeddings=groups)
    alone = [diversity.mean_pairwise_distance(embeddings=v).value for v in groups.values()]
    np.testing.assert_allclose(r.per_group, alone)
    assert r.groups == ("a", "b") and r.ci is not None
    pooled = diversity.mean_pairwise_distance(embeddings=groups, aggregate="pooled")
    assert pooled.value == pytest.approx(
        diversity.mean_pairwise_distance(embeddings=np.vstack(list(groups.values()))).value)


@pytest.mark.parametrize("emb,exc,match", [
    (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, r"embeddings: row 0 contains NaN or infinity"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), ValueError, "NaN or infinity"),
    (np.array([1.0, 2.0]), ValueError, "must be a 2-D array"),
    (np.zeros((0, 3)), ValueError, "is empty"),
    ({"a": np.ones((2, 3)), "b": np.ones((2, 4))}, ValueError, r"embeddings\['b'\] has dimension 4 but earlier"),
    (np.array([[0.0, 0.0], [1.0, 0.0]]), ValueError, "embedding 0 of prompt 0 is a zero vector"),
    ([["a", "b"]], TypeError, "numeric 2-D array"),
])
def test_bad_embeddings(emb, exc, match):
    with pytest.raises(exc, match=match):
        diversity.mean_pairwise_distance(embeddings=emb)


def test_single_completion_is_undefined_for_pairs():
    with pytest.warns(UndefinedMetricWarning, match="at least 2 completions"):
        assert math.isnan(diversity.mean_pairwise_distance(embeddings=np.ones((1, 3))).value)
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(diversity.chamfer(embeddings=np.ones((1, 3))).value)
    assert diversity.vendi_score(embeddings=np.ones((1, 3))).value == 1.0


def test_samples_and_embeddings_must_match():
    with pytest.raises(ValueError, match="samples and embeddings do not match"):
        diversity.mean_pairwise_distance(["a", "b", "c"], embeddings=np.eye(2))
    with pytest.raises(ValueError, match="pass samples"):
        diversity.mean_pairwise_distance()
    with pytest.raises(ValueError, match="distinct-1 is computed from the texts"):
        diversity.score(None, ["distinct-1"], embeddings=np.eye(3))
    with pytest.raises(ValueError, match="mean-pairwise-distance cannot be computed from a kernel"):
        diversity.score(None, ["mean-pairwise-distance"], kernel=np.eye(2))


def test_score_mixes_lexical_and_semantic_with_given_embeddings():
    texts = ["the cat sat", "the cat ran", "a dog barked"]
    res = diversity.score(texts, ["distinct-1", "vendi", "mean-pairwise-distance"], embeddings=np.eye(3))
    assert res["vendi"].value == pytest.approx(3.0) and res["mean-pairwise-distance"].value == pytest.approx(1.0)
    assert res["distinct-1"].value == pytest.approx(7 / 9)


# ---- the vendi-score package: where it agrees and where it is wrong -----------

@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # its own log(0) in q=inf
def test_vendi_score_package_differences():
    vendi = pytest.importorskip("vendi_score.vendi")
    x = rng.normal(size=(50, 8))
    # agreement on the default order
    assert vendi.score_K(K3) == pytest.approx(diversity.vendi_score(kernel=K3).value, rel=1e-12)
    assert vendi.score_X(x) == pytest.approx(diversity.vendi_score(embeddings=x).value, rel=1e-9)
    # score_X ignores q: its q=2 value is the q=1 value; ours is the order-2 score (its score_dual agrees)
    ours_q2 = diversity.vendi_score(embeddings=x, q=2).value
    assert vendi.score_X(x, q=2) == vendi.score_X(x, q=1) != pytest.approx(ours_q2)
    assert vendi.score_dual(x, q=2) == pytest.approx(ours_q2, rel=1e-9)
    # q = infinity given as a float is NaN there; ours is 1 / max eigenvalue (its string "inf" path)
    with np.errstate(all="ignore"):
        assert math.isnan(vendi.score_K(K3, q=math.inf))
    assert diversity.vendi_score(kernel=K3, q=math.inf).value == pytest.approx(vendi.score_K(K3, q="inf"))
    # its intdiv_X calls intdiv with the wrong arguments
    with pytest.raises(TypeError):
        vendi.intdiv_X(x)
