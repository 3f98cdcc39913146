"""Refusal detection: documented, versioned rule sets (and an optional local
classifier), classifying each completion as a refusal, a partial refusal (it
declines part of the task, or says it will not, and answers the rest) or an
answer. Every detector reads the completion only, never the prompt.

``rules-v2`` (the default, ``quality/data/refusal_rules_v2.json``) scores the
model's own first sentences (outside quotation marks and dialogue lines) with
word-bounded phrase features: first-person refusals ("I can't provide",
"I'm not able to"), apologies followed by "but", AI disclaimers ("As an AI,
I don't hold opinions"), verdicts on the request ("it is not appropriate",
"there is no valid reason"), cautions that open an answer ("It's important
to note that ... is illegal"), premise corrections, and markers of
compliance (a list, "Here are"). A logistic model over those features,
whose weights ship in the same file and were fitted on XSTest v2 (and
measured leave-one-model-out), gives the probability of an expressed
refusal; a refusal followed by a substantive turn to an answer ("However,
here are...") is ``partial``. Placeholders and empty completions are
refusals; bare short answers ("No.", "Yes.", "42") are answers.

``rules-v3`` (opt-in, ``refusal_rules_v3.json``) is rules-v2 with its weights,
bias and threshold kept, plus five phrase families for soft refusals that argue
with the request (a lecture after the first sentence, "is not a healthy way")
and one against them (the request's subject "is inanimate", "lacks the ability").

``rules-v1`` (``refusal_rules_v1.json``, the default of 0.2) is kept
unchanged so that 0.2 numbers stay reproducible with ``det:rules-v1``.
Measured precision and recall of both are in ``docs/metrics/refusal-rate.md``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Sequence

import numpy as np

__all__ = ["RefusalDetector", "ScoredRulesDetector", "LABELS", "DETECTORS", "LEARNED", "DEFAULT_DETECTOR",
           "rules_detector", "detector_from_spec", "classify_refusals"]

LABELS = ("refusal", "partial", "answer")
_QUOTES = "\"“”«»„"
_SPEAKER = re.compile(r"^[A-Z][A-Za-z0-9 .'_-]{0,24}:\s")
_SENTENCE = re.compile(r"(?<=[.!?。！？।])\s+|\n+|(?<=[。！？])")


@dataclass(frozen=True)
class RefusalDetector:
    """A rule set (from a JSON file of regular expressions); ``classify`` returns one of :data:`LABELS`."""

    version: str
    rules: dict = field(repr=False, compare=False)

    @classmethod
    def from_file(cls, path: str) -> "RefusalDetector":
        with open(path, encoding="utf-8") as f:
            rules = json.load(f)
        return cls(rules["version"], rules)

    @property
    def spec(self) -> str:
        return self.version

    def _compiled(self) -> dict[str, Any]:
        return _compile(json.dumps(self.rules, sort_keys=True))

    def classify(self, text: str) -> str:
        return self.explain(text)[0]

    def explain(self, text: str) -> tuple[str, str]:
        """``(label, reason)``: the label and the rule that decided it."""
        c = self._compiled()
        flat = unicodedata.normalize("NFC", " ".join(text.split()))
        low = flat.lower()
        if c["placeholder"].fullmatch(low):
            return "refusal", "placeholder or empty"
        if c["short_refusal"].fullmatch(low):
            return "refusal", "short refusal"
        head = text.strip()[: c["head_chars"]]
        pos = 0
        for i, sentence in enumerate(s for s in _SENTENCE.split(head) if s and s.strip()):
            if i >= c["head_sentences"]:
                break
            start = head.find(sentence, pos)
            pos = start + len(sentence)
            raw = sentence.strip()
            before = head[:max(start, 0)]
            if sum(before.count(q) for q in _QUOTES) % 2 == 1 or raw[:1] in _QUOTES or _SPEAKER.match(raw):
                continue  # dialogue in a story, or a quotation: not the model's own refusal
            s = " ".join(raw.lower().split())
            if any(p.search(s) for p in c["not_refusal"]):
                continue
            if any(p.search(s) for p in c["partial"]):
                return "partial", "a limited answer"
            quotes_before = sum(before.count(q) for q in _QUOTES)
            for p in c["refusal"]:
                m = p.search(s)
                if m and (quotes_before + sum(s[:m.start()].count(q) for q in _QUOTES)) % 2 == 1:
                    continue  # the phrase is quoted ("the phrase 'I can't help with that'"), not said
                if m:
                    rest = (s[m.end():] + " " + head[pos:] + text.strip()[len(head):]).lower()
                    words = len(rest.split()) + sum(1 for ch in rest if "\u3040" <= ch <= "\u9fff") // 2
                    if words >= 5 and any(x.search(rest) for x in c["partial_markers"]):
                        return "partial", f"refusal, then an answer ({p.pattern[:40]}...)"
                    return "refusal", f"refusal phrase ({p.pattern[:40]}...)"
        return "answer", "no refusal phrase at the start"


@lru_cache(maxsize=8)
def _compile(rules_json: str) -> dict[str, Any]:
    r = json.loads(rules_json)
    flags = re.IGNORECASE | re.UNICODE
    return {"placeholder": re.compile(r["placeholder"], flags), "short_refusal": re.compile(r["short_refusal"], flags),
            "refusal": [re.compile(p, flags) for p in r["refusal"]],
            "not_refusal": [re.compile(p, flags) for p in r["not_refusal"]],
            "partial_markers": [re.compile(p, flags) for p in r["partial_markers"]],
            "partial": [re.compile(p, flags) for p in r.get("partial", [])],
            "head_sentences": int(r["head_sentences"]), "head_chars": int(r["head_chars"])}


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'"})
# screenplay lines: "INT. DINER - NIGHT", "SARAH I can't help you."
_SCREENPLAY = re.compile(r"^(?:INT|EXT)\.|^[A-Z]{3,}(?: [A-Z]{2,})?(?: \([a-z ]+\))? [A-Z(]")
_MARKUP = re.compile(r"^[\s>*#_`-]+")
# a quoted span of two words or more ("the phrase 'I can't help with that'"); one quoted word stays
_QUOTED = re.compile(r"\"[^\"\s]*\s[^\"]{0,300}\"|\u201c[^\u201d\s]*\s[^\u201d]{0,300}\u201d|\u00ab[^\u00bb]{0,300}\u00bb|"
                     r"\u201e[^\u201c\u201d]{0,300}[\u201c\u201d]|(?<![\w'])'[^'\s]*\s[^']{0,200}'(?![\w'])")


def _model_voice(text: str, head_chars: int, head_sentences: int) -> tuple[list[tuple[str, int, int]], str]:
    """The first ``head_sentences`` sentences within ``head_chars`` characters said in the model's own
    voice (not inside quotation marks, not a dialogue line), lowercased and whitespace-normalised, with
    their end and start offsets in the normalised text; and the normalised text itself."""
    flat = " ".join(unicodedata.normalize("NFC", text).translate(_APOSTROPHES).split())
    head = flat[:head_chars]
    out: list[tuple[str, int, int]] = []
    pos = 0
    for sentence in (s for s in _SENTENCE.split(head) if s and s.strip()):
        if len(out) >= head_sentences:
            break
        start = head.find(sentence, pos)
        pos = start + len(sentence)
        raw = _MARKUP.sub("", sentence.strip())
        before = head[:max(start, 0)]
        if sum(before.count(q) for q in _QUOTES) % 2 == 1 or raw[:1] in _QUOTES or _SPEAKER.match(raw) \
                or _SCREENPLAY.match(raw):
            continue  # dialogue in a story, or a quotation: not the model's own words
        out.append((_QUOTED.sub(" \u2026 ", raw).lower(), pos, start))  # a refusal quoted inside a sentence is not said
    return out, flat


@dataclass(frozen=True)
class ScoredRulesDetector:
    r"""A rule set of word-bounded phrase features combined by a logistic model (``rules-v2``).

    The probability that a completion expresses a refusal is

    .. math:: p = \sigma\Big(b + \sum_f w_f\, x_f\Big),

    with :math:`x_f \in [0, 1]` the value of feature f (a phrase family matched in the
    completion's first sentence or first few sentences, capped counts divided by the cap) and the
    weights :math:`w_f`, bias b and threshold in the rule file. A completion whose p reaches the
    threshold, or that says a *decisive* phrase (a first-person refusal such as "I can't provide",
    a policy message, a refusal in another language), is ``partial`` when a turn to an answer
    ("however", "here are", "but I can") follows its first refusal cue with at least
    ``partial_min_words`` words after it, else ``refusal``.
    A limited answer ("I can only give a general overview") is ``partial`` whatever p is.
    Placeholders and empty completions are refusals, short refusals ("I won't.") too; other short
    answers ("No.", "Yes.", "42") are answers. :meth:`split` returns the answer part.

    A refusal detector, not a diversity measure: its measured precision and recall (XSTest v2,
    pooled, per model and leave one model out, and the hand-labelled set) are in
    ``docs/metrics/refusal-rate.md``.

    References
    ----------
    P. Röttger et al. XSTest: A Test Suite for Identifying Exaggerated Safety Behaviours in Large
    Language Models. NAACL 2024 (the human labels the weights were fitted on).

    Examples
    --------
    >>> det = rules_detector("rules-v2")
    >>> [det.classify(t) for t in ["Exercise plays a significant role in health.", "No.",
    ...                            "I'm sorry, but I can't help with that.", "[Blocked]"]]
    ['answer', 'answer', 'refusal', 'refusal']
    """

    version: str
    rules: dict = field(repr=False, compare=False)

    @classmethod
    def from_file(cls, path: str) -> "ScoredRulesDetector":
        with open(path, encoding="utf-8") as f:
            rules = json.load(f)
        return cls(rules["version"], rules)

    @property
    def spec(self) -> str:
        return self.version

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f["name"] for f in self.rules["features"])

    def _compiled(self) -> dict[str, Any]:
        c = self.__dict__.get("_compiled_rules")
        if c is None:  # compiled once per detector (the rules are not meant to change after loading)
            c = _compile_v2(json.dumps(self.rules, sort_keys=True))
            object.__setattr__(self, "_compiled_rules", c)
        return c

    def features(self, text: str) -> np.ndarray:
        """The feature vector of ``text`` (in :attr:`feature_names` order)."""
        return self._features(text)[0]

    def _features(self, text: str) -> tuple[np.ndarray, list[tuple[str, int]], str, int]:
        c = self._compiled()
        sentences, flat = _model_voice(text, c["head_chars"], c["head_sentences"])
        sentences = [t for t in sentences if not any(p.search(t[0]) for p in c["not_refusal"])]
        first = sentences[0][0] if sentences else ""
        n_words = len(flat.split()) + sum(1 for ch in flat if "\u3040" <= ch <= "\u9fff") // 2
        opening = flat.lower()[:c["opening_chars"]]
        x = np.zeros(len(c["features"]))
        for i, (scope, patterns, cap) in enumerate(c["features"]):
            if scope == "words<":  # a short completion: fewer than `cap` words
                x[i] = float(n_words < cap)
                continue
            targets = [t[0] for t in sentences] if scope == "head" else [t[0] for t in sentences[1:]] \
                if scope == "rest" else [first if scope == "first" else opening]
            if cap == 1:  # only whether one pattern matches
                x[i] = float(any(p.search(t) for t in targets for p in patterns))
            else:
                x[i] = min(sum(1 for t in targets for p in patterns for _ in p.finditer(t)), cap) / cap
        return x, sentences, flat, n_words

    def probability(self, text: str) -> float:
        """The logistic model's probability that ``text`` expresses a refusal (before the overrides for
        placeholders and short answers)."""
        x = self.features(text)
        c = self._compiled()
        return float(1.0 / (1.0 + np.exp(-(c["bias"] + float(x @ c["weights"])))))

    def classify(self, text: str) -> str:
        return self.explain(text)[0]

    def explain(self, text: str) -> tuple[str, str]:
        """``(label, reason)``: the label and what decided it."""
        return self._decide(text)[:2]

    def split(self, text: str) -> tuple[str, str]:
        """``(label, answer)``: the label and the part of the completion that answers.

        An answer is kept whole, a refusal has no answer part (``""``), and a partial refusal keeps
        what follows its turn to an answer ("However, here are...", "but I can suggest..."), or the
        whole completion when it is a limited answer ("I can only give a general overview: ...").
        Whitespace is normalised (runs of spaces and newlines become one space).

        Examples
        --------
        >>> rules_detector().split("I can't write the full essay, but here is an outline you can build on: "
        ...                        "an opening anecdote, three reasons, a closing image.")
        ('partial', 'but here is an outline you can build on: an opening anecdote, three reasons, a closing image.')
        """
        label, _, start, flat = self._decide(text)
        return label, ("" if label == "refusal" else flat[start:].lstrip(" ,;:") if start is not None else flat)

    def _decide(self, text: str, z_extra: float = 0.0, threshold: float | None = None
                ) -> tuple[str, str, int | None, str]:
        """The label, the reason, where the answer part of a partial refusal starts in the normalised
        text (None: the whole text), and the normalised text. ``z_extra`` is added to the logit and
        ``threshold`` replaces the rule file's (a learned model on top of these rules uses both)."""
        c = self._compiled()
        low = " ".join(unicodedata.normalize("NFC", text).translate(_APOSTROPHES).split()).lower()
        if c["placeholder"].fullmatch(low):
            return "refusal", "placeholder or empty", None, low
        if c["short_refusal"].fullmatch(low):
            return "refusal", "short refusal", None, low
        x, sentences, flat, n_words = self._features(text)
        z = c["bias"] + float(x @ c["weights"]) + z_extra
        p = 1.0 / (1.0 + np.exp(-z))
        threshold = c["threshold"] if threshold is None else threshold
        top = sorted(((w * v, n) for w, v, n in zip(c["weights"], x, c["names"]) if v), reverse=True)[:3]
        why = ", ".join(f"{n} {w:+.1f}" for w, n in top) or "no feature"
        decisive = [n for n, v, d in zip(c["names"], x, c["decisive"]) if v and d]
        limited = any(pm.search(t[0]) for t in sentences for pm in c["partial"])
        if p < threshold and not decisive:
            if limited:
                return "partial", f"a limited answer; p={p:.2f} ({why})", None, flat
            return "answer", f"p={p:.2f} ({why})", None, flat
        if decisive:
            why = f"{decisive[0]} (decisive); p={p:.2f} ({why})"
        # a turn to an answer after the first refusal cue (in the cue's sentence or later)
        lowflat = flat.lower()
        origin = sentences[0][1] if sentences else 0
        for s, end, start in sentences:
            hits = [m for m in (p_.search(s) for p_ in c["cues"]) if m]
            if hits:
                cue = min(hits, key=lambda m_: m_.end())
                # the cue's text found again in the original sentence (quoted spans were shortened in `s`)
                at = lowflat.find(cue.group(0), start, end)
                origin = at + len(cue.group(0)) if at >= 0 else end
                break
        turns = [m for m in (pm.search(lowflat, origin) for pm in c["partial_markers"]) if m]
        turns = [m for m in turns if len(lowflat[m.start():].split()) >= c["partial_min_words"]]
        if turns:
            m = min(turns, key=lambda m_: m_.start())
            return "partial", f"p={p:.2f} ({why}), then an answer ({m.group(0)!r})", m.start(), flat
        if limited:
            return "partial", f"p={p:.2f} ({why}), a limited answer", None, flat
        return "refusal", f"p={p:.2f} ({why})", None, flat

    def classify_many(self, texts: Sequence[str]) -> list[str]:
        return [self.classify(t) for t in texts]


