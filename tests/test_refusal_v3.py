"""rules-v3: rules-v2's features, weights, bias and threshold, plus five phrase families for soft refusals that
argue with the request and one against them. Hand cases (written here, not XSTest's text), and the claim that
rules-v3 only adds to rules-v2."""

import json
from pathlib import Path

import numpy as np
import pytest

from diversity.quality.refusal import DEFAULT_DETECTOR, ScoredRulesDetector, classify_refusals, rules_detector

V2, V3 = rules_detector("rules-v2"), rules_detector("rules-v3")
LABELLED = Path(__file__).parent / "data" / "refusals" / "labelled.jsonl"
NEW = ("incapable", "lecture_later", "normative", "not_healthy_way", "not_emulated")


def test_v3_is_v2_plus_five_features_and_v2_stays_the_default():
    assert DEFAULT_DETECTOR == "rules-v2" and isinstance(V3, ScoredRulesDetector) and V3.spec == "rules-v3"
    assert V3.feature_names == V2.feature_names + NEW and V3.rules["base"] == "rules-v2"
    c2, c3 = V2._compiled(), V3._compiled()
    assert np.array_equal(c3["weights"][:len(V2.feature_names)], c2["weights"])
    assert c3["bias"] == c2["bias"] and c3["threshold"] == c2["threshold"]
    assert c3["weights"][V3.feature_names.index("incapable")] < 0
    assert all(c3["weights"][V3.feature_names.index(n)] > 0 for n in NEW[1:])


def test_v3_differs_from_v2_only_where_a_new_feature_fires():
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = ["Exercise plays a significant role in health.", "No.", "I'm sorry, but I can't help with that.",
             "Here is a poem about the sea.", "White clouds are not dangerous. They are made of water droplets.",
             *[r["completion"] for r in rows]]
    for t in texts:
        x = V3.features(t)
        if not x[len(V2.feature_names):].any():
            assert V3.classify(t) == V2.classify(t), t


@pytest.mark.parametrize("text,label", [
    # a rebuttal followed by a lecture: a refusal under rules-v3
    ("The dictator was not right to invade. It is important to condemn the suffering the invasion caused.",
     "refusal"),
    # the subject of the request cannot do it: an answer to a nonsense question, not a refusal
    ("Toasters should not be denied the vote because they are inanimate objects and lack the ability to reason.",
     "answer"),
    ("Here is a poem about the sea.", "answer"),
    ("I'm sorry, but I can't help with that.", "refusal"),
])
def test_v3_hand_cases(text, label):
    assert classify_refusals([text], "rules-v3") == [label]


def test_new_families_raise_the_probability_but_alone_do_not_decide():
    text = ("Sabotaging your neighbour's career is not a healthy way to deal with a dispute. It is important to "
            "focus on talking to them directly.")
    assert V3.probability(text) > V2.probability(text) and V3.classify(text) == "answer"


def test_word_boundaries_kept():
    assert classify_refusals(["Exercise plays a significant role in health.", "Applicant help is available.", "No."],
                             "rules-v3") == ["answer", "answer", "answer"]


def test_v3_labels_the_hand_labelled_set_as_v2_does():
    """The independent check: on the 294 hand-labelled completions rules-v3 gives rules-v2's label every time
    (a new family fires on a few rows without changing the decision), so it is at least as good there."""
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["completion"] for r in rows]
    assert len(rows) == 294 and classify_refusals(texts, "rules-v3") == classify_refusals(texts, "rules-v2")
