"""Branching factor (arXiv 2506.17871): hand-computed values on constructed
log-probabilities, the position profile, min_samples, horizon, full logits,
order invariance and bad input."""

import math
import random

import numpy as np
import pytest

import diversity

L = math.log
COIN = [L(0.5), L(0.5)]  # two equal candidates: ln 2 nats
SURE = [0.0, -1e9]  # one certain candidate: 0 nats
FOUR = [L(0.25)] * 4  # four equal candidates: ln 4 nats


def test_hand_computed_single_prompt():
    # every generation: a coin then a certain token -> BF = exp((ln 2 + 0) / 2) = sqrt 2
    r = diversity.branching_factor([[COIN, SURE]] * 4, top_k=2)
    assert r.value == pytest.approx(math.sqrt(2), rel=1e-12)
    assert r.details["profile"] == [pytest.approx(2.0), pytest.approx(1.0)]
    assert r.details["profile_prompts"] == [1, 1]
    assert r.signature.startswith("branching-factor?top_k=2|cand:top2-renorm|unit:nats|est:chain-rule|min:4|"
                                  "horizon:all|")


def test_positions_are_averaged_over_the_generations_that_reach_them():
    # 4 generations; position 1: entropies ln4, ln4, ln2, 0 -> mean (2 ln4 + ln2) / 4 = 5 ln2 / 4
    # position 2 reached by the first two only (n_2 = 2 < min_samples = 4) -> left out with the default
    gens = [[FOUR, FOUR], [FOUR, FOUR], [COIN + [-1e9, -1e9]], [SURE + [-1e9, -1e9]]]
    h1 = (2 * L(4) + L(2) + 0.0) / 4
    assert diversity.branching_factor(gens, top_k=4).value == pytest.approx(math.exp(h1), rel=1e-12)
    # with min_samples=2 position 2 counts: h_2 = ln 4, BF = exp((h1 + ln 4) / 2)
    r = diversity.branching_factor(gens, top_k=4, min_samples=2)
    assert r.value == pytest.approx(math.exp((h1 + L(4)) / 2), rel=1e-12)
    assert r.details["profile"] == [pytest.approx(math.exp(h1)), pytest.approx(4.0)]
    # horizon=1 keeps the first position only
    assert diversity.branching_factor(gens, top_k=4, min_samples=2, horizon=1).value == pytest.approx(math.exp(h1))


def test_bounds_and_full_logits():
    uniform = [[[0.0] * 5] * 3] * 4
    assert diversity.branching_factor(uniform).value == pytest.approx(5.0)  # the ceiling: top_k
    certain = [[[0.0] + [-1e9] * 4] * 3] * 4
    assert diversity.branching_factor(certain).value == pytest.approx(1.0)  # the floor
    logits = np.log(np.array([[0.5, 0.25, 0.25], [1.0, 1e-300, 1e-300]]))
    h = -(0.5 * L(0.5) + 2 * 0.25 * L(0.25))  # 1.5 bits in nats
    r = diversity.branching_factor(logits=[logits] * 4)
    assert r.value == pytest.approx(math.exp(h / 2), rel=1e-12)
    assert "|cand:full|" in r.signature


def test_prompts_average_in_bf_space_and_profile_support():
    data = {"a": [[COIN, SURE]] * 4, "b": [[COIN]] * 5 + [[COIN, COIN]]}
    r = diversity.branching_factor(data, top_k=2)
    assert r.per_group == (pytest.approx(math.sqrt(2)), pytest.approx(2.0))
    assert r.value == pytest.approx((math.sqrt(2) + 2.0) / 2)
    assert r.details["profile"] == [pytest.approx(2.0), pytest.approx(1.0)]  # position 2: prompt a only
    assert r.details["profile_prompts"] == [2, 1]


def test_order_of_prompts_and_generations_does_not_matter():
    rnd = random.Random(7)

    def gen():
        return [[rnd.uniform(-6, 0) for _ in range(5)] for _ in range(rnd.randint(1, 6))]

    data = {f"p{i}": [gen() for _ in range(rnd.randint(4, 7))] for i in range(5)}
    shuffled = {k: rnd.sample(v, len(v)) for k, v in reversed(list(data.items()))}
    a, b = diversity.branching_factor(data), diversity.branching_factor(shuffled)
    assert a.value == pytest.approx(b.value, rel=1e-12) and a.signature == b.signature
    assert a.details["profile"] == pytest.approx(b.details["profile"], rel=1e-12)
    # the per-token entropy it exponentiates is at most the top-5 ceiling
    assert 1.0 <= a.value <= 5.0


def test_too_few_generations_and_bad_input():
    with pytest.warns(diversity.UndefinedMetricWarning, match="fewer than min_samples"):
        assert math.isnan(diversity.branching_factor([[COIN]] * 3, top_k=2).value)
    with pytest.raises(ValueError, match="fewer than top_k=5"):
        diversity.branching_factor([[COIN]] * 4)
    with pytest.raises(ValueError, match="exactly one of logprobs= or logits="):
        diversity.branching_factor()
    with pytest.raises(diversity.InvalidParameterError, match="'min_samples' parameter"):
        diversity.branching_factor([[COIN]] * 4, top_k=2, min_samples=0)
    with pytest.raises(diversity.InvalidParameterError, match="'horizon' parameter"):
        diversity.branching_factor([[COIN]] * 4, top_k=2, horizon=0)


def test_spec_round_trip_and_score():
    m = diversity.core.registry.from_spec("branching-factor?top_k=2&min_samples=1&horizon=8")
    assert m.spec == "branching-factor?top_k=2&min_samples=1&horizon=8"
    r = diversity.score(logprobs=[[COIN, SURE]], metrics=[m.spec])[m.spec]
    assert r.value == pytest.approx(math.sqrt(2))


def test_matches_the_authors_estimator_written_out():
    """The chain-rule BF of the authors' code (LLMBranchingFactor, ``entropy_only``: per-position
    mean over the samples that reach the position, positions with 3 or fewer samples dropped,
    cumulative mean over positions, exp), written out with scipy's entropy as the reference."""
    from scipy.stats import entropy
    from scipy.special import softmax

    rng = np.random.default_rng(11)
    data = {f"p{i}": [rng.normal(scale=2.0, size=(int(rng.integers(1, 9)), 7)) for _ in range(int(rng.integers(4, 9)))]
            for i in range(5)}
    ref = []
    for gens in data.values():
        h = [[entropy(softmax(row)) for row in g] for g in gens]  # nats
        means = []
        for t in range(max(map(len, h))):
            at = [x[t] for x in h if len(x) >= t + 1]
            if len(at) <= 3:
                break
            means.append(np.mean(at))
        ref.append(math.exp(np.cumsum(means)[-1] / len(means)))
    r = diversity.branching_factor(logits=data)
    assert r.per_group == pytest.approx(tuple(ref), rel=1e-12)
    assert r.value == pytest.approx(np.mean(ref), rel=1e-12)
