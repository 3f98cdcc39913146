"""Personas that small models can fill in: field-by-field forced prefixes.

arXiv 2406.05587 asked Llama-2 for customer personas and tabulated the
nationalities, genders and ages it gave. Small models asked the same thing
in free text rarely answer in a parseable form (diversity 0.1 parsed 1 of 32
outputs per side). Here the format is not asked for but forced: the model
only ever writes *values*.

For each prompt, ``k`` personas are written in ``len(form)`` rounds:

1. the prompt is rendered as usual (chat template or base template) and
   ``lead + "Name:"`` is forced as the start of the answer; ``k`` values are
   sampled, each cut at the first newline;
2. for every persona i, the next label is forced after what it has so far
   (``lead + "Name:" + v1 + "\\nAge:"``) and one value is sampled; and so on
   through the form.

Every round is a :func:`~diversity.generation.sample_to_jsonl` file in the
output folder (``01-name.jsonl``, ``02-age.jsonl``...), so the whole run
resumes and survives a kill like any other sampling run; round 1 holds
persona i as ``sample_index`` i of the prompt's own id, and every later round
holds it as prompt id ``"<prompt id>/<i>/<field>"`` (k = 1). Seeds derive
from the ids, so every value of every persona has its own: the fields of one
persona are not drawn from the same random numbers.
``personas.jsonl`` assembles them: one row per persona with ``completion`` =
the persona as ``Label: value`` lines, which
:func:`diversity.generation.extract.extract_attributes` parses, and
``truncated``, the fields whose value hit ``value_tokens`` before its line
ended (kept, but reported: the value may be cut). A value that comes back
empty (the model ended the line at once) is sampled again, with its own
seed, up to ``retries`` times, and the retries are counted per persona. A
value still empty after them, an age without a number, or a model that
cannot be made to continue (a chat endpoint) is reported, never dropped
silently: see :func:`persona_table`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Iterable, Sequence, Union

from .config import Backend, DecodingConfig, Prompt
from .extract import AttributeTable, extract_attributes
from .sampling import sample_to_jsonl

__all__ = ["PERSONA_FORM", "sample_personas", "persona_table", "normalize_personas", "age_bucket", "AGE_BUCKETS",
           "PERSONA_RULES"]

#: The :func:`~diversity.metrics.categorical.normalize_value` rule of each persona field (ages are taken to
#: their integer by the parser and bucketed with :func:`age_bucket`).
PERSONA_RULES: dict[str, str] = {"name": "text", "gender": "gender", "nationality": "nationality",
                                 "occupation": "text"}

#: The default form: (field, forced label) in the order they are filled in.
PERSONA_FORM: tuple[tuple[str, str], ...] = (("name", "Name:"), ("age", "Age:"), ("gender", "Gender:"),
                                              ("nationality", "Nationality:"), ("occupation", "Occupation:"))

#: Age buckets (lower bounds, labels): the market-research bands.
AGE_BUCKETS: tuple[tuple[int, str], ...] = ((0, "<18"), (18, "18-24"), (25, "25-34"), (35, "35-44"), (45, "45-54"),
                                            (55, "55-64"), (65, "65+"))


def age_bucket(age: str | int | None) -> str | None:
    """The :data:`AGE_BUCKETS` label of an age: an int, or a str of 1-3 digits (``None`` for ``None``, any
    other text, or an age outside 0..120; :func:`persona_table` has already taken ages to their integer).

    Examples
    --------
    >>> age_bucket("34"), age_bucket(17), age_bucket(70), age_bucket(200), age_bucket("34 years")
    ('25-34', '<18', '65+', None, None)
    """
    if age is None:
        return None
    if isinstance(age, str):
        m = re.fullmatch(r"\s*(\d{1,3})\s*", age)
        if m is None:
            return None
        age = m.group(1)
    a = int(age)
    if not 0 <= a <= 120:
        return None
    return [label for low, label in AGE_BUCKETS if a >= low][-1]


def _check_form(form: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    form = tuple((str(f), str(lab)) for f, lab in form)
    if not form:
        raise ValueError("the persona form needs at least one (field, label) pair")
    names = [f for f, _ in form]
    if len(set(names)) != len(names):
        raise ValueError(f"the persona form repeats a field: {names}")
    for f, lab in form:
        if not f or "\n" in lab or not lab.strip():
            raise ValueError(f"the persona form's field {f!r} needs a one-line label, got {lab!r}")
    return form


def _rows(path: Path) -> dict[tuple[str, int], dict]:
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                out[(r["prompt_id"], r["sample_index"])] = r
    return out


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def sample_personas(backend: Backend, prompts: Iterable[Prompt], out_dir: Union[str, os.PathLike],
                    config: DecodingConfig = DecodingConfig(), *, form: Sequence[tuple[str, str]] = PERSONA_FORM,
                    lead: str | None = None, value_tokens: int = 12, retries: int = 3,
                    progress: bool = True) -> Path:
    """Sample ``config.k`` personas per prompt, field by field, into ``out_dir``; returns ``personas.jsonl``.

    Parameters
    ----------
    backend : Backend
        A backend that takes forced prefixes (:class:`TransformersBackend`,
        or :class:`OpenAIBackend` with ``chat=False``).
    prompts : iterable of Prompt
        The persona requests (their own ``prefix`` must be empty).
    out_dir : path
        One resumable sample file per field and the assembled
        ``personas.jsonl`` (rewritten atomically at the end of every run).
    config : DecodingConfig
        ``k`` (personas per prompt), ``temperature``, ``top_p``, ``seed``,
        ``chat_template`` and ``base_template`` are used; every value is
        sampled with ``max_new_tokens=value_tokens``, ``stop=("\\n",)`` and
        no log-probabilities.
    form : sequence of (field, label)
        The fields in the order they are filled in (default
        :data:`PERSONA_FORM`: name, age, gender, nationality, occupation).
    lead : str or None
        Forced before the first label. ``None``: a newline after a base
        template (whose prompt ends in ``Answer:``), nothing after a chat
        template (the assistant's turn starts there).
    value_tokens : int
        The most tokens one value may take.
    retries : int
        An empty value (the model ended the line at once) is sampled again,
        with its own seed, up to this many times (``0``: never); the
        personas are then those the model writes when it writes a value
        (conditioned on a non-empty value), and the row's ``retries`` says
        how many were needed per field. Retries go to
        ``<round>.retries.jsonl`` with prompt ids ``<id>/<i>/<field>/retry<a>``.

    Returns
    -------
    Path
        ``out_dir/personas.jsonl``: rows ``prompt_id``, ``task`` (``"persona"``),
        ``prompt``, ``sample_index``, ``model``, ``settings`` (the first
        round's fingerprint), ``completion`` (``Label: value`` lines) and
        ``values`` (the raw value per field), ``truncated`` (the fields whose
        value reached ``value_tokens`` without ending its line) and
        ``retries`` (field -> retries used, where any).
    """
    form = _check_form(form)
    prompts = list(prompts)
    if any(p.prefix for p in prompts):
        raise ValueError("sample_personas forces its own prefixes: give prompts without a prefix")
    if not (isinstance(value_tokens, int) and value_tokens >= 1):
        raise ValueError(f"value_tokens must be a positive int, got {value_tokens!r}")
    if not (isinstance(retries, int) and not isinstance(retries, bool) and retries >= 0):
        raise ValueError(f"retries must be an int >= 0, got {retries!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    k = config.k
    if lead is None:
        lead = "\n" if backend.prompt_format(config) == "base-template" else ""
    step = dataclasses.replace(config, max_new_tokens=value_tokens, stop=("\n",), top_logprobs=0)
    single = dataclasses.replace(step, k=1)
    keys = [(p.id, i) for p in prompts for i in range(k)]
    text_of = {p.id: p.text for p in prompts}
    so_far = {key: lead for key in keys}
    chosen: dict[str, dict] = {}  # field -> {persona: the accepted row}
    tries: dict[str, dict] = {}  # field -> {persona: retries used}
    for j, (name, label) in enumerate(form, start=1):
        path = out_dir / f"{j:02d}-{name}.jsonl"
        meta = {"persona_form": form, "persona_round": j}
        context = {key: so_far[key] + ("\n" if j > 1 else "") + label for key in keys}
        if j == 1:  # one call per prompt: its k personas start together
            sample_to_jsonl(backend, [Prompt(p.id, p.text, "persona", context[(p.id, 0)]) for p in prompts], path,
                            step, progress=progress, extra_meta=meta)
            got = _rows(path)
            this = {key: got[key] for key in keys}
        else:
            sample_to_jsonl(backend, [Prompt(f"{pid}/{i}/{name}", text_of[pid], "persona", context[(pid, i)])
                                      for pid, i in keys], path, single, progress=progress, extra_meta=meta)
            got = _rows(path)
            this = {(pid, i): got[(f"{pid}/{i}/{name}", 0)] for pid, i in keys}
        used = dict.fromkeys(keys, 0)
        retry_path = out_dir / f"{j:02d}-{name}.retries.jsonl"
        for attempt in range(1, retries + 1):  # an empty value is sampled again, with its own seed
            empty = [key for key in keys if not this[key]["completion"].strip()]
            if not empty:
                break
            sample_to_jsonl(backend, [Prompt(f"{pid}/{i}/{name}/retry{attempt}", text_of[pid], "persona",
                                             context[(pid, i)])
                                      for pid, i in empty], retry_path, single, progress=progress,
                            extra_meta=dict(meta, persona_retries=True))
            again = _rows(retry_path)
            for pid, i in empty:
                this[(pid, i)] = again[(f"{pid}/{i}/{name}/retry{attempt}", 0)]
                used[(pid, i)] = attempt
        chosen[name], tries[name] = this, used
        for key in keys:
            so_far[key] = context[key] + this[key]["completion"]
    lines = []
    for key in keys:
        pid, i = key
        values = {name: chosen[name][key]["completion"].strip() for name, _ in form}
        truncated = [name for name, _ in form if chosen[name][key]["finish_reason"] == "length"]
        text = "\n".join(f"{label} {values[name]}".rstrip() for name, label in form)
        row = {"prompt_id": pid, "task": "persona", "prompt": text_of[pid], "sample_index": i,
               "model": backend.model_id, "settings": chosen[form[0][0]][key]["settings"], "completion": text,
               "values": values, "truncated": truncated,
               "retries": {name: tries[name][key] for name, _ in form if tries[name][key]}}
        lines.append(json.dumps(row, ensure_ascii=False) + "\n")
    out = out_dir / "personas.jsonl"
    _write_atomic(out, "".join(lines))
    return out


def normalize_personas(table: AttributeTable, rules: dict[str, str] | None = None) -> AttributeTable:
    """The normalised table beside the raw one: every field with a rule in ``rules`` (default
    :data:`PERSONA_RULES`) mapped through :func:`~diversity.metrics.categorical.normalize_value`.

    A value the rule rejects (``"23"`` as a gender, ``"Male"`` as a nationality, a value without a letter)
    becomes ``None`` and its persona is listed in ``failures`` with that field, as an unparsed one: counted,
    never dropped silently. ``table.rules`` records the rule versions applied (they go into the signature of
    the metrics computed from it). The raw table is not changed.

    Examples
    --------
    >>> raw = persona_table(["Name: Ana\\nAge: 34\\nGender: Woman\\nNationality: USA\\nOccupation: Nurse.",
    ...                      "Name: Bo\\nAge: 30\\nGender: 23\\nNationality: American\\nOccupation: nurse"])
    >>> t = normalize_personas(raw)
    >>> t.values["gender"], t.values["nationality"], t.values["occupation"], t.failures[0][:2]
    (['female', None], ['american', 'american'], ['nurse', 'nurse'], (1, ('gender',)))
    >>> raw.values["gender"]
    ['Woman', '23']
    """
    from ..core.errors import InvalidParameterError
    from ..metrics.categorical import NORMALIZATION_RULES, normalize_value

    rules = dict(PERSONA_RULES if rules is None else rules)
    bad = {f: r for f, r in rules.items() if r not in NORMALIZATION_RULES}
    if bad:
        raise InvalidParameterError(f"The 'rules' parameter of normalize_personas maps fields to rules among "
                                    f"{', '.join(map(repr, NORMALIZATION_RULES))}; got {bad!r}.")
    values = {f: list(vs) for f, vs in table.values.items()}
    missing = {i: set(m) for i, m, _ in table.failures}
    heads = {i: h for i, _, h in table.failures}
    for f, rule in rules.items():
        for i, v in enumerate(values.get(f, [])):
            if v is not None:
                values[f][i] = normalize_value(v, rule)
                if values[f][i] is None:
                    missing.setdefault(i, set()).add(f)
    failures = [(i, tuple(f for f in values if f in m),
                 heads.get(i, table.heads[i] if i < len(table.heads) else "")) for i, m in sorted(missing.items())]
    return AttributeTable(values, failures, table.n, list(table.heads),
                          {f: NORMALIZATION_RULES[r] for f, r in rules.items() if f in values})


def persona_table(texts: Sequence[str], fields: Sequence[str] = tuple(f for f, _ in PERSONA_FORM)) -> AttributeTable:
    """Parse persona texts (``Label: value`` lines, free text or JSON) with
    :func:`~diversity.generation.extract.extract_attributes`, and count an age
    outside 0..120 as not found.

    ``table.parse_rate`` is the fraction of texts with every field found;
    ``table.failures`` lists the others with the fields they lack.

    Examples
    --------
    >>> t = persona_table(["Name: Ana\\nAge: 34\\nGender: female\\nNationality: Mexican\\nOccupation: nurse",
    ...                    "Name: Bo\\nAge: old\\nGender: male\\nNationality: Swedish\\nOccupation:"])
    >>> t.parse_rate, t.failures[0][:2]
    (0.5, (1, ('age', 'occupation')))
    """
    table = extract_attributes(texts, fields)
    if "age" in table.values:
        ages = table.values["age"]
        bad = [i for i, a in enumerate(ages) if a is not None and age_bucket(a) is None]
        for i in bad:
            ages[i] = None
        if bad:
            fails = {i: (missing, head) for i, missing, head in table.failures}
            for i in bad:
                missing, head = fails.get(i, ((), texts[i][:80]))
                fails[i] = (tuple(f for f in fields if f == "age" or f in missing), head)
            table.failures = [(i, m, h) for i, (m, h) in sorted(fails.items())]
    return table
