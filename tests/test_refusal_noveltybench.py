"""NoveltyBench's utility with the partition rule as a parameter: the short-answer rule on or off, a
user equivalence function, partitions given (and NoveltyBench's shipped partitions and utilities
reproduced from them when a local copy of its scores file is named by NOVELTYBENCH_SCORES)."""

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import diversity
from diversity.metrics.effective import greedy_classes

W = 0.8 ** np.arange(4)


def test_partitions_given_are_used_as_they_are():
    texts = ["alpha", "beta", "alpha again", "gamma"]
    r = diversity.novelty_utility(texts, [9, 7, 9, 5], partitions=[0, 1, 0, 2])
    assert r.value == pytest.approx((9 * W[0] + 7 * W[1] + 5 * W[3]) / W.sum())
    assert r.details["distinct"] == (3,) and "|eq:given|order:given|" in r.signature and "short:" not in r.signature
    # labels are only compared for equality: any ints work, in any order
    same = diversity.novelty_utility(texts, [9, 7, 9, 5], partitions=[7, 3, 7, 0])
    assert same.value == r.value
    many = diversity.novelty_utility({"p": texts, "q": ["x", "y", "z", "w"]}, {"p": [9, 7, 9, 5], "q": [1, 1, 1, 1]},
                                     partitions={"p": [0, 1, 0, 2], "q": [0, 0, 0, 0]})
    assert many.per_group == pytest.approx((r.value, 1 / W.sum())) and many.details["distinct"] == (3, 1)


def test_short_answer_rule_is_a_parameter():
    texts, x = ["blue sky", "sky blue", "red"], np.eye(3)
    on = diversity.novelty_utility(texts, [5, 5, 5], embeddings=x)
    off = diversity.novelty_utility(texts, [5, 5, 5], embeddings=x, short_words=0)
    assert on.details["distinct"] == (2,) and off.details["distinct"] == (3,)
    assert "|eq:cos<0.25|short:5|" in on.signature and "|eq:cos<0.25|short:off|" in off.signature
    # "blue sky" / "sky blue" have 2 words: a rule for answers of at most 1 word does not apply
    assert greedy_classes(texts, x, 0.25, short_words=1) == [0, 1, 2]
    assert greedy_classes(texts, x, 0.25, short_words=2) == [0, 0, 1]


def test_user_equivalence_function():
    def same_first_word(a, b):
        return a.split()[0] == b.split()[0]

    texts = ["Paris is lovely in spring, with long walks by the river", "Paris again, but in winter and rain",
             "Lisbon has trams and hills and the best custard tarts", "Lisbon at night is quiet and warm"]
    r = diversity.novelty_utility(texts, [8, 8, 6, 6], equivalence=same_first_word)
    assert r.details["distinct"] == (2,) and r.value == pytest.approx((8 * W[0] + 6 * W[2]) / W.sum())
    assert "|eq:user:test_user_equivalence_function.<locals>.same_first_word|short:5|" in r.signature
    with pytest.raises(diversity.InvalidParameterError, match="'equivalence' function of novelty_utility must "
                                                              "return a bool"):
        diversity.novelty_utility(texts, [1, 1, 1, 1], equivalence=lambda a, b: 0.3)


def test_partition_errors_name_the_parameter():
    with pytest.raises(diversity.InvalidParameterError, match="an 'equivalence' function or 'partitions', not both"):
        diversity.novelty_utility(["a", "b"], [1, 1], partitions=[0, 1], equivalence=lambda a, b: True)
    with pytest.raises(diversity.InvalidParameterError, match="have 3 labels for prompt"):
        diversity.novelty_utility(["a", "b"], [1, 1], partitions=[0, 1, 2])
    with pytest.raises(diversity.InvalidParameterError, match="have no entry for prompt 'q'"):
        diversity.novelty_utility({"p": ["a", "b"], "q": ["c", "d"]}, {"p": [1, 1], "q": [1, 1]},
                                  partitions={"p": [0, 1]})
    with pytest.raises(diversity.InvalidParameterError, match="The 'partitions' parameter of novelty_utility must be"):
        diversity.novelty_utility(["a", "b"], [1, 1], partitions=["x", "y"])
    with pytest.raises(diversity.InvalidParameterError, match="The 'short_words' parameter of novelty_utility must be"):
        diversity.novelty_utility(["a", "b"], [1, 1], partitions=[0, 1], short_words=-1)


SCORES = os.environ.get("NOVELTYBENCH_SCORES")


@pytest.mark.skipif(not SCORES, reason="set NOVELTYBENCH_SCORES to a local copy of NoveltyBench's scores.jsonl "
                                       "(evaluation/<run>/nb-curated/scores.jsonl in github.com/novelty-bench/"
                                       "novelty-bench); it is not shipped here")
def test_noveltybench_shipped_partitions_and_utilities_are_reproduced():
    """With NoveltyBench's own partitions and generation scores, every prompt's utility is theirs to
    1e-12 and the mean is their summary's mean_utility; our distinct count is their max label + 1.
    Measured on the gemini-1.5-pro nb-curated run (100 prompts): max |difference| 1.8e-15, mean utility
    2.8658255953362204 both; mean distinct 1.83 (theirs 0.83, the largest class index)."""
    rows = [json.loads(line) for line in Path(SCORES).read_text(encoding="utf-8").splitlines() if line.strip()]
    samples = {r["id"]: r["generations"] for r in rows}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = diversity.novelty_utility(samples, {r["id"]: r["generation_scores"] for r in rows},
                                        partitions={r["id"]: r["partition"] for r in rows})
    by_prompt = dict(zip(res.groups, res.per_group))
    distinct = dict(zip(res.groups, res.details["distinct"]))
    for r in rows:
        assert by_prompt[r["id"]] == pytest.approx(r["utility"], abs=1e-12), r["id"]
        assert distinct[r["id"]] == max(r["partition"]) + 1 == r["distinct"] + 1
    assert res.value == pytest.approx(np.mean([r["utility"] for r in rows]), abs=1e-12)
