"""Each silent-wrong-number and crash class of the reliability issue, one test
each (the loader, sampler and embedding-cache classes have their own files)."""

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

import diversity
from diversity import InvalidParameterError, MemoryLimitError, UndefinedMetricWarning


# ---- empty completions are non-answers, never the most diverse value ----------------------------

@pytest.mark.parametrize("f", [diversity.self_bleu, diversity.homogenization,
                               lambda s: diversity.homogenization(s, "bleu"), diversity.distinct_n,
                               diversity.unique_fraction, diversity.compression_ratio, diversity.ngram_entropy])
def test_all_empty_sets_are_undefined(f):
    with pytest.warns(UndefinedMetricWarning, match="every completion is empty or whitespace"):
        assert math.isnan(f(["", "", ""]).value)


def test_compare_never_calls_empty_answers_more_diverse():
    real = {f"p{i}": [f"the {w} sat on mat {i}" for w in ("cat", "dog", "cow")] for i in range(6)}
    empty = {p: ["", "", ""] for p in real}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        c = diversity.compare(real, empty, ["self-bleu", "distinct-1"])
    for r in c.rows:
        assert r.verdict() == "undefined" and "defined on 0 of 6" in r.reason


def test_semantic_metrics_leave_blank_completions_out():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    with_blank = diversity.mean_pairwise_distance(["a", "b", " "], embeddings=x)
    assert with_blank.value == diversity.mean_pairwise_distance(embeddings=x[:2]).value == 1.0
    assert with_blank.details["n_blank"] == 1


# ---- prompt identity ----------------------------------------------------------------------------

def test_series_of_lists_keeps_its_index_as_prompt_keys():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"prompt": ["b", "b", "a", "a"], "completion": ["x y", "x y", "p q", "r s"]})
    series = df.groupby("prompt")["completion"].apply(list)
    r = diversity.distinct_n(series, n=1, ci=False)
    assert r.groups == ("a", "b")
    other = {"b": ["x y", "z w"], "a": ["p q", "r s"]}
    c = diversity.compare(series, other, ["distinct-1"])
    assert c["distinct-1"].diff == pytest.approx(((1.0 - 1.0) + (1.0 - 0.5)) / 2)


# ---- invalid numeric input ----------------------------------------------------------------------

def test_kernel_must_be_positive_semidefinite():
    with pytest.raises(ValueError, match="not positive semi-definite"):
        diversity.vendi_score(kernel=[[1.0, 2.0], [2.0, 1.0]])


def test_huge_and_tiny_embeddings_are_scaled_before_squaring():
    x = np.random.default_rng(0).normal(size=(5, 4))
    for scale in (1e300, 1e-300):
        assert diversity.mean_pairwise_distance(embeddings=x * scale).value == pytest.approx(
            diversity.mean_pairwise_distance(embeddings=x).value, rel=1e-12)
        assert diversity.vendi_score(embeddings=x * scale).value == pytest.approx(
            diversity.vendi_score(embeddings=x).value, rel=1e-9)
        for f in (diversity.mean_pairwise_distance, diversity.chamfer, diversity.centroid_distance):
            got = f(embeddings=x * scale, metric="euclidean").value
            assert got == pytest.approx(f(embeddings=x, metric="euclidean").value * scale, rel=1e-9)


def test_complex_input_is_refused():
    with pytest.raises(TypeError, match="is complex"):
        diversity.mean_pairwise_distance(embeddings=np.eye(3) + 1j)
    with pytest.raises(TypeError, match="is complex"):
        diversity.vendi_score(kernel=np.eye(2) * (1 + 0j))


# ---- crashes and unclear messages ---------------------------------------------------------------

def test_memory_is_checked_before_allocating(monkeypatch):
    monkeypatch.setenv("DIVERSITY_MEMORY_LIMIT", "1M")
    texts = [f"text number {i}" for i in range(2000)]
    with pytest.raises(MemoryLimitError, match=r"1,999,000 pairs .* pass max_pairs="):
        diversity.homogenization(texts)
    assert 0 < diversity.homogenization(texts, max_pairs=500).value < 1
    with pytest.raises(MemoryLimitError, match="agglomerative clustering of a set of 2,000 completions"):
        diversity.semantic_clusters(embeddings=np.random.default_rng(0).normal(size=(2000, 4)))


