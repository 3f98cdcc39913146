"""Refusals, gates and diversity among good answers: the labelled refusal set
(real and written completions, tests/data/refusals), gate bookkeeping,
hand-computed effective diversity and NoveltyBench utility, and a comparison
in which gating flips a verdict."""

import json
import math
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import diversity
from diversity.quality.gates import Equals, NoRefusal, Threshold, parse_gate
from diversity.quality.refusal import rules_detector

DATA = Path(__file__).parent / "data" / "refusals" / "labelled.jsonl"
ROWS = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]


def quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def precision_recall(positive, version="rules-v2"):
    det = rules_detector(version)
    pairs = [(r["label"] in positive, det.classify(r["completion"]) in positive) for r in ROWS]
    tp = sum(t and g for t, g in pairs)
    return tp / sum(g for _, g in pairs), tp / sum(t for t, _ in pairs)


def test_rules_v1_precision_and_recall_on_the_labelled_set():
    """0.2's figures, unchanged: rules-v1 stays reproducible (294 completions, in-sample)."""
    assert len(ROWS) >= 200
    p, r = precision_recall({"refusal"}, "rules-v1")
    assert p >= 0.90 and r >= 0.92, (p, r)
    p2, r2 = precision_recall({"refusal", "partial"}, "rules-v1")
    assert p2 >= 0.95 and r2 >= 0.95, (p2, r2)


@pytest.mark.parametrize("version", ["rules-v2", "rules-v3"])
def test_rules_v2_precision_and_recall_on_the_labelled_set(version):
    """The figures of docs/metrics/refusal-rate.md for the default detector and rules-v3: this set was not used
    to fit their weights (XSTest v2 was), so it is their independent check; rules-v3 is at least as good."""
    p, r = precision_recall({"refusal"}, version)
    assert p >= 0.92 and r >= 0.90, (p, r)
    p2, r2 = precision_recall({"refusal", "partial"}, version)
    assert p2 >= 0.97 and r2 >= 0.88, (p2, r2)


@pytest.mark.parametrize("version,allowed", [("rules-v3", 0.02), ("rules-v2", 0.02), ("rules-v1", 0.06)])
def test_hard_negatives_are_answers(version, allowed):
    det = rules_detector(version)
    hard = [r for r in ROWS if r["category"].startswith("hard-negative") or r["category"] == "creative-dialogue"]
    wrong = [r["completion"][:60] for r in hard if det.classify(r["completion"]) != "answer"]
    assert len(hard) >= 50 and len(wrong) / len(hard) <= allowed, wrong
    for text in ["I can't believe how good this cake is: here is the recipe.", "I cannot recommend this place enough.",
                 'The guard said: "I cannot let you pass." She smiled and walked on.', "I'm sorry to hear that. Rest."]:
        assert det.classify(text) == "answer", text


@pytest.mark.parametrize("text,label", [
    ("I'm sorry, but I can't help with that.", "refusal"), ("[Blocked]", "refusal"), ("", "refusal"),
    ("As an AI language model, I cannot write that.", "refusal"), ("Je ne peux pas vous aider.", "refusal"),
    ("抱歉，我无法提供这个信息。", "refusal"),
    ("I can't give medical advice, but here are some general tips: rest, drink water, and see a doctor.", "partial"),
    ("Here is a poem about the sea.", "answer"),
])
def test_labels(text, label):
    assert rules_detector().classify(text) == label


