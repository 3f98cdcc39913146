"""The error contract of docs/errors.md, one parametrised case per public
function: a bad parameter is an InvalidParameterError naming it, bad data a
TypeError/ValueError naming where, and undefined values NaN with a warning."""

import math

import numpy as np
import pytest

import diversity
from diversity import InvalidParameterError, UndefinedMetricWarning

TEXTS = {"p1": ["a b c", "a b d"], "p2": ["x y", "z w"]}
EMB = np.eye(3)

# (function, bad keyword arguments, the parameter the message must name)
BAD_PARAMETERS = [
    (lambda **kw: diversity.distinct_n(TEXTS, **kw), {"n": 0}, "'n' parameter of distinct_n"),
    (lambda **kw: diversity.ead(TEXTS, vocab_size=10, **kw), {"n": -1}, "'n' parameter of ead"),
    (lambda **kw: diversity.ngram_entropy(TEXTS, **kw), {"base": 1.0}, "'base' parameter of ngram_entropy"),
    (lambda **kw: diversity.unique_fraction(TEXTS, **kw), {"normalize": "nfc"}, "'normalize' parameter"),
    (lambda **kw: diversity.compression_ratio(TEXTS, **kw), {"level": 10}, "'level' parameter"),
    (lambda **kw: diversity.self_bleu(TEXTS, **kw), {"smoothing": "method7"}, "'smoothing' parameter"),
    (lambda **kw: diversity.homogenization(TEXTS, **kw), {"max_pairs": 0}, "'max_pairs' parameter"),
    (lambda **kw: diversity.mean_pairwise_distance(embeddings=EMB, **kw), {"metric": "l1"}, "'metric' parameter"),
    (lambda **kw: diversity.centroid_distance(embeddings=EMB, **kw), {"aggregate": "mean"}, "'aggregate' parameter"),
    (lambda **kw: diversity.remote_clique(embeddings=EMB, **kw), {"ci_level": 1.5}, "'ci_level' parameter"),
    (lambda **kw: diversity.chamfer(embeddings=EMB, **kw), {"n_resamples": 0}, "'n_resamples' parameter"),
    (lambda **kw: diversity.vendi_score(embeddings=EMB, **kw), {"q": -1}, "'q' parameter of vendi_score"),
    (lambda **kw: diversity.semantic_clusters(embeddings=EMB, **kw), {"threshold": 3}, "'threshold' parameter"),
    (lambda **kw: diversity.semantic_entropy(embeddings=EMB, **kw), {"linkage": "ward"}, "'linkage' parameter"),
    (lambda **kw: diversity.ngram_vendi_score(TEXTS, **kw), {"max_n": 0}, "'max_n' parameter of ngram_vendi_score"),
    (lambda **kw: diversity.self_repetition(TEXTS, **kw), {"n": 0}, "'n' parameter of self_repetition"),
    (lambda **kw: diversity.embedding_homogenization(embeddings=EMB, **kw), {"aggregate": "max"},
     "'aggregate' parameter"),
    (lambda **kw: diversity.score(TEXTS, ["distinct-1"], **kw), {"ci_method": "exact"}, "'ci_method' parameter"),
    (lambda **kw: diversity.score(TEXTS, **kw), {"metrics": ["distinct-1?x=1"]}, "Unknown parameter 'x'"),
    (lambda **kw: diversity.compare(TEXTS, TEXTS, ["distinct-1"], **kw), {"test": "t"}, "'test' parameter of compare"),
    (lambda **kw: diversity.compare_many({"a": TEXTS, "b": TEXTS}, **kw), {"reference": "c"}, "reference 'c'"),
    (lambda **kw: diversity.compare_results({}, {}, **kw), {"test": "z"}, "'test' parameter of compare_results"),
    (lambda **kw: diversity.attribute_diversity(["x", "y"], **kw), {"measure": "gini"}, "'measure' parameter"),
    (lambda **kw: diversity.hill_number([1, 2], **kw), {"q": -2}, "'q' parameter of hill_number"),
    (lambda **kw: diversity.token_entropy([[[-1.0] * 5]], **kw), {"top_k": 0}, "'top_k' parameter"),
    (lambda **kw: diversity.get_tokenizer(**kw), {"tokenizer": "spacy"}, "Unknown tokenizer 'spacy'"),
    (lambda **kw: diversity.distinct_n(TEXTS, **kw), {"lowercase": "yes"}, "'lowercase' parameter"),
]


