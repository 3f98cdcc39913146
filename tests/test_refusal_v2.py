"""The default refusal detector rules-v2: hand cases from issue 22 (word boundaries, short answers,
soft refusals), partial refusals, the versioned rule files, gate specs that round-trip, and effective
semantic diversity clustering only valid completions."""

import hashlib
from importlib import resources

import numpy as np
import pytest

import diversity
from diversity.quality.gates import NoRefusal, detector_from_spec, parse_gate
from diversity.quality.refusal import DEFAULT_DETECTOR, ScoredRulesDetector, classify_refusals, rules_detector

V2 = rules_detector("rules-v2")


@pytest.mark.parametrize("text", [
    "Exercise plays a significant role in health.",       # rules-v1 read "signif-icant" as "i cant"
    "Applicant help is available.",
    "No.", "Yes.", "42", "3.14", "No, it is not a prime number.",
    "I can't believe how good this cake is: here is the recipe.",
    "I refuse to believe anyone can resist a crisp October morning.",
    "I cannot recommend this place enough.",
    'Anyone who has used a chatbot knows the phrase: "I\'m sorry, but I can\'t assist with that." It is everywhere.',
    "SARAH I can't help you. Not anymore. MIKE You owe me.",
    "I'm sorry to hear that. Rest.",
    "Violent assault generally refers to an intentional act that causes physical harm to another person.",
])
def test_answers(text):
    assert V2.classify(text) == "answer", V2.explain(text)


@pytest.mark.parametrize("text", [
    "I'm sorry, but I can't help with that.", "[Blocked]", "", "   ", "I won't.",
    "I cannot fulfill your request. I'm just an AI, it's not within my programming to provide that.",
    "It is not appropriate to discuss or promote the idea of suicide, as it is a serious and harmful behavior. "
    "Please reach out to a crisis hotline.",
    "Je ne peux pas vous aider.", "抱歉，我无法提供这个信息。",
    "This request violates our content policy.",
])
def test_refusals(text):
    assert V2.classify(text) == "refusal", V2.explain(text)


@pytest.mark.parametrize("text", [
    "I can't give medical advice, but here are some general tips: rest, drink water, and see a doctor.",
    # the two forms rules-v1 missed on Lake et al.'s chat samples (issue 22)
    "I am not qualified to prescribe medication. However, many people with a mild cold feel better with rest, "
    "fluids and an over-the-counter decongestant; a pharmacist can tell you which one suits you.",
    "I'm not able to provide a specific email address for the NHS. However, you can reach the NHS through the "
    "contact page of its website or by calling 111 for urgent medical advice.",
])
def test_partial_refusals_keep_their_answer(text):
    assert V2.classify(text) == "partial", V2.explain(text)


def test_explain_names_the_deciding_features():
    label, why = V2.explain("I'm sorry, but I cannot provide instructions for that.")
    assert label == "refusal" and "refuse_first_person" in why and "p=" in why
    assert V2.explain("[removed]") == ("refusal", "placeholder or empty")
    x = V2.features("It is not appropriate to ask that.")
    assert x.shape == (len(V2.feature_names),) and x[V2.feature_names.index("verdict_request")] > 0
    assert 0.0 <= V2.probability("Here is a poem about the sea.") < 0.5


def test_v2_is_the_default_and_v1_stays_reproducible():
    assert DEFAULT_DETECTOR == "rules-v2" and rules_detector() == V2 and isinstance(V2, ScoredRulesDetector)
    texts = ["Exercise plays a significant role in health.", "Here you go."]
    assert classify_refusals(texts) == ["answer", "answer"]
    assert classify_refusals(texts, "rules-v1") == ["refusal", "answer"]  # 0.2's known bug, kept for 0.2 numbers
    with pytest.raises(diversity.InvalidParameterError, match="The 'version' parameter of rules_detector must be"):
        rules_detector("rules-v9")


def test_rule_files_are_versioned():
    """A change to a shipped rule file changes published numbers: give it a new version (and a new file)."""
    pinned = {"rules-v1": "0db62f008c81a4341100a454cece8940c65d017844052978118cfbc4d8d0e3c6",
              "rules-v2": "c0714afad602a9ba73cb105c1a5dcc85d0799204d820981a3861d71c7d521364",
              "rules-v3": "938347bbdd8d935bfed31f51da899e75fd617460b09ce23274df5f8910e11347"}
    for version, digest in pinned.items():
        data = resources.files("diversity.quality").joinpath("data", f"refusal_{version.replace('-', '_')}.json")
        assert hashlib.sha256(data.read_bytes()).hexdigest() == digest, f"{version} changed: bump its version"
        assert rules_detector(version).spec == version


@pytest.mark.parametrize("spec", ["no-refusal", "no-refusal:strict", "no-refusal[rules-v1]",
                                  "no-refusal:strict[rules-v1]"])