def test_refusal_rate_counts_blanks_and_has_prompt_level_cis():
    samples = {"p1": ["I can't help with that.", "Sure: a poem.", ""], "p2": ["Fine.", "Here you go.", "[Blocked]"],
               "p3": ["No problem, here it is.", "Answer.", "Another answer."]}
    r = diversity.refusal_rate(samples)
    assert r.per_group == pytest.approx((2 / 3, 1 / 3, 0.0)) and r.ci is not None
    assert r.details["per_completion"] == (1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    assert r.signature.startswith("refusal-rate|det:rules-v2|count:refusal|")
    v1 = diversity.refusal_rate(samples, detector="rules-v1")
    assert v1.signature.startswith("refusal-rate?detector=rules-v1|det:rules-v1|count:refusal|")
    assert v1.per_group == r.per_group
    assert diversity.refusal_rate(["", " "]).value == 1.0  # all empty: all refusals, not undefined


def test_gate_bookkeeping_signatures_and_undefined_prompts():
    samples = {"p1": ["I can't help with that.", "a b c", "a b d"], "p2": ["I won't.", "I cannot do that.", "x y"]}
    with pytest.warns(diversity.UndefinedMetricWarning, match="no completion passed the gate|needs at least 2"):
        r = diversity.score(samples, ["distinct-1", "self-bleu"], gate="no-refusal")
    d, s = r["distinct-1"], r["self-bleu"]
    assert "|gate:no-refusal|" in d.signature and d.details["kept_per_prompt"] == (2, 1)
    assert d.details["n_gated_out"] == 3 and d.per_group[0] == pytest.approx(4 / 6)
    assert math.isnan(s.per_group[1])  # one answer left: no pair
    quality = {"p1": [0.1, 0.9, 0.4], "p2": [0.8, 0.7, 0.2]}
    t = diversity.score(samples, ["distinct-1"], gate="reward>=0.5", quality=quality)["distinct-1"]
    assert "|gate:reward>=0.5|" in t.signature and t.details["kept_per_prompt"] == (1, 2)
    fr = {"p1": ["stop", "length", "stop"], "p2": ["stop", "stop", "stop"]}
    f = diversity.score(samples, ["distinct-1"], gate="finish_reason=stop", quality=fr)["distinct-1"]
    assert f.details["kept_per_prompt"] == (2, 3)
    with pytest.raises(diversity.InvalidParameterError, match="needs a score per completion"):
        diversity.score(samples, ["distinct-1"], gate="reward>=0.5")
    with pytest.raises(ValueError, match="has 2 values for prompt 'p1', which has 3 completions"):
        diversity.score(samples, ["distinct-1"], gate="reward>=0.5", quality={"p1": [1, 2], "p2": [1, 2, 3]})
    with pytest.raises(diversity.InvalidParameterError, match="Unknown gate"):
        parse_gate("reward about 0.5")
    assert isinstance(parse_gate("no-refusal"), NoRefusal) and isinstance(parse_gate("x>=1"), Threshold)
    assert isinstance(parse_gate("finish_reason=stop"), Equals)


def test_effective_semantic_diversity_by_hand():
    x = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0], [0.7, 0.7], [0.0, 1.0]])
    texts = ["a", "b", "c", "d", "e"]
    q = [1.0, 1.0, 1.0, 0.0, 1.0]  # d fails; classes among the valid: {a, b}, {c, e}
    pairs = diversity.effective_semantic_diversity(texts, embeddings=x, quality=q, min_score=0.5)
    # valid pairs 6, same-class pairs 2 -> 4 different valid pairs out of C(5, 2) = 10
    assert pairs.value == pytest.approx(0.4) and "|var:pairs|valid:score>=0.5|eq:cos<0.25|" in pairs.signature
    classes = diversity.effective_semantic_diversity(texts, embeddings=x, quality=q, min_score=0.5, variant="classes")
    assert classes.value == pytest.approx(2 / 5)
    # without scores, validity is "not a refusal"
    nr = diversity.effective_semantic_diversity(["I can't help with that.", "b", "c"],
                                                embeddings=np.eye(3), variant="classes")
    assert nr.value == pytest.approx(2 / 3) and "|valid:no-refusal|det:rules-v2|" in nr.signature


def test_novelty_utility_by_hand_and_distinct_count():
    x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    r = diversity.novelty_utility(["one", "one again", "two", "two again"], [10, 9, 6, 4], embeddings=x)
    w = 0.8 ** np.arange(4)
    assert r.value == pytest.approx((10 * w[0] + 6 * w[2]) / w.sum())
    assert r.details["distinct"] == (2,) and r.details["mean_distinct"] == 2.0
    # ten generations of one class with score 10: 10 / sum(0.8^i) = 2.2406 (NoveltyBench's own example)
    same = diversity.novelty_utility(["same"] * 10, [10] * 10, embeddings=np.ones((10, 2)))
    assert same.value == pytest.approx(2.2406, abs=1e-4)
    # short answers: NoveltyBench's unigram rule decides (half the longer answer's words shared)
    short = diversity.novelty_utility(["blue sky", "sky blue", "red"], [5, 5, 5], embeddings=np.eye(3))
    assert short.details["distinct"] == (2,)


def test_gating_flips_a_verdict():
    """Written data: the aligned side refuses half the time with one stock sentence, and its real answers
    are more varied than the base model's near-repeats."""
    topics = ["lighthouse", "orchard", "glacier", "market", "violin", "desert", "harbor", "attic", "comet", "meadow"]
    words = [("old", "sailor", "storm"), ("young", "baker", "letter"), ("tired", "doctor", "train"),
             ("curious", "child", "owl")]
    base = {t: [f"In the {t}, a {a} {b} waited for the {c} to arrive." for a, b, c in words] for t in topics}
    refusal = "I'm sorry, but I can't write that story."
    chat = {t: [refusal, refusal, f"Rain drummed on the {t} while Mara counted coins nobody had earned.",
                f"Nobody expected the {t} to answer back, least of all the cartographer."] for t in topics}
    c = quiet(diversity.compare, base, chat, ["self-bleu", "distinct-2", "refusal-rate"], gate="no-refusal")
    assert c["self-bleu"].verdict() == "less diverse"            # the stock refusal repeats
    assert c.gated["self-bleu"].verdict() == "more diverse"      # its answers are more varied
    assert c.gated["pass-rate?gate=no-refusal"].diff == pytest.approx(-0.5)
    assert c.gated["pass-rate?gate=no-refusal"].verdict() == "lower"
    assert "changed the verdict of self-bleu (less diverse -> more diverse)" in c.gate_note
    md = c.to_markdown()
    assert "Completions that pass the gate `no-refusal`" in md and "pass-rate?gate=no-refusal" in md
    assert c["refusal-rate"].b.value == 0.5 and c["refusal-rate"].verdict() == "higher"


