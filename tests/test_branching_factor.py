"""Branching factor (arXiv 2506.17871): the published estimator (full
distribution, 95th-percentile length cut, NLL past 50 positions, cumulative
curve) pinned to the authors' code re-implemented here, hand-computed values,
-inf logits, and the top-k renormalised form kept as topk_branching_factor
(hand values, profile, min_samples, horizon, order invariance, bad input)."""

import math
import random

import numpy as np
import pytest

import diversity
from diversity.metrics.model_based import topk_branching_factor

L = math.log
COIN = [L(0.5), L(0.5)]  # two equal candidates: ln 2 nats
SURE = [0.0, -1e9]  # one certain candidate: 0 nats
FOUR = [L(0.25)] * 4  # four equal candidates: ln 4 nats


def test_hand_computed_single_prompt():
    # every generation: a coin then a certain token -> BF = exp((ln 2 + 0) / 2) = sqrt 2
    r = topk_branching_factor([[COIN, SURE]] * 4, top_k=2)
    assert r.value == pytest.approx(math.sqrt(2), rel=1e-12)
    assert r.details["profile"] == [pytest.approx(2.0), pytest.approx(1.0)]
    assert r.details["profile_prompts"] == [1, 1]
    assert r.signature.startswith("branching-factor-topk?top_k=2|cand:top2-renorm|unit:nats|est:chain-rule|min:4|"
                                  "horizon:all|")


def test_positions_are_averaged_over_the_generations_that_reach_them():
    # 4 generations; position 1: entropies ln4, ln4, ln2, 0 -> mean (2 ln4 + ln2) / 4 = 5 ln2 / 4
    # position 2 reached by the first two only (n_2 = 2 < min_samples = 4) -> left out with the default
    gens = [[FOUR, FOUR], [FOUR, FOUR], [COIN + [-1e9, -1e9]], [SURE + [-1e9, -1e9]]]
    h1 = (2 * L(4) + L(2) + 0.0) / 4
    assert topk_branching_factor(gens, top_k=4).value == pytest.approx(math.exp(h1), rel=1e-12)
    # with min_samples=2 position 2 counts: h_2 = ln 4, BF = exp((h1 + ln 4) / 2)
    r = topk_branching_factor(gens, top_k=4, min_samples=2)
    assert r.value == pytest.approx(math.exp((h1 + L(4)) / 2), rel=1e-12)
    assert r.details["profile"] == [pytest.approx(math.exp(h1)), pytest.approx(4.0)]
    # horizon=1 keeps the first position only
    assert topk_branching_factor(gens, top_k=4, min_samples=2, horizon=1).value == pytest.approx(math.exp(h1))


def test_bounds_and_full_logits():
    uniform = [[[0.0] * 5] * 3] * 4
    assert topk_branching_factor(uniform).value == pytest.approx(5.0)  # the ceiling: top_k
    certain = [[[0.0] + [-1e9] * 4] * 3] * 4
    assert topk_branching_factor(certain).value == pytest.approx(1.0)  # the floor
    logits = np.log(np.array([[0.5, 0.25, 0.25], [1.0, 1e-300, 1e-300]]))
    h = -(0.5 * L(0.5) + 2 * 0.25 * L(0.25))  # 1.5 bits in nats
    r = diversity.branching_factor(logits=[logits] * 4, quantile=None)
    assert r.value == pytest.approx(math.exp(h / 2), rel=1e-12)
    assert "|cand:full|" in r.signature


def test_prompts_average_in_bf_space_and_profile_support():
    data = {"a": [[COIN, SURE]] * 4, "b": [[COIN]] * 5 + [[COIN, COIN]]}
    r = topk_branching_factor(data, top_k=2)
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
    a, b = topk_branching_factor(data), topk_branching_factor(shuffled)
    assert a.value == pytest.approx(b.value, rel=1e-12) and a.signature == b.signature
    assert a.details["profile"] == pytest.approx(b.details["profile"], rel=1e-12)
    # the per-token entropy it exponentiates is at most the top-5 ceiling
    assert 1.0 <= a.value <= 5.0


