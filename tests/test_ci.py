import numpy as np
import pytest
from scipy import stats

import diversity

rng = np.random.default_rng(1)
WORDS = "the a cat dog sat ran on under mat log big small red blue".split()
SAMPLES = {f"p{i}": [" ".join(rng.choice(WORDS, size=rng.integers(3, 9))) for _ in range(6)] for i in range(12)}


def test_ci_is_seeded_and_deterministic():
    a = diversity.distinct_n(SAMPLES, n=2)
    b = diversity.distinct_n(SAMPLES, n=2)
    c = diversity.distinct_n(SAMPLES, n=2, seed=1)
    assert a.ci == b.ci
    assert a.ci != c.ci
    assert "seed:0" in a.signature and "seed:1" in c.signature


def test_ci_resamples_prompts_not_completions():
    r = diversity.distinct_n(SAMPLES, n=2, n_resamples=2000)
    # prompts are resampled in a canonical order of their keys, so that listing order never matters
    by_key = dict(zip(r.groups, r.per_group))
    ref = stats.bootstrap((np.array([by_key[k] for k in sorted(by_key)]),), np.mean, n_resamples=2000, method="percentile",
                          confidence_level=0.95, rng=np.random.default_rng(0))
    assert r.ci.low == pytest.approx(ref.confidence_interval.low)
    assert r.ci.high == pytest.approx(ref.confidence_interval.high)
    assert r.ci.method == "bootstrap-prompts-percentile"


def test_ci_options():
    r = diversity.distinct_n(SAMPLES, n=2, ci_level=0.9, ci_method="BCa", n_resamples=500)
    assert r.ci.level == 0.9 and "ci:0.9-BCa-500" in r.signature
    wide = diversity.distinct_n(SAMPLES, n=2, ci_level=0.99)
    assert wide.ci.high - wide.ci.low > r.ci.high - r.ci.low


def test_ci_refused_for_single_and_pooled_sets():
    with pytest.raises(ValueError, match="no confidence interval for a single set"):
        diversity.distinct_n(["a b", "c d"], ci=True)
    with pytest.raises(ValueError, match="no confidence interval for a pooled set"):
        diversity.distinct_n(SAMPLES, aggregate="pooled", ci=True)
    assert diversity.distinct_n(SAMPLES, aggregate="pooled").ci is None


def test_ci_needs_two_prompts():
    with pytest.raises(ValueError, match="needs at least 2 prompts"):
        diversity.distinct_n({"only": ["a b", "c d"]}, ci=True)
    assert diversity.distinct_n({"only": ["a b", "c d"]}).ci is None


def test_constant_values_give_degenerate_ci():
    r = diversity.unique_fraction({"a": ["x", "y"], "b": ["z", "w"]})
    assert (r.ci.low, r.ci.high) == (1.0, 1.0)
