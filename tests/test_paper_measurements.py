"""The three measurements of arXiv 2406.05587 as library functions:
attribute diversity (personas), token entropy, and the persona extractor."""

import math

import numpy as np
import pytest

import diversity
from diversity.generation.extract import extract_attributes, extract_fields


# ---- attribute diversity -------------------------------------------------------

def test_attribute_measures_hand_computed():
    v = ["American", "American", "Chinese", "Mexican"]  # p = 1/2, 1/4, 1/4
    assert diversity.attribute_diversity(v).value == pytest.approx(1.5)
    assert diversity.attribute_diversity(v, "richness").value == 3
    assert diversity.attribute_diversity(v, "gini-simpson").value == pytest.approx(1 - (0.25 + 0.0625 * 2))
    assert diversity.attribute_diversity(v, "inverse-simpson").value == pytest.approx(1 / 0.375)
    assert diversity.attribute_diversity(v, "hill", q=0).value == 3
    assert diversity.attribute_diversity(v, "hill", q=1).value == pytest.approx(2 ** 1.5)
    assert diversity.attribute_diversity(v, "hill", q=2).value == pytest.approx(1 / 0.375)
    assert diversity.attribute_diversity(v, "hill", q=math.inf).value == pytest.approx(2.0)
    assert diversity.attribute_diversity(v, base=math.e).value == pytest.approx(1.5 * math.log(2))
    assert diversity.attribute_diversity(["x"] * 5).value == 0.0
    assert diversity.attribute_diversity([34, 34, 35]).value == pytest.approx(
        -(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3)))


def test_attribute_signatures_details_and_grouping():
    r = diversity.attribute_diversity(["a", "b", "a"], "hill", q=2)
    assert r.signature == f"attribute-hill?q=2|q:2|agg:none|k:3|v:{diversity.__version__}"
    assert r.details["top"] == (("a", 2), ("b", 1))
    g = diversity.attribute_diversity({"p1": ["a", "b"], "p2": ["a", "a"], "p3": ["c", "d"]})
    assert g.per_group == (1.0, 0.0, 1.0) and g.ci is not None
    assert diversity.attribute_diversity({"p1": ["a", "b"], "p2": ["a", "a"]}, aggregate="pooled").value == \
        pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))


@pytest.mark.parametrize("values,exc,match", [
    (["a", None], TypeError, r"values\[1\] is None"),
    (["a", float("nan")], ValueError, r"values\[1\] is a missing value"),
    ("abc", TypeError, "single string"),
    ([], ValueError, "is empty"),
    (["a", {"x": 1}], TypeError, r"values\[1\] must be a string or number"),
])
def test_attribute_bad_input(values, exc, match):
    with pytest.raises(exc, match=match):
        diversity.attribute_diversity(values)
    with pytest.raises(ValueError, match="'measure' parameter of attribute_diversity"):
        diversity.attribute_diversity(["a"], "shannon")


# ---- token entropy ---------------------------------------------------------------

def test_token_entropy_hand_computed():
    L = math.log
    # position 1: top-5 renormalised (0.4, 0.2, 0.2, 0.1, 0.1) from unnormalised logprobs; the 6th is ignored
    p1 = [L(0.2), L(0.1), L(0.1), L(0.05), L(0.05), L(0.5) - 100]
    h1 = -(0.4 * math.log2(0.4) + 2 * 0.2 * math.log2(0.2) + 2 * 0.1 * math.log2(0.1))
    # position 2: a certain token -> 0 bits
    p2 = [0.0, -1e9, -1e9, -1e9, -1e9]
    r = diversity.token_entropy([[p1, p2]])
    assert r.value == pytest.approx((h1 + 0.0) / 2)
    assert r.details == {"n_positions": 2, "max_bits": pytest.approx(math.log2(5))}
    uniform = [[0.0] * 5]
    assert diversity.token_entropy([uniform]).value == pytest.approx(math.log2(5))  # the ceiling, 2.32
    assert diversity.token_entropy([uniform], top_k=2).value == pytest.approx(1.0)
    # OpenAI-style dicts
    assert diversity.token_entropy([[{"a": L(0.5), "b": L(0.5)}]], top_k=2).value == pytest.approx(1.0)


