"""Personas filled in field by field (diversity.generation.personas) and the
perturbed prompts of attractor experiments (diversity.generation.perturb):
the tiny Llama of test_sampling for the mechanics, stored real outputs of the
bundled models for parse rates."""

import json
import re
from pathlib import Path

import pytest

from diversity.generation import DecodingConfig, Prompt
from diversity.generation.extract import extract_fields
from diversity.generation.perturb import KINDS, OFF_SENTENCE, perturbed_prompts
from diversity.generation.personas import PERSONA_FORM, age_bucket, persona_table, sample_personas
from diversity.text.tokenize import get_tokenizer

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "creativity-left-the-chat" / "samples"
FIELDS = [f for f, _ in PERSONA_FORM]


def rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


# ---- parsing ------------------------------------------------------------------------

def test_an_empty_field_never_takes_the_next_line():
    blank = "Name:\nAge:\nGender:\nNationality:\nOccupation:"
    assert extract_fields(blank, FIELDS) == dict.fromkeys(FIELDS)
    # a model that wrote the next label as the value has not given a value
    got = extract_fields("Name: Ana\nAge: 34\nGender: Nationality\nNationality: Mexican\nOccupation: nurse", FIELDS)
    assert got == {"name": "Ana", "age": "34", "gender": None, "nationality": "Mexican", "occupation": "nurse"}


def test_age_buckets_and_persona_table():
    assert [age_bucket(a) for a in (0, 17, 18, 24, 25, 64, 65, 120)] == \
        ["<18", "<18", "18-24", "18-24", "25-34", "55-64", "65+", "65+"]
    assert age_bucket(None) is None and age_bucket("121") is None
    texts = ["Name: Ana\nAge: 34\nGender: female\nNationality: Mexican\nOccupation: nurse",
             "Name: Old\nAge: 300\nGender: male\nNationality: Greek\nOccupation: sailor",
             "Name: Bo\nAge:\nGender: male\nNationality:\nOccupation: baker"]
    t = persona_table(texts)
    assert t.parse_rate == pytest.approx(1 / 3)
    assert t.values["age"] == ["34", None, None]  # 300 is no age
    assert [(i, m) for i, m, _ in t.failures] == [(1, ("age",)), (2, ("age", "nationality"))]


# ---- sampling field by field ----------------------------------------------------------


def test_fields_are_forced_one_after_another(backend, tmp_path):
    prompts = [Prompt("q1", "the cat"), Prompt("q2", "a dog")]
    cfg = DecodingConfig(k=2, seed=4, chat_template=False, base_template="{prompt}")
    out = sample_personas(backend, prompts, tmp_path / "p", cfg, value_tokens=3, retries=0, progress=False)
    got = rows(out)
    assert [(r["prompt_id"], r["sample_index"]) for r in got] == [("q1", 0), ("q1", 1), ("q2", 0), ("q2", 1)]
    files = sorted(p.name for p in (tmp_path / "p").glob("0*.jsonl") if "retries" not in p.name)
    assert files == [f"0{j}-{f}.jsonl" for j, f in enumerate(FIELDS, 1)]
    first = rows(tmp_path / "p" / "01-name.jsonl")
    assert all(r["prefix"] == "\nName:" for r in first)  # base template: a newline, then the label
    for j, (field, label) in enumerate(PERSONA_FORM[1:], start=2):
        for r in rows(tmp_path / "p" / f"0{j}-{field}.jsonl"):
            pid, i, name = r["prompt_id"].split("/")
            assert name == field  # every value has its own id, hence its own seed
            persona = next(x for x in got if x["prompt_id"] == pid and x["sample_index"] == int(i))
            # the context is everything written so far, then this field's label
            so_far = "\nName:" + rows(tmp_path / "p" / "01-name.jsonl")[
                [(x["prompt_id"], x["sample_index"]) for x in first].index((pid, int(i)))]["completion"]
            assert r["prefix"].startswith(so_far) and r["prefix"].endswith("\n" + label)
            assert persona["values"][field] == r["completion"].strip()
            assert (field in persona["truncated"]) == (r["finish_reason"] == "length")
            assert r["sample_index"] == 0
    for r in got:
        assert r["completion"].splitlines()[0].startswith("Name:") and r["task"] == "persona"
        assert [line.split(":")[0] for line in r["completion"].splitlines()] == \
            ["Name", "Age", "Gender", "Nationality", "Occupation"]


