"""Refusal rate: the share of completions that decline the task, per prompt
and overall, with a bootstrap CI over prompts like every other metric."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..core.corpus import Corpus
from ..core.evaluate import evaluate
from ..core.metric import Computed, Metric
from ..core.options import Options, with_options
from ..core.params import Choice, Param
from ..core.registry import register
from ..core.result import DiversityResult
from ..quality.gates import detector_from_spec
from ..quality.refusal import DEFAULT_DETECTOR, DETECTORS, LABELS, LEARNED, classify_refusals

__all__ = ["RefusalRate", "refusal_rate", "detector_from_spec"]


class _Detector:  # constraint: a built-in rule set's name or "hf:<folder>"
    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and (value in DETECTORS + LEARNED or (value.startswith("hf:") and len(value) > 3))

    def describe(self) -> str:
        return " or ".join(repr(d) for d in DETECTORS + LEARNED) + " or 'hf:<local model folder>'"

    def normalize(self, value: Any) -> Any:
        return value

    def format(self, value: Any) -> str:
        return value

    def parse(self, text: str) -> Any:
        return text


@register
class RefusalRate(Metric):
    """Share of completions that are refusals; see :func:`refusal_rate`."""

    name, func = "refusal-rate", "refusal_rate"
    params = (Param("detector", _Detector(), DEFAULT_DETECTOR, "``rules-v2`` (default), ``rules-v1`` (0.2's default), "
                    "``clf-v1`` or ``hf:<folder>``; recorded as ``det:``."),
              Param("count", Choice(("refusal", "refusal+partial")), "refusal",
                    "Count clear refusals only, or partial refusals too; recorded as ``count:``."))
    higher_is_more_diverse = False  # a refusal is not a diverse answer
    diversity = False
    per_completion = True
    blank_value = 1.0  # an empty completion is a non-answer: a refusal
    blank_group_value = 1.0
    references = ("zhang2025noveltybench",)
    length_sensitive = False  # a label per completion, decided on the full text by compare()

    def fields(self, ctx: Any) -> list[tuple[str, Any]]:
        return [("det", detector_from_spec(self.detector).spec), ("count", self.count)]

    def compute(self, corpus: Corpus) -> Computed:
        labels = classify_refusals(corpus.texts, detector_from_spec(self.detector))
        bad = {"refusal"} if self.count == "refusal" else {"refusal", "partial"}
        flags = np.array([1.0 if lab in bad else 0.0 for lab in labels])
        refused = np.bincount(corpus.group_of_item, weights=flags, minlength=corpus.n_groups) + corpus.blank_counts
        total = corpus.sizes + corpus.blank_counts
        return Computed(refused / total, {"per_completion": [flags[corpus.group_slice(g)] for g in range(corpus.n_groups)],
                                          "labels": [labels[corpus.group_slice(g)] for g in range(corpus.n_groups)]})

    def details(self, extras: dict[str, list], n_groups: int) -> dict[str, Any]:
        flat = [lab for labs in extras.get("labels", []) for lab in labs]
        return {"per_completion": tuple(float(x) for p in extras.get("per_completion", []) for x in p),
                "label_counts": {lab: flat.count(lab) for lab in LABELS}}


@with_options("aggregate", "ci")
def refusal_rate(samples: Any, *, detector: str = "rules-v2", count: Literal["refusal", "refusal+partial"] = "refusal",
                 options: Options) -> DiversityResult:
    r"""Refusal rate: the share of completions that decline the task.

    .. math:: \mathrm{RR}(S) = \frac{1}{|S|}\sum_{s \in S} \mathbb{1}[\mathrm{refusal}(s)]

    ``refusal(s)`` is the detector's label: ``"rules-v2"`` (the default:
    word-bounded phrase features of the completion's first sentences and a
    logistic model whose weights ship in a data file, see
    :class:`~diversity.quality.refusal.ScoredRulesDetector`), ``"rules-v1"``
    (0.2's default, kept so that 0.2 numbers are reproducible), ``"clf-v1"``
    (rules-v2 with a learned correction from the default sentence
    embeddings, see :mod:`diversity.quality.learned`; needs the ``embed``
    extra and is much slower) or ``"hf:<folder>"`` (any local Hugging Face
    sequence-classification model, see
    :class:`~diversity.quality.classifier.ClassifierDetector`). Empty and
    whitespace-only completions and placeholders (``[Blocked]``) count as
    refusals; bare short answers ("No.", "Yes.", "42") do not.
    ``count="refusal+partial"`` also counts partial refusals (declines part of
    the task, or says it will not, and answers the rest).
    ``details["per_completion"]`` holds each completion's 0/1 flag and
    ``details["label_counts"]`` the labels.

    Not a diversity metric: it says how many answers a diversity metric sees.
    Lower is more willing; range [0, 1]. Measured against human labels on
    XSTest v2 (2,250 completions of five chat models; refusal or partial =
    positive), ``rules-v2`` has precision 0.954 and recall 0.928 (F1 0.941;
    0.935 with its weights fitted leave-one-model-out), ``rules-v1`` 0.963 /
    0.672 (F1 0.792), ``clf-v1`` 0.972 / 0.959 (F1 0.965; 0.948 leave one
    model out); on the 294 hand-labelled completions of
    ``tests/data/refusals`` ``rules-v2`` has precision 0.973 and recall 0.901
    (refusal or partial). The card ``docs/metrics/refusal-rate.md`` has the
    per-model figures.
    Per model and per label: ``docs/metrics/refusal-rate.md``.

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
    detector : {"rules-v2", "rules-v1", "clf-v1"} or "hf:<folder>", default "rules-v2"
        Recorded as ``det:``.
    count : {"refusal", "refusal+partial"}, default "refusal"
        Recorded as ``count:``.
    <<SHARED>>

    Returns
    -------
    DiversityResult

    References
    ----------
    Y. Zhang et al. NoveltyBench: Evaluating Language Models for Humanlike
    Diversity. 2025. arXiv:2504.05228 (refusals and "[Blocked]" placeholders
    counted as answer classes there; about 14% of one aligned model's curated
    answers).

    P. Röttger, H. R. Kirk, B. Vidgen, G. Attanasio, F. Bianchi, D. Hovy.
    XSTest: A Test Suite for Identifying Exaggerated Safety Behaviours in
    Large Language Models. NAACL 2024. arXiv:2308.01263 (the human-labelled
    completions the detectors are measured on).

    Examples
    --------
    >>> refusal_rate(["I'm sorry, but I can't help with that.", "Here is a poem about rain.", "[Blocked]"]).value
    0.6666666666666666
    """
    return evaluate([RefusalRate(detector=detector, count=count)], options, samples=samples)[0]