def test_token_entropy_full_logits_and_grouping():
    logits = np.log(np.array([[0.5, 0.25, 0.25], [1.0, 1e-300, 1e-300]]))
    r = diversity.token_entropy(logits=[logits])
    assert r.value == pytest.approx((1.5 + 0.0) / 2)
    assert "token-entropy?top_k=none|cand:full|unit:bits|avg:positions|" in r.signature
    grouped = {"a": [[[0.0] * 5]], "b": [[[0.0, -1e9, -1e9, -1e9, -1e9]], [[0.0] * 5]]}
    g = diversity.token_entropy(grouped)
    assert g.per_group == (pytest.approx(math.log2(5)), pytest.approx(math.log2(5) / 2))
    assert diversity.token_entropy(grouped, aggregate="pooled").value == pytest.approx(2 * math.log2(5) / 3)


def test_token_entropy_bad_input():
    with pytest.raises(ValueError, match="fewer than top_k=5"):
        diversity.token_entropy([[[0.0, -1.0]]])
    with pytest.raises(ValueError, match=r"logprobs\[0\]\[0\] contains NaN"):
        diversity.token_entropy([[[0.0, math.nan, 0, 0, 0]]])
    with pytest.raises(ValueError, match="exactly one of logprobs= or logits="):
        diversity.token_entropy()
    with pytest.warns(diversity.UndefinedMetricWarning, match="no generated position"):
        assert math.isnan(diversity.token_entropy([[]]).value)


# ---- persona extraction ----------------------------------------------------------

def test_extract_fields_forms():
    assert extract_fields("Name: Li Wei\nAge: 29\nGender: Male\nNationality: Chinese") == \
        {"name": "Li Wei", "age": "29", "gender": "Male", "nationality": "Chinese"}
    md = "**Persona**\n- **Name:** Sofia García\n- **Age:** thirty-two (32)\n* Gender – female\n1. Nationality: Spanish."
    assert extract_fields(md) == {"name": "Sofia García", "age": "32", "gender": "female", "nationality": "Spanish"}
    js = 'Here you go: {"Name": "Tom", "age": 41, "gender": "man", "nationality": "British"}'
    assert extract_fields(js) == {"name": "Tom", "age": "41", "gender": "man", "nationality": "British"}


def test_extract_reports_malformed_outputs():
    texts = ["Name: Ana\nAge: 30\nGender: F\nNationality: Peruvian",
             "I am sorry, I cannot create personas.",
             "Name: Bo\nAge: unknown\nGender: M\nNationality: ",
             ""]
    t = extract_attributes(texts)
    assert t.n == 4 and t.values["name"] == ["Ana", None, "Bo", None]
    assert [f[0] for f in t.failures] == [1, 2, 3]
    assert t.failures[1][1] == ("age", "nationality")
    assert t.column("nationality") == ["Peruvian"] and t.parse_rate == 0.25
    with pytest.raises(TypeError):
        extract_fields(None)


# ---- normalised categories, ceiling, coverage ------------------------------------