def test_too_few_generations_and_bad_input():
    with pytest.warns(diversity.UndefinedMetricWarning, match="fewer than min_samples"):
        assert math.isnan(topk_branching_factor([[COIN]] * 3, top_k=2).value)
    with pytest.raises(ValueError, match="fewer than top_k=5"):
        topk_branching_factor([[COIN]] * 4)
    with pytest.raises(diversity.InvalidParameterError, match="'min_samples' parameter"):
        topk_branching_factor([[COIN]] * 4, top_k=2, min_samples=0)
    with pytest.raises(diversity.InvalidParameterError, match="'horizon' parameter"):
        topk_branching_factor([[COIN]] * 4, top_k=2, horizon=0)


def test_spec_round_trip_and_score():
    m = diversity.core.registry.from_spec("branching-factor-topk?top_k=2&min_samples=1&horizon=8")
    assert m.spec == "branching-factor-topk?top_k=2&min_samples=1&horizon=8"
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
    r = diversity.branching_factor(logits=data, quantile=None)
    assert r.per_group == pytest.approx(tuple(ref), rel=1e-12)
    assert r.value == pytest.approx(np.mean(ref), rel=1e-12)


# ---- the published estimator ----------------------------------------------------------------------


def _authors_condense(arrays, q=0.95, prefix_mode=False, divide_by_length=False):
    """``condense_arrays_with_inconsistent_lengths`` of LLMBranchingFactor (uncertainty_quantification/
    common_utils.py), rewritten from its description: positions up to int(quantile q of the lengths), the mean
    over the arrays that reach each position (of the prefix sums with ``prefix_mode``, divided by the position
    with ``divide_by_length``), stopping at the first position reached by 3 or fewer arrays."""
    cut = int(np.quantile([len(a) for a in arrays], q))
    sums = [np.cumsum(a) for a in arrays]
    out = []
    for i in range(cut):
        at = np.array([(s[i] if prefix_mode else a[i]) for a, s in zip(arrays, sums) if len(a) >= i + 1])
        if divide_by_length:
            at = at / (i + 1)
        if len(at) <= 3:
            break
        out.append(at.mean())
    return out


def _authors_bf(entropies, logliks, limit=50):
    """``compute_bf_values`` and ``compute_bf_curve_from_profile`` of the same code: per prompt the cumulative
    entropy divided by the number of positions, or past ``limit`` positions minus the mean per-token loglik of
    the prefix; exp; the curve is the mean over prompts of exp at each position."""
    ent = [np.cumsum(_authors_condense(e)) for e in entropies]
    ll = [np.array(_authors_condense(x, prefix_mode=True, divide_by_length=True)) for x in logliks]
    per_prompt = [math.exp(-l[-1]) if len(e) > limit else math.exp(e[-1] / len(e)) for e, l in zip(ent, ll)]
    curve = []
    for pos in range(max(len(e) for e in ent)):
        at = [math.exp(e[pos] / (pos + 1)) if pos + 1 <= limit else math.exp(-l[pos])
              for e, l in zip(ent, ll) if len(e) > pos]
        curve.append(float(np.mean(at)))
    return per_prompt, curve


def _authors_entropy(logits_row, tolerance=1e-12):
    """The entropy of ``get_tokenwise_entropy_from_vllm_outputs`` at top_p = 1: candidates with probability
    below their tolerance dropped, the rest renormalised (softmax), -sum p ln p."""
    logp = logits_row - np.logaddexp.reduce(logits_row)
    keep = logp[np.exp(logp) >= tolerance]
    p = np.exp(keep - np.logaddexp.reduce(keep))
    return float(-(p * np.log(p)).sum())