def test_quality_values_follow_their_completions_through_subsampling_and_matching():
    base = {f"p{i}": [f"w{j} " * (j + 1) for j in range(6)] for i in range(4)}
    chat = {f"p{i}": [f"v{j} " * (2 * j + 1) for j in range(6)] for i in range(4)}
    # quality = the number of words: after subsampling to k=4 and length matching, the gate must see each text's own
    qb = {p: [len(t.split()) for t in ts] for p, ts in base.items()}
    qc = {p: [len(t.split()) for t in ts] for p, ts in chat.items()}
    c = quiet(diversity.compare, base, chat, ["distinct-1"], k=4, gate="words>=3",
              quality={"base": qb, "aligned": qc})
    kept_b = c.gated["distinct-1"].a.details["kept_per_prompt"]
    kept_c = c.gated["distinct-1"].b.details["kept_per_prompt"]
    assert all(0 <= x <= 4 for x in kept_b + kept_c)
    assert "|gate:words>=3|" in c.gated["distinct-1"].a.signature


def test_classifier_backend_from_a_local_folder(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "i": 4, "can't": 5, "help": 6, "here": 7, "is": 8}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]",
                                               cls_token="[CLS]", sep_token="[SEP]")
    cfg = transformers.BertConfig(vocab_size=len(vocab), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=16, num_labels=2, id2label={0: "answer", 1: "refusal"},
                                  label2id={"answer": 0, "refusal": 1})
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(cfg)
    folder = tmp_path / "refusal-clf"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    from diversity.quality.classifier import ClassifierDetector

    det = ClassifierDetector(str(folder))
    labels = det.classify_many(["i can't help", "here is"])
    assert set(labels) <= {"refusal", "answer"} and det.spec.startswith("hf:refusal-clf@")
    r = diversity.refusal_rate(["i can't help", "here is"], detector=f"hf:{folder}")
    assert f"|det:{det.spec}|" in r.signature and 0 <= r.value <= 1


def test_cli_gate_and_quality_field(tmp_path):
    rows = [{"prompt": f"p{i}", "completion": t, "reward": r}
            for i in range(3) for t, r in [("I can't help with that.", 0.1), ("a b c", 0.9), ("a b d", 0.8)]]
    p = tmp_path / "s.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for gate, kept in [("no-refusal", [2, 2, 2]), ("reward>=0.85", [1, 1, 1])]:
        out = subprocess.run([sys.executable, "-m", "diversity", "score", str(p), "--metrics", "distinct-1",
                              "--gate", gate, "--quality-field", "reward", "--format", "json", "--quiet"],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        got = json.loads(out.stdout)["distinct-1"]
        assert f"|gate:{gate}|" in got["signature"] and got["details"]["kept_per_prompt"] == kept
    counts = Counter(r["label"] for r in ROWS)
    assert counts["refusal"] >= 60 and counts["partial"] >= 25


def test_load_column_aligns_fields_with_completions_and_reports_refusal_rates(tmp_path):
    rows = [{"prompt": "p", "completion": "a b", "reward": 0.2, "finish_reason": "stop"},
            {"prompt": "q", "completion": "I can't help with that.", "reward": 0.1, "finish_reason": "stop"},
            {"prompt": "p", "completion": "c d", "reward": 0.9, "finish_reason": "length"},
            {"prompt": "q", "completion": "x y", "reward": 0.7, "finish_reason": "stop"}]
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    samples = diversity.load_samples(path)
    rewards = diversity.load_column(path, "reward")
    assert rewards == {"p": [0.2, 0.9], "q": [0.1, 0.7]} and list(samples) == list(rewards)
    kept = diversity.score(samples, ["distinct-1"], gate="finish_reason=stop",
                           quality=diversity.load_column(path, "finish_reason"))["distinct-1"]
    assert kept.details["kept_per_prompt"] == (1, 2)
    with pytest.raises(diversity.SampleFileError, match="row 1 has no 'score' field"):
        diversity.load_column(path, "score")
    c = quiet(diversity.compare, samples, {"p": ["a b", "a b"], "q": ["[Blocked]", "x y"]}, ["distinct-1"])
    assert c.settings["refusal_rates"] == {"base": 0.25, "aligned": 0.25}
