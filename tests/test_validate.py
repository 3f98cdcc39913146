import math

import numpy as np
import pytest

import diversity
from diversity.core.data import as_groups


def test_single_set_and_groups_shapes():
    g = as_groups(["a", "b"])
    assert not g.grouped and g.sets == (("a", "b"),)
    g = as_groups({"p": ["a"], "q": ("b", "c")})
    assert g.grouped and g.keys == ("p", "q") and g.sizes == (1, 2)
    g = as_groups([["a"], ["b", "c"]])
    assert g.grouped and g.keys == (0, 1)
    g = as_groups(np.array(["x", "y"]))
    assert g.sets == (("x", "y"),)


def test_empty_strings_are_completions():
    r = diversity.distinct_n(["", "a b", ""], n=1)
    assert r.value == 1.0 and r.n_samples == 3


@pytest.mark.parametrize("bad,exc,match", [
    ("just a string", TypeError, "single str, not a set"),
    (b"bytes", TypeError, "single bytes"),
    ([], ValueError, "is empty"),
    ({}, ValueError, "no prompts"),
    ({"p": []}, ValueError, r"samples\['p'\] is empty"),
    (["a", None], TypeError, r"samples\[1\] must be a str, got None"),
    (["a", 3], TypeError, r"samples\[1\] must be a str, got int 3"),
    (["a", math.nan], ValueError, r"samples\[1\] is a missing value \(NaN\)"),
    ({"p": ["a", float("nan")]}, ValueError, r"samples\['p'\]\[1\] is a missing value"),
    ([["a"], "b"], TypeError, "mixes strings and sequences"),
    (42, TypeError, "must be a sequence"),
    ({"p": "abc"}, TypeError, r"samples\['p'\] is a single str"),
])
def test_bad_input_errors(bad, exc, match):
    with pytest.raises(exc, match=match):
        diversity.distinct_n(bad)


@pytest.mark.parametrize("kwargs,match", [
    ({"n": 0}, r"The 'n' parameter of distinct_n must be an int in the range \[1, inf\)\. Got 0 instead\."),
    ({"n": 2.0}, "Got 2.0 instead"),
    ({"n": True}, "Got True instead"),
    ({"variant": "mean"}, "'variant' parameter of distinct_n must be one of 'set', 'per-completion'"),
    ({"aggregate": "max"}, "'aggregate' parameter of distinct_n must be one of"),
    ({"ci_level": 1.5}, r"'ci_level' parameter of distinct_n must be a float in the range \(0.0, 1.0\)"),
    ({"n_resamples": 0}, "'n_resamples'"),
    ({"seed": -1}, "'seed'"),
    ({"ci_method": "bogus"}, "'ci_method'"),
    ({"tokenizer": "nope"}, "Unknown tokenizer 'nope'"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        diversity.distinct_n(["a b", "c d"], **kwargs)


def test_lowercase_must_be_bool():
    with pytest.raises(TypeError, match="'lowercase' parameter of distinct_n must be a bool"):
        diversity.distinct_n(["a"], lowercase="yes")