def _synthetic(seed=3, n_prompts=4, vocab=60):
    """Per prompt 6-10 sampled generations of 20-90 positions over a vocabulary of ``vocab``: logits, the
    sampled tokens' log-probabilities, and the authors' entropies."""
    rng = np.random.default_rng(seed)
    logits, toklp, ent = {}, {}, {}
    for i in range(n_prompts):
        key = f"p{i}"
        logits[key], toklp[key], ent[key] = [], [], []
        for _ in range(int(rng.integers(6, 11))):
            n = int(rng.integers(20, 91))
            z = rng.normal(scale=1.5, size=(n, vocab))
            logp = z - np.logaddexp.reduce(z, axis=1, keepdims=True)
            tok = [int(rng.choice(vocab, p=np.exp(r))) for r in logp]
            logits[key].append(z)
            toklp[key].append([float(logp[t, k]) for t, k in enumerate(tok)])
            ent[key].append([_authors_entropy(r) for r in z])
    return logits, toklp, ent


def test_equals_the_authors_code_with_their_defaults():
    """Their defaults: 95th-percentile cut, positions with more than 3 samples, NLL past 50 positions; the
    full distribution. Lengths 20-90 put some prompts past the switch and some before it."""
    logits, toklp, ent = _synthetic()
    ref, ref_curve = _authors_bf(list(ent.values()), list(toklp.values()))
    assert any(v > 0 for v in ref)
    r = diversity.branching_factor(entropies=ent, token_logprobs=toklp)
    assert r.per_group == pytest.approx(tuple(ref), rel=1e-9)
    assert r.value == pytest.approx(np.mean(ref), rel=1e-9)
    assert r.details["cumulative"] == pytest.approx(ref_curve, rel=1e-9)
    assert r.details["prompts_from_nll"] == sum(
        len(_authors_condense(e)) > 50 for e in ent.values()) > 0
    assert "|cand:full|unit:nats|est:entropy-then-nll>50|cut:q0.95|min:4|horizon:all|" in r.signature
    # the same from the logits (our entropy keeps the < 1e-12 candidates they drop: equal to 1e-9 here)
    r2 = diversity.branching_factor(logits=logits, token_logprobs=toklp)
    assert r2.per_group == pytest.approx(tuple(ref), rel=1e-9) and r2.signature == r.signature
    # their published values are several times the top-5 renormalised form of the same distributions
    top5 = topk_branching_factor({k: [np.sort(z, axis=1)[:, ::-1][:, :5] for z in v] for k, v in logits.items()})
    assert top5.value <= 5.0 < 2 * top5.value < r.value


def test_hand_computed_cut_switch_and_curve():
    # 4 generations of lengths 4, 4, 4, 2: the 95th percentile of the lengths is 4 -> all 4 positions with
    # quantile None or 0.95; quantile 0.5 -> int(4.0) = 4 too; quantile 0.1 -> int(2.6) = 2
    h = [[L(4), L(2), 0.0, L(2)]] * 3 + [[L(4), L(4)]]
    lp = [[L(0.25), L(0.5), 0.0, L(0.5)]] * 3 + [[L(0.25), L(0.25)]]
    r = diversity.branching_factor(entropies=h, token_logprobs=lp, min_samples=3)
    # positions 1-2 reached by 4, positions 3-4 by 3: h̄ = ln4, (3 ln2 + ln4)/4 = 5/4 ln2, 0, ln2
    hbar = [L(4), 1.25 * L(2), 0.0, L(2)]
    c = np.cumsum(hbar) / np.arange(1, 5)
    assert r.value == pytest.approx(math.exp(c[-1]), rel=1e-12)
    assert r.details["profile"] == pytest.approx(np.exp(hbar).tolist(), rel=1e-12)
    assert r.details["cumulative"] == pytest.approx(np.exp(c).tolist(), rel=1e-12)
    assert diversity.branching_factor(entropies=h, min_samples=3, quantile=0.1).value == pytest.approx(
        math.exp((L(4) + 1.25 * L(2)) / 2), rel=1e-12)
    # NLL after 2 positions: c_3 and c_4 are the mean over the generations reaching t of their mean NLL of 1..t
    r = diversity.branching_factor(entropies=h, token_logprobs=lp, min_samples=3, nll_after=2)
    nll4 = -(L(0.25) + L(0.5) + 0.0 + L(0.5)) / 4  # the three generations of length 4 agree
    assert r.value == pytest.approx(math.exp(nll4), rel=1e-12)
    assert r.details["cumulative"][:2] == pytest.approx(np.exp(c[:2]).tolist(), rel=1e-12)
    assert r.details["cumulative"][2] == pytest.approx(math.exp(-(L(0.25) + L(0.5) + 0.0) / 3), rel=1e-12)
    assert r.details["prompts_from_nll"] == 1 and "|est:entropy-then-nll>2|" in r.signature
    # without the sampled tokens' log-probabilities the entropy is used at every length, and the signature says so
    r = diversity.branching_factor(entropies=h, min_samples=3, nll_after=2)
    assert r.value == pytest.approx(math.exp(c[-1]), rel=1e-12) and "|est:entropy|" in r.signature