def test_personas_resume_after_a_lost_round(backend, tmp_path):
    prompts = [Prompt("q1", "the cat"), Prompt("q2", "a dog")]
    cfg = DecodingConfig(k=2, seed=9, chat_template=False, base_template="{prompt}")
    out = sample_personas(backend, prompts, tmp_path / "p", cfg, value_tokens=2, progress=False)
    before = out.read_text()
    last = tmp_path / "p" / "05-occupation.jsonl"
    lines = last.read_text().splitlines(keepends=True)
    last.write_text("".join(lines[:2]))  # the run was killed during the last round
    (tmp_path / "p" / "personas.jsonl").unlink()
    again = sample_personas(backend, prompts, tmp_path / "p", cfg, value_tokens=2, progress=False)
    assert again.read_text() == before


def test_empty_values_are_sampled_again_and_counted(backend, tmp_path):
    # with this seed the tiny Llama ends some values at once (its end-of-sequence token first)
    prompts = [Prompt("q1", "the cat"), Prompt("q2", "a dog")]
    cfg = DecodingConfig(k=4, seed=5, chat_template=False, base_template="{prompt}")
    out = sample_personas(backend, prompts, tmp_path / "p", cfg, value_tokens=2, retries=2, progress=False)
    got = rows(out)
    retried = [r for r in got if r["retries"]]
    assert retried and {"name", "age"} <= {f for r in retried for f in r["retries"]}
    for r in retried:
        for field, n in r["retries"].items():
            j = FIELDS.index(field) + 1
            first = {(x["prompt_id"], x["sample_index"]): x for x in rows(tmp_path / "p" / f"0{j}-{field}.jsonl")}
            key = (r["prompt_id"], r["sample_index"]) if j == 1 else \
                (f"{r['prompt_id']}/{r['sample_index']}/{field}", 0)
            assert first[key]["completion"].strip() == ""  # the first try was empty
            tries = {x["prompt_id"]: x for x in rows(tmp_path / "p" / f"0{j}-{field}.retries.jsonl")}
            last = tries[f"{r['prompt_id']}/{r['sample_index']}/{field}/retry{n}"]
            assert r["values"][field] == last["completion"].strip()
            assert last["prefix"] == first[key]["prefix"]  # the same context, another seed
    assert all(r["retries"] == {} for r in got if r not in retried)
    before = out.read_text()
    (tmp_path / "p" / "personas.jsonl").unlink()
    assert sample_personas(backend, prompts, tmp_path / "p", cfg, value_tokens=2, retries=2,
                           progress=False).read_text() == before  # resumed: nothing sampled again
    none = sample_personas(backend, prompts, tmp_path / "n", cfg, value_tokens=2, retries=0, progress=False)
    assert all(r["retries"] == {} for r in rows(none)) and any(not v for r in rows(none) for v in r["values"].values())


def test_persona_sampling_refuses_what_it_cannot_do(backend, tmp_path):
    with pytest.raises(ValueError, match="without a prefix"):
        sample_personas(backend, [Prompt("q", "x", prefix="y")], tmp_path, progress=False)
    with pytest.raises(ValueError, match="repeats a field"):
        sample_personas(backend, [Prompt("q", "x")], tmp_path, form=[("a", "A:"), ("a", "B:")], progress=False)
    with pytest.raises(ValueError, match="retries must be an int >= 0"):
        sample_personas(backend, [Prompt("q", "x")], tmp_path, retries=-1, progress=False)
    with pytest.raises(ValueError, match="one-line label"):
        sample_personas(backend, [Prompt("q", "x")], tmp_path, form=[("a", "A:\n")], progress=False)


# ---- stored real outputs of the bundled models (the worked example's samples) ----------------------

@pytest.mark.parametrize("side, parsed, retried", [("base", 55, 27), ("aligned", 64, 0)])
def test_parse_rates_on_stored_real_personas(side, parsed, retried):
    """gemma-3-270m (base) and SmolLM2-135M-Instruct: 8 persona prompts x 8 personas each, filled in field by
    field (docs/examples/creativity-left-the-chat). Free-text prompting parsed 1 of 32 per side in 0.1."""
    got = rows(EXAMPLE / side / "personas" / "personas.jsonl")
    assert len(got) == 64 and len({r["prompt_id"] for r in got}) == 8
    table = persona_table([r["completion"] for r in got])
    assert table.n - len(table.failures) == parsed
    assert table.parse_rate >= 0.85  # the format is forced: most personas parse
    assert sum(bool(r["retries"]) for r in got) == retried
    # every value the table found is in the value the model wrote for that field (less Markdown marks)
    for r, *vals in zip(got, *(table.values[f] for f in FIELDS)):
        for f, v in zip(FIELDS, vals):
            if v is not None:
                assert v.casefold() in re.sub(r"[*_`]+", "", r["values"][f]).casefold()
    # and every failure names a field whose written value is empty, a label, or (ages) no whole number 0-120
    for i, missing, _ in table.failures:
        for f in missing:
            raw = re.sub(r"[*_`]+", "", got[i]["values"][f]).strip(" .,;:-")
            assert not raw or raw.casefold() in FIELDS or (f == "age" and age_bucket(raw) is None)


