"""Pulling categorical fields (name, age, gender, nationality...) out of
generated persona descriptions, reporting every output it cannot parse
instead of dropping it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Sequence

__all__ = ["extract_fields", "extract_attributes", "AttributeTable", "PERSONA_FIELDS"]

PERSONA_FIELDS = ("name", "age", "gender", "nationality")


def _clean(field_name: str, value: str, fields: Sequence[str] = ()) -> str | None:
    v = re.sub(r"[*_`]+", "", value).strip().strip(" .,;:-–—\"'")
    if not v or v.casefold() in {f.casefold() for f in fields}:  # empty, or the next field's label
        return None
    if field_name == "age":
        m = re.search(r"(?<!\d)\d{1,3}(?!\d)", v)  # "1990" is no age, not 199
        return m.group(0) if m else None
    return v.split("\n")[0].strip()


def extract_fields(text: str, fields: Sequence[str] = PERSONA_FIELDS) -> dict[str, str | None]:
    """Values of ``fields`` in one generated text (``None`` where absent).

    Accepted forms, case-insensitive: ``Field: value`` lines (also with
    Markdown bullets or bold, ``-``/``–`` as separator) and a JSON object
    with those keys. Values are stripped of Markdown and trailing
    punctuation; ages become their first integer. A field left empty is
    ``None`` (its value is never taken from the next line), and so is a value
    that is just the name of one of ``fields`` (a model that wrote the next
    label instead of a value).

    >>> extract_fields("Name: Ana Ruiz\\n**Age:** 34 years\\n- Gender: female\\nNationality: Mexican.")
    {'name': 'Ana Ruiz', 'age': '34', 'gender': 'female', 'nationality': 'Mexican'}
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    out: dict[str, str | None] = {f: None for f in fields}
    m = re.search(r"\{.*?\}", text, re.S)
    if m:
        try:
            obj = json.loads(m.group(0))
            if isinstance(obj, dict):
                lower = {str(k).lower(): v for k, v in obj.items()}
                for f in fields:
                    if f in lower and lower[f] is not None:
                        out[f] = _clean(f, str(lower[f]), fields)
        except json.JSONDecodeError:
            pass
    for f in fields:
        if out[f] is not None:
            continue
        # [ \t] (not \s) after the line start: a field left empty must not take the next line as its value
        pat = re.compile(rf"(?im)^[ \t>*#\-•\d.)]*\**[ \t]*{re.escape(f)}[ \t]*\**[ \t]*[:\-–—][ \t]*\**(.+)$")
        hit = pat.search(text)
        if hit:
            out[f] = _clean(f, hit.group(1), fields)
    return out


@dataclass
class AttributeTable:
    """Extracted values per field (aligned with the input texts; ``None`` =
    not found) and the texts that could not be parsed completely."""

    values: dict[str, list[str | None]]
    failures: list[tuple[int, tuple[str, ...], str]] = field(default_factory=list)
    n: int = 0
    heads: list[str] = field(default_factory=list)  # the first 80 characters of every text
    rules: dict[str, str] = field(default_factory=dict)  # field -> normalisation rule version applied ({}: raw)

    def column(self, name: str) -> list[str]:
        """The values found for one field (missing ones left out; see ``failures``)."""
        return [v for v in self.values[name] if v is not None]

    @property
    def parse_rate(self) -> float:
        return 1.0 - len(self.failures) / self.n if self.n else float("nan")


def extract_attributes(texts: Sequence[str], fields: Sequence[str] = PERSONA_FIELDS) -> AttributeTable:
    """Extract ``fields`` from every text; each text missing a field is listed
    in ``failures`` as (index, missing fields, first 80 characters)."""
    table = AttributeTable({f: [] for f in fields}, [], len(texts), [t[:80] for t in texts])
    for i, t in enumerate(texts):
        got = extract_fields(t, fields)
        for f in fields:
            table.values[f].append(got[f])
        missing = tuple(f for f in fields if got[f] is None)
        if missing:
            table.failures.append((i, missing, t[:80]))
    return table
