import subprocess
import sys

import pytest

import diversity
from diversity import Distinct, EAD


def test_score_matches_single_functions(real_sets):
    base, _ = real_sets
    res = diversity.score(base, ["distinct-2", "ngram-entropy-1", "unique-fraction", "compression-ratio"])
    assert list(res) == ["distinct-2", "ngram-entropy-1", "unique-fraction", "compression-ratio"]
    assert res["distinct-2"] == diversity.distinct_n(base, n=2)
    assert res["ngram-entropy-1"] == diversity.ngram_entropy(base, n=1)
    assert res["unique-fraction"] == diversity.unique_fraction(base)
    assert res["compression-ratio"] == diversity.compression_ratio(base)


def test_score_with_metric_objects():
    res = diversity.score(["a b a b", "c d"], [Distinct(2), Distinct(2, variant="per-completion"),
                                               EAD(1, vocab_size=100)])
    assert list(res) == ["distinct-2", "distinct-2?variant=per-completion", "ead-1?vocab_size=100"]


def test_score_errors():
    with pytest.raises(ValueError, match="Unknown metric 'distinct'"):
        diversity.score(["a"], ["distinct"])
    with pytest.raises(ValueError, match="the same metric twice: distinct-1"):
        diversity.score(["a"], ["distinct-1", Distinct(1)])
    with pytest.raises(ValueError, match="at least one metric"):
        diversity.score(["a"], [])
    with pytest.raises(TypeError, match="a metric must be a spec string"):
        diversity.score(["a"], [3])
    assert "distinct-<n>" in diversity.available_metrics()


def test_import_is_light():
    code = ("import sys, diversity; heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', "
            "'matplotlib', 'scipy', 'sklearn', 'pandas', 'nltk') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_version_in_one_place():
    from importlib.metadata import version
    assert diversity.__version__ == version("llm-diversity")