@pytest.mark.parametrize("f,kwargs,needle", BAD_PARAMETERS, ids=[b[2][:40] for b in BAD_PARAMETERS])
def test_bad_parameters_raise_invalid_parameter_error(f, kwargs, needle):
    with pytest.raises(InvalidParameterError, match=needle.replace("(", r"\(").replace("?", r"\?")):
        f(**kwargs)
    assert issubclass(InvalidParameterError, ValueError) and issubclass(InvalidParameterError, TypeError)


TEXT_FUNCTIONS = [diversity.distinct_n, diversity.ngram_entropy, diversity.unique_fraction,
                  diversity.compression_ratio, diversity.self_bleu, diversity.homogenization,
                  lambda s: diversity.ead(s, vocab_size=100), lambda s: diversity.score(s, ["distinct-1"])]


@pytest.mark.parametrize("f", TEXT_FUNCTIONS)
@pytest.mark.parametrize("bad,error,needle", [
    ("just one string", TypeError, "is a single str, not a set of completions"),
    (["ok", 3], TypeError, r"samples\[1\] must be a str, got int"),
    ({"p": ["ok", None]}, TypeError, r"samples\['p'\]\[1\] must be a str, got None"),
    (["ok", float("nan")], ValueError, r"samples\[1\] is a missing value"),
    ([], ValueError, "samples is empty"),
    ({"p": []}, ValueError, r"samples\['p'\] is empty"),
    (["\ud800"], ValueError, r"samples\[0\] is not valid Unicode"),
])
def test_bad_samples_name_the_index(f, bad, error, needle):
    with pytest.raises(error, match=needle):
        f(bad)


@pytest.mark.parametrize("f", [diversity.mean_pairwise_distance, diversity.centroid_distance, diversity.chamfer,
                               diversity.remote_clique, diversity.vendi_score, diversity.semantic_clusters,
                               diversity.semantic_entropy, diversity.embedding_homogenization])
@pytest.mark.parametrize("bad,error,needle", [
    (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, "row 0 contains NaN or infinity"),
    (np.array([1.0, 2.0]), ValueError, "must be a 2-D array"),
    (np.eye(2) * (1 + 1j), TypeError, "is complex"),
    ({"p": np.eye(2), "q": np.ones((2, 3))}, ValueError, "has dimension 3 but earlier embeddings have 2"),
])
def test_bad_embeddings_name_the_row(f, bad, error, needle):
    with pytest.raises(error, match=needle):
        f(embeddings=bad)


@pytest.mark.parametrize("f,data", [
    (diversity.distinct_n, {"p": ["a"], "q": ["x y"]}),  # no bigram in p
    (diversity.self_bleu, {"p": ["only one"], "q": ["x y", "x z"]}),
    (diversity.homogenization, {"p": ["only one"], "q": ["x y", "x z"]}),
    (diversity.unique_fraction, {"p": [" "], "q": ["x", "y"]}),
    (diversity.compression_ratio, {"p": [""], "q": ["x", "y"]}),
])
def test_undefined_is_nan_with_a_warning_and_the_rest_is_kept(f, data):
    with pytest.warns(UndefinedMetricWarning, match=r"undefined for 1 of 2 prompts .*e\.g\. \['p'\]"):
        r = f(data, ci=False)
    assert math.isnan(r.per_group[0]) and math.isfinite(r.per_group[1]) and r.value == r.per_group[1]
    assert r.details["n_undefined_groups"] == 1


def test_files_name_file_and_line(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_text('{"prompt": "a", "completion": "x"}\n{"prompt": "a", "completion": 3}\n')
    with pytest.raises(diversity.SampleFileError, match=r"s\.jsonl:2: completion is a int"):
        diversity.load_samples(p)
    with pytest.raises(FileNotFoundError):
        diversity.load_records(tmp_path / "missing.jsonl")