def test_minus_infinity_logits_are_filtered_tokens_not_nan():
    # Hugging Face's processed scores after top-p: filtered tokens are -inf; 2 equal survivors -> ln 2
    row = np.array([1.0, 1.0, -np.inf, -np.inf])
    r = diversity.branching_factor(logits=[[row, row]] * 4)
    assert r.value == pytest.approx(2.0, rel=1e-12)
    assert diversity.token_entropy(logits=[[row]]).value == pytest.approx(1.0, rel=1e-12)
    assert diversity.branching_factor([[row[:2].tolist() + [-np.inf] * 3]] * 4).value == pytest.approx(2.0)
    with pytest.raises(ValueError, match="every logit -inf"):
        diversity.branching_factor(logits=[[np.full(3, -np.inf)]] * 4)


def test_top_k_input_says_what_it_is():
    r = diversity.branching_factor([[FOUR + [-1e9]] * 3] * 4)
    assert r.value == pytest.approx(4.0) and "|cand:top5-renorm|" in r.signature
    assert "not the full next-token distribution" in r.details["distribution"]
    assert diversity.branching_factor(entropies=[[L(4)] * 3] * 4).details["distribution"] == \
        "full next-token distribution"


def test_published_estimator_bad_input():
    h = [[L(2), 0.0]] * 4
    with pytest.raises(diversity.InvalidParameterError, match="exactly one of logprobs=, logits= or entropies="):
        diversity.branching_factor()
    with pytest.raises(diversity.InvalidParameterError, match="exactly one of"):
        diversity.branching_factor([[COIN]] * 4, entropies=h)
    with pytest.raises(diversity.InvalidParameterError, match="token_logprobs= goes with entropies= or logits="):
        diversity.branching_factor([[COIN]] * 4, token_logprobs=h, top_k=2)
    with pytest.raises(ValueError, match=r"token_logprobs\[0\] must have one log-probability per generated"):
        diversity.branching_factor(entropies=h, token_logprobs=[[-0.1]] * 4)
    with pytest.raises(ValueError, match=r"token_logprobs\[0\]\[0\] must hold finite log-probabilities <= 0"):
        diversity.branching_factor(entropies=h, token_logprobs=[[0.5, -0.1]] * 4)
    with pytest.raises(ValueError, match=r"entropies\[0\]\[0\] must hold finite entropies >= 0"):
        diversity.branching_factor(entropies=[[-1.0, 0.0]] * 4)
    with pytest.raises(diversity.InvalidParameterError, match="'quantile' parameter"):
        diversity.branching_factor(entropies=h, quantile=0.0)
    with pytest.raises(diversity.InvalidParameterError, match="'nll_after' parameter"):
        diversity.branching_factor(entropies=h, nll_after=0)
    with pytest.raises(diversity.InvalidParameterError, match="'top_k' parameter of branching_factor applies"):
        diversity.core.registry.from_spec("branching-factor?top_k=3&source=entropy")
    with pytest.warns(diversity.UndefinedMetricWarning, match="fewer than min_samples"):
        assert math.isnan(diversity.branching_factor(entropies=[[L(2)]] * 3).value)