# ---- perturbations -------------------------------------------------------------------

PS = [Prompt("b", "Describe a city."), Prompt("a", "Tell a story."), Prompt("c", "Name a colour.")]
DONE = {"a": ["", "Once upon a time a fox lived by the river."], "b": ["Paris glows at night, full of light."],
        "c": ["Glimmer is a soft green with silver."]}


def test_prefix_borrows_from_the_next_prompt_in_id_order():
    got = perturbed_prompts(PS, DONE, "prefix", size=3, lead=" ")
    assert [(p.id, p.prefix) for p in got] == [("b", " Glimmer is a"), ("a", " Paris glows at"),
                                                ("c", " Once upon a")]  # 'a' skips its blank first completion
    assert [p.text for p in got] == [p.text for p in PS]
    assert get_tokenizer("unicode")(got[0].prefix) == ["Glimmer", "is", "a"]


def test_random_token_keeps_the_start_and_injects_foreign_words():
    got = perturbed_prompts(PS, DONE, "random-token", size=4, position=2, seed=3)
    tok = get_tokenizer("unicode")
    for p in got:
        own = tok(next(t for t in DONE[p.id] if t.strip()))
        words = tok(p.prefix)
        assert words[:2] == own[:2] and len(words) == 6
        assert not set(words[2:]) & {w for t in DONE[p.id] for w in tok(t)}
    assert got == perturbed_prompts(PS, DONE, "random-token", size=4, position=2, seed=3)
    assert got != perturbed_prompts(PS, DONE, "random-token", size=4, position=2, seed=4)


def test_off_sentence_and_errors():
    assert {p.prefix for p in perturbed_prompts(PS, DONE, "off-sentence")} == {OFF_SENTENCE}
    assert set(KINDS) == {"prefix", "random-token", "off-sentence"}
    with pytest.raises(ValueError, match="kind must be one of"):
        perturbed_prompts(PS, DONE, "swap")
    with pytest.raises(ValueError, match="needs at least 2 prompts"):
        perturbed_prompts(PS[:1], DONE, "prefix")
    with pytest.raises(ValueError, match="no unperturbed completions for prompt 'z'"):
        perturbed_prompts([Prompt("z", "x"), *PS], DONE, "off-sentence")
    with pytest.raises(ValueError, match="no non-blank unperturbed completion"):
        perturbed_prompts(PS, {**DONE, "a": ["  "]}, "prefix")
    with pytest.raises(ValueError, match="size must be an int >= 1"):
        perturbed_prompts(PS, DONE, "prefix", size=0)


def test_normalized_table_beside_the_raw_one():
    import diversity
    from diversity.generation.personas import normalize_personas

    texts = ["Name: Ana Ruiz\nAge: 34\nGender: Woman\nNationality: USA\nOccupation: Nurse.",
             "Name: Bo\nAge: 30\nGender: 23\nNationality: American\nOccupation: nurse",
             "Name: Cy\nAge: 41\nGender: m\nNationality: Male\nOccupation: $\\mathrm{chef}$",
             "Name: Di\nAge: old\nGender: women\nNationality: United States\nOccupation: pilot"]
    raw = persona_table(texts)
    t = normalize_personas(raw)
    assert raw.values["gender"] == ["Woman", "23", "m", "women"]  # the raw table is kept as it was
    assert t.values["gender"] == ["female", None, "male", "female"]
    assert t.values["nationality"] == ["american", "american", None, "american"]
    assert t.values["occupation"] == ["nurse", "nurse", "chef", "pilot"]
    assert t.values["name"] == ["ana ruiz", "bo", "cy", "di"]
    assert [(i, m) for i, m, _ in t.failures] == [(1, ("gender",)), (2, ("nationality",)), (3, ("age",))]
    assert t.failures[0][2] == texts[1][:80] and raw.parse_rate == 0.75 and t.parse_rate == 0.25
    assert t.rules == {"name": "text-v1", "gender": "gender-v1", "nationality": "nationality-v1",
                       "occupation": "text-v1"} and raw.rules == {}
    with pytest.raises(diversity.InvalidParameterError, match="'rules' parameter of normalize_personas"):
        normalize_personas(raw, {"gender": "sex"})
