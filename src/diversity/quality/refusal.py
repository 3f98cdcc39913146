"""Refusal detection: a documented, versioned rule set (and an optional local
classifier), classifying each completion as a refusal, a partial refusal (it
declines part of the task but answers the rest) or an answer.

The rules live in a data file (``quality/data/refusal_rules_v1.json``) whose
version is written into every signature (``det:rules-v1``). They read the
completion only, never the prompt: a completion that is a placeholder or empty
(``[Blocked]``, ``null``, ``""``) is a refusal; a refusal phrase ("I can't
help with that", "I'm sorry, but I cannot", "As an AI, I don't", policy
language, and the common forms in French, German, Spanish, Portuguese,
Italian, Russian, Chinese, Japanese and Hindi) that starts one of the first
sentences, outside quotation marks or a dialogue line, makes it a refusal,
or a partial refusal when a substantive answer follows (at least 20 more
words, or a turn such as "however", "here are", "instead"). Idioms such as
"I can't believe", "I cannot recommend it enough" and apologies without a
refusal ("I'm sorry to hear that") are answers. Measured precision and recall
are in ``docs/metrics/refusal-rate.md``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Sequence

__all__ = ["RefusalDetector", "LABELS", "rules_detector", "classify_refusals"]

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


@lru_cache(maxsize=1)
def rules_detector() -> RefusalDetector:
    """The built-in rule set ``rules-v1``."""
    path = resources.files(__package__).joinpath("data", "refusal_rules_v1.json")
    return RefusalDetector.from_file(str(path))


def classify_refusals(texts: Sequence[str], detector: Any = None) -> list[str]:
    """The label of every text (``detector``: a RefusalDetector, a classifier backend, or None for rules-v1)."""
    det = detector or rules_detector()
    if hasattr(det, "classify_many"):
        return list(det.classify_many(list(texts)))
    return [det.classify(t) for t in texts]