@lru_cache(maxsize=8)
def _compile_v2(rules_json: str) -> dict[str, Any]:
    r = json.loads(rules_json)
    flags = re.IGNORECASE | re.UNICODE
    feats = [(f["scope"], [re.compile(p, flags) for p in f.get("patterns", [])], int(f.get("cap", 1)))
             for f in r["features"]]
    cues = [re.compile(p, flags) for f in r["features"] if f.get("cue") for p in f["patterns"]]
    return {"placeholder": re.compile(r["placeholder"], flags), "short_refusal": re.compile(r["short_refusal"], flags),
            "not_refusal": [re.compile(p, flags) for p in r["not_refusal"]],
            "partial_markers": [re.compile(p, flags) for p in r["partial_markers"]],
            "partial": [re.compile(p, flags) for p in r.get("partial", [])],
            "features": feats, "cues": cues, "names": [f["name"] for f in r["features"]],
            "decisive": [bool(f.get("decisive")) for f in r["features"]],
            "weights": np.array([float(r["weights"][f["name"]]) for f in r["features"]]),
            "bias": float(r["bias"]), "threshold": float(r["threshold"]),
            "partial_min_words": int(r["partial_min_words"]),
            "head_sentences": int(r["head_sentences"]), "head_chars": int(r["head_chars"]),
            "opening_chars": int(r["opening_chars"])}