def test_normalize_value_rules():
    from diversity.metrics.categorical import normalize_value

    gender = ["M", "male", "Man", "men", "Woman", "women", "F", "female.", "**Female**", "male, male", "she/her",
              "Non-binary", "transfemale", "23", "a", "--", r"\textbf{Male}", "female fresh graduate", "Not known",
              "man-made", "female or male", "Lady", "Full name", "nationality occupation",
              "female Occupation: Bike store"]
    assert [normalize_value(v, "gender") for v in gender] == [
        "male", "male", "male", "male", "female", "female", "female", "female", "female", "male", "female",
        "non-binary", "transfemale", None, None, None, "male", "female", None, "man-made", "female or male", "female",
        None, None, "female"]
    nat = ["USA", "U.S.A.", "American", "united states", "America", "UK", "British", "Chinese", "China", "Male",
           "1990", "Kenyan ", "Martian"]
    assert [normalize_value(v, "nationality") for v in nat] == [
        "american", "american", "american", "american", "american", "british", "british", "chinese", "chinese",
        None, None, "kenyan", "martian"]
    for rule, values in (("gender", gender), ("nationality", nat)):  # idempotent: normalised values stay as they are
        once = [normalize_value(v, rule) for v in values]
        assert [normalize_value(v, rule) if v is not None else None for v in once] == once
    assert normalize_value("  Coffee-Shop   Manager! ", "text") == "coffee-shop manager"
    assert normalize_value("$x^2$", "text") == "x 2" and normalize_value("42", "text") is None
    with pytest.raises(diversity.InvalidParameterError, match="'rule' parameter of normalize_value"):
        normalize_value("m", "sex")


def test_attribute_diversity_normalized_signature_and_unparsed():
    raw = ["m", "male", "Man", "woman", "women", "23"]
    r = diversity.attribute_diversity(raw, "richness")
    assert r.value == 6 and "vnorm" not in r.signature
    n = diversity.attribute_diversity(raw, "richness", normalize="gender")
    assert n.value == 2 and n.details["unparsed"] == 1
    assert n.signature == f"attribute-richness?normalize=gender|vnorm:gender-v1|agg:none|k:6|v:{diversity.__version__}"
    # p = 3/5, 2/5 after leaving "23" out
    e = diversity.attribute_diversity(raw, normalize="gender")
    assert e.value == pytest.approx(-(0.6 * math.log2(0.6) + 0.4 * math.log2(0.4)))
    with pytest.raises(diversity.InvalidParameterError, match="'normalize' parameter of attribute_diversity"):
        diversity.attribute_diversity(raw, normalize="sex")


def test_chao_shen_hand_computed_and_ceiling():
    from diversity.stats.entropy import chao_shen_entropy

    # counts 2, 1, 1: n = 4, two singletons -> coverage C = 1 - 2/4 = 1/2; shares 1/4, 1/8, 1/8;
    # inclusion probabilities 1 - (1 - share)^4
    pa = np.array([0.25, 0.125, 0.125])
    la = 1 - (1 - pa) ** 4
    want = -(pa * np.log(pa) / la).sum()
    assert chao_shen_entropy([2, 1, 1], base=math.e) == pytest.approx(want, rel=1e-12)
    # every value distinct (n = 5): f1 = n - 1 keeps C = 1/5 > 0; the estimate goes past the plug-in ceiling
    five = diversity.attribute_diversity(list("abcde"), "entropy-chao-shen")
    pa5 = 0.2 * 0.2
    assert five.value == pytest.approx(-5 * pa5 * math.log2(pa5) / (1 - (1 - pa5) ** 5), rel=1e-12)
    assert five.value > math.log2(5) == pytest.approx(diversity.attribute_diversity(list("abcde")).value)
    # full coverage moves the plug-in value little; it is larger for the sample with more singletons
    assert chao_shen_entropy([50, 50], base=2) == pytest.approx(1.0, abs=1e-12)
    assert chao_shen_entropy([3, 1, 1, 1]) > chao_shen_entropy([3, 3])
    assert math.isnan(chao_shen_entropy([0, 0]))
    with pytest.raises(diversity.InvalidParameterError, match="non-negative counts"):
        chao_shen_entropy([1, -1])
    # the ceiling: sets where every value is distinct are counted
    g = diversity.attribute_diversity({"p1": ["a", "b", "c"], "p2": ["a", "a", "b"], "p3": ["x", "y", "z"]})
    assert g.details["groups_all_distinct"] == 2