def test_gate_specs_round_trip(spec):
    gate = parse_gate(spec)
    assert isinstance(gate, NoRefusal) and gate.spec == spec and parse_gate(gate.spec).spec == spec


def test_gates_drop_full_refusals_or_also_partial_ones():
    assert parse_gate("no-refusal-or-partial").spec == "no-refusal:strict"  # 0.2's name, read as an alias
    assert NoRefusal(detector="rules-v2").spec == "no-refusal" and NoRefusal(True, "rules-v1").partial
    texts = ["I'm sorry, but I can't help with that.",
             "I can't give medical advice, but here are some general tips: rest, drink water, and see a doctor.",
             "A poem about the sea: waves fold into waves.", "Another poem: the tide keeps its own counsel."]
    assert parse_gate("no-refusal").keep(texts, None) == [False, True, True, True]
    assert parse_gate("no-refusal:strict").keep(texts, None) == [False, False, True, True]
    samples = {"p": texts}
    loose = diversity.score(samples, ["distinct-1"], gate="no-refusal")["distinct-1"]
    strict = diversity.score(samples, ["distinct-1"], gate="no-refusal:strict")["distinct-1"]
    assert "|gate:no-refusal|" in loose.signature and loose.details["kept_per_prompt"] == (3,)
    assert "|gate:no-refusal:strict|" in strict.signature and strict.details["kept_per_prompt"] == (2,)
    old = diversity.score(samples, ["distinct-1"], gate="no-refusal[rules-v1]")["distinct-1"]
    assert "|gate:no-refusal[rules-v1]|" in old.signature


def test_detector_spec_errors_name_the_parameter():
    with pytest.raises(diversity.InvalidParameterError, match="The 'detector' parameter must be one of"):
        detector_from_spec("rules-v9")
    with pytest.raises(diversity.InvalidParameterError, match="The 'detector' parameter must be one of"):
        parse_gate("no-refusal[regex]")
    with pytest.raises(diversity.InvalidParameterError, match="The 'strict' parameter of NoRefusal must be a bool"):
        NoRefusal(strict="yes")
    with pytest.raises(diversity.InvalidParameterError, match="Unknown gate"):
        parse_gate("no-refusals")
    with pytest.raises(diversity.InvalidParameterError, match="detector"):
        diversity.refusal_rate(["a"], detector="rules-v9")


def test_effective_diversity_clusters_valid_completions_only():
    """Issue 22's constructed case: a and b are valid and 0.3 apart (cosine distance), the invalid c lies
    between them. Clustering all three (0.2) merges {a, c} then b (average distance 0.225 < 0.25): one valid
    class, ESD 0. Clustering the valid ones only: two classes, one different valid pair of C(3, 2) = 3."""
    def unit(angle_distance):  # a unit vector at cosine distance d from (1, 0)
        cos = 1.0 - angle_distance
        return [cos, np.sqrt(1.0 - cos ** 2)]
    a, b = np.array([1.0, 0.0]), np.array(unit(0.3))
    half = (a + b) / np.linalg.norm(a + b)  # c: halfway, about 0.077 from each
    x = np.array([a, b, half])
    r = diversity.effective_semantic_diversity(["a", "b", "c"], embeddings=x, quality=[1, 1, 0], min_score=0.5)
    assert r.value == pytest.approx(1 / 3) and "|cluster:valid|" in r.signature
    classes = diversity.effective_semantic_diversity(["a", "b", "c"], embeddings=x, quality=[1, 1, 0], min_score=0.5,
                                                     variant="classes")
    assert classes.value == pytest.approx(2 / 3)
    # one valid completion: one class, no different pair; none valid: zero classes
    one = diversity.effective_semantic_diversity(["a", "b", "c"], embeddings=x, quality=[1, 0, 0], min_score=0.5,
                                                 variant="classes")
    none = diversity.effective_semantic_diversity(["a", "b", "c"], embeddings=x, quality=[0, 0, 0], min_score=0.5)
    assert one.value == pytest.approx(1 / 3) and none.value == 0.0


def test_split_keeps_the_answer_part_of_a_partial_refusal():
    label, answer = V2.split("I'm not able to provide a specific email address for the NHS. However, you can reach "
                             "the NHS through the contact page of its website or by calling 111.")
    assert label == "partial" and answer.startswith("However, you can reach the NHS") and answer.endswith("111.")
    assert V2.split("I can't give medical advice, but here are some general tips: rest, drink water, and see a "
                    "doctor.") == ("partial", "but here are some general tips: rest, drink water, and see a doctor.")
    assert V2.split("I'm sorry, but I can't help with that.") == ("refusal", "")
    assert V2.split("Here is a poem\nabout the sea.") == ("answer", "Here is a poem about the sea.")
    # a limited answer is kept whole
    limited = "I can only give a general overview: locks have pins that a key lifts to the shear line."
    assert V2.split(limited) == ("partial", limited)
