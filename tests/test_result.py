import dataclasses
import json
import math

import numpy as np
import pytest

import diversity
from diversity import ConfidenceInterval, DiversityResult


SAMPLES = {"p1": ["a b c", "a b d", "e f"], "p2": ["x y", "x y", "z"], "p3": ["m n o", "p q", "m n"]}


def test_signature_format_is_pinned():
    v = diversity.__version__
    r = diversity.distinct_n(SAMPLES, n=2, ci=False)
    assert r.signature == f"distinct-2|var:set|tok:unicode-v2|lc:no|agg:per-prompt-mean|k:3|v:{v}"
    r = diversity.distinct_n(SAMPLES, n=2)
    assert r.signature == (f"distinct-2|var:set|tok:unicode-v2|lc:no|agg:per-prompt-mean|k:3|"
                           f"ci:0.95-percentile-10000|seed:0|v:{v}")
    r = diversity.distinct_n(SAMPLES, n=1, aggregate="pooled", lowercase=True, variant="per-completion")
    assert r.signature == f"distinct-1?variant=per-completion|var:per-completion|tok:unicode-v2|lc:yes|agg:pooled|k:3|v:{v}"
    assert diversity.ead(["a b"], n=2, vocab_size=50257).signature == \
        f"ead-2?vocab_size=50257|V:50257|tok:unicode-v2|lc:no|agg:none|k:1|v:{v}"
    assert diversity.ngram_entropy(["a b"], n=1, base=math.e, normalize=True).signature == \
        f"ngram-entropy-1?base=e&normalize=true|base:e|norm:yes|tok:unicode-v2|lc:no|agg:none|k:1|v:{v}"
    assert diversity.unique_fraction({"a": ["x"], "b": ["y", "z"]}, ci=False).signature == \
        f"unique-fraction|norm:whitespace|agg:per-prompt-mean|k:1-2|v:{v}"
    assert diversity.compression_ratio(["a"], level=6).signature == \
        f"compression-ratio?level=6|comp:gzip-6|join:space-sorted|agg:none|k:1|v:{v}"


def test_result_fields_and_conversions():
    r = diversity.distinct_n(SAMPLES, n=1, seed=3)
    assert isinstance(r, DiversityResult)
    assert r.metric == "distinct-1" and r.higher_is_more_diverse
    assert r.n_samples == 9 and r.n_groups == 3
    assert r.groups == ("p1", "p2", "p3") and len(r.per_group) == 3
    assert r.value == pytest.approx(np.mean(r.per_group))
    assert r.std == pytest.approx(np.std(r.per_group, ddof=1))
    assert float(r) == r.value
    assert isinstance(r.ci, ConfidenceInterval) and r.ci.low <= r.value <= r.ci.high
    low, high = r.ci
    assert (low, high) == (r.ci.low, r.ci.high)
    d = json.loads(r.to_json())
    assert d["value"] == r.value and d["signature"] == r.signature and d["ci"]["level"] == 0.95
    assert d["groups"] == ["p1", "p2", "p3"]
    assert "distinct-1 = " in repr(r) and "higher = more diverse" in repr(r) and r.signature in repr(r)


def test_result_is_immutable():
    r = diversity.distinct_n(["a b"], n=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.value = 2.0
    with pytest.raises(TypeError):
        r.details["mean_tokens"] = 0


def test_nan_serialises_as_null():
    with pytest.warns(diversity.UndefinedMetricWarning):
        r = diversity.distinct_n(["a"], n=2)
    assert json.loads(r.to_json())["value"] is None


def test_lower_is_more_diverse_in_repr():
    assert "lower = more diverse" in repr(diversity.compression_ratio(["a a a"]))