DETECTORS = ("rules-v1", "rules-v2", "rules-v3")
DEFAULT_DETECTOR = "rules-v2"


@lru_cache(maxsize=4)
def rules_detector(version: str = DEFAULT_DETECTOR) -> RefusalDetector | ScoredRulesDetector:
    """A built-in rule set: ``"rules-v2"`` (the default), ``"rules-v3"`` (rules-v2 with phrase families for soft
    refusals that argue with the request; opt-in) or ``"rules-v1"`` (the default of 0.2).

    Raises
    ------
    InvalidParameterError
        For any other version.
    """
    if version not in DETECTORS:
        from ..core.errors import InvalidParameterError

        raise InvalidParameterError(f"The 'version' parameter of rules_detector must be one of {DETECTORS}. "
                                    f"Got {version!r} instead.")
    path = str(resources.files(__package__).joinpath("data", f"refusal_{version.replace('-', '_')}.json"))
    return RefusalDetector.from_file(path) if version == "rules-v1" else ScoredRulesDetector.from_file(path)


LEARNED = ("clf-v1",)


def detector_from_spec(spec: str) -> Any:
    """A detector from its spec: ``"rules-v2"``, ``"rules-v3"``, ``"rules-v1"``, ``"clf-v1"`` (rules-v2 with a learned
    correction from sentence embeddings, see :mod:`diversity.quality.learned`) or
    ``"hf:<local model folder>"``.

    Raises
    ------
    InvalidParameterError
        For any other spec.
    """
    if spec in DETECTORS:
        return rules_detector(spec)
    if spec in LEARNED:
        from .learned import learned_detector

        return learned_detector(spec)
    if isinstance(spec, str) and spec.startswith("hf:") and len(spec) > 3:
        from .classifier import ClassifierDetector

        return ClassifierDetector(spec[3:])
    from ..core.errors import InvalidParameterError

    raise InvalidParameterError(f"The 'detector' parameter must be one of {', '.join(map(repr, DETECTORS + LEARNED))}"
                                f" or 'hf:<local model folder>'. Got {spec!r} instead.")


def classify_refusals(texts: Sequence[str], detector: Any = None) -> list[str]:
    """The label of every text (``detector``: a detector object, a spec such as ``"rules-v1"``,
    ``"clf-v1"`` or ``"hf:<folder>"`` (see :func:`detector_from_spec`), or None for the default
    ``rules-v2``)."""
    det = detector_from_spec(detector) if isinstance(detector, str) else detector or rules_detector()
    if hasattr(det, "classify_many"):
        return list(det.classify_many(list(texts)))
    return [det.classify(t) for t in texts]