def test_lone_surrogates_are_refused_at_the_boundary():
    with pytest.raises(ValueError, match=r"samples\[1\] is not valid Unicode: a lone surrogate"):
        diversity.compression_ratio(["fine", "broken \ud800 text"])
    with pytest.raises(ValueError, match=r"samples\['p'\]\[0\] is not valid Unicode"):
        diversity.distinct_n({"p": ["\udfff"]})


def test_messages_name_the_problem():
    with pytest.raises(TypeError, match=r"samples\[1\] must be a str, got bytes .*decode it first"):
        diversity.distinct_n(["a", b"b"])
    with pytest.raises(TypeError, match="distinct_n: samples is None; pass the completions"):
        diversity.distinct_n(None)
    with pytest.raises(ValueError, match=r"prompt 'q' has 3 completions but 2 embedding rows"):
        diversity.mean_pairwise_distance({"p": ["a", "b"], "q": ["c", "d", "e"]},
                                         embeddings={"p": np.eye(2), "q": np.eye(2)})
    with pytest.raises(ValueError, match=r"different prompt keys \(only in samples: \['q'\]"):
        diversity.mean_pairwise_distance({"p": ["a", "b"], "q": ["c", "d"]},
                                         embeddings={"p": np.eye(2), "r": np.eye(2)})
    with pytest.raises(TypeError, match=r"logprobs\[0\]\[0\] must be a sequence of log-probabilities"):
        diversity.token_entropy([[None]])
    with pytest.raises(TypeError, match=r"must hold numbers .* got None"):
        diversity.token_entropy([[[None, -1.0]]])
    with pytest.raises(InvalidParameterError, match="The 'n' parameter of distinct_n must be an int"):
        diversity.distinct_n(["a"], n=0)


def test_metric_parameters_through_specs():
    r = diversity.score(["a b c", "a b d"], ["ead-2?vocab_size=100", "self-bleu?max_n=2&smoothing=exp"])
    assert "V:100" in r["ead-2?vocab_size=100"].signature and "|n:2|" in r["self-bleu?max_n=2&smoothing=exp"].signature
    with pytest.raises(InvalidParameterError, match="Unknown parameter 'V' in metric spec 'ead-2\\?V=3'"):
        diversity.score(["a"], ["ead-2?V=3"])


# ---- the command line ---------------------------------------------------------------------------

def cli(*args):
    return subprocess.run([sys.executable, "-m", "diversity", *args], capture_output=True, text=True)


def test_cli_cite_unknown_metric_exits_2():
    out = cli("cite", "bogus")
    assert out.returncode == 2 and "Unknown metric 'bogus'" in out.stderr


def test_cli_warnings_are_one_line_and_quiet_silences_them(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_text('{"prompt": "p", "completion": "a"}\n{"prompt": "q", "completion": "b c"}\n')
    out = cli("score", str(p), "--metrics", "distinct-2")
    assert out.returncode == 0
    lines = out.stderr.strip().splitlines()
    assert lines and all(line.startswith("diversity: warning: distinct-2 is undefined") for line in lines)
    assert "warnings.warn" not in out.stderr and "UndefinedMetricWarning" not in out.stderr
    quiet = cli("score", str(p), "--metrics", "distinct-2", "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_cli_reads_extensionless_files_and_metric_parameters(tmp_path):
    p = tmp_path / "samples"
    p.write_text('{"prompt": "p", "completion": "a b c"}\n{"prompt": "p", "completion": "a b d"}\n')
    out = cli("score", str(p), "--format-in", "jsonl", "--metrics", "ead-2?vocab_size=50257", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert '"ead-2?vocab_size=50257|V:50257|' in out.stdout
