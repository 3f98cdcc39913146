import json

import pytest

import diversity
from diversity import SampleFileError, load_samples


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_one_completion_per_row(tmp_path):
    p = write(tmp_path / "s.jsonl", "\n".join(json.dumps(r) for r in [
        {"prompt": "p1", "completion": "a"}, {"prompt": "p2", "completion": ""},
        {"prompt": "p1", "completion": "b"}]) + "\n\n")
    assert load_samples(p) == {"p1": ["a", "b"], "p2": [""]}


def test_jsonl_completions_lists_and_custom_fields(tmp_path):
    p = write(tmp_path / "s.jsonl", '{"id": 1, "outs": ["a", "b"]}\n{"id": 2, "outs": ["c"]}\n')
    assert load_samples(p, prompt_field="id", completions_field="outs") == {1: ["a", "b"], 2: ["c"]}
    assert load_samples(p, prompt_field=None, completions_field="outs") == {None: ["a", "b", "c"]}


@pytest.mark.parametrize("content,match", [
    ('{"prompt": "p", "completion": "a"}\n{"prompt": "p", "completion": "b"\n', r"s\.jsonl:2: invalid JSON"),
    ('{"prompt": "p", "completion": "a"}\n[1, 2]\n', r"s\.jsonl:2: expected a JSON object, got list"),
    ('{"completion": "a"}\n', r"s\.jsonl:1: no 'prompt' field \(fields: completion\)"),
    ('{"prompt": "p"}\n', r"s\.jsonl:1: no 'completion' or 'completions' field"),
    ('{"prompt": "p", "completion": null}\n', r"s\.jsonl:1: completion is missing \(null/NaN\), not a string"),
    ('{"prompt": "p", "completion": 3}\n', r"s\.jsonl:1: completion is a int, not a string"),
    ('{"prompt": "p", "completions": ["a", 2]}\n', r"s\.jsonl:1: completion\[1\] is a int"),
    ('{"prompt": "p", "completions": "a"}\n', r"s\.jsonl:1: 'completions' must be a list of strings"),
    ('{"prompt": "p", "completion": "a", "completions": ["b"]}\n', r"s\.jsonl:1: the row has both"),
    ('\n\n', r"s\.jsonl: no rows"),
])
def test_jsonl_errors_name_file_and_line(tmp_path, content, match):
    p = write(tmp_path / "s.jsonl", content)
    with pytest.raises(SampleFileError, match=match):
        load_samples(p)


def test_csv(tmp_path):
    p = write(tmp_path / "s.csv", 'prompt,completion\np1,"hello, world"\np1,\np2,"multi\nline"\n')
    assert load_samples(p) == {"p1": ["hello, world", ""], "p2": ["multi\nline"]}
    bad = write(tmp_path / "bad.csv", "prompt,completion\np1,a\np2,b,extra\n")
    with pytest.raises(SampleFileError, match=r"bad\.csv:3: more cells than header columns"):
        load_samples(bad)
    nocol = write(tmp_path / "nocol.csv", "prompt,text\np1,a\n")
    with pytest.raises(SampleFileError, match=r"nocol\.csv:2: no 'completion'"):
        load_samples(nocol)
    tsv = write(tmp_path / "s.tsv", "prompt\tcompletion\np\ta b\n")
    assert load_samples(tsv) == {"p": ["a b"]}


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(FileNotFoundError, match="No sample file"):
        load_samples(tmp_path / "nope.jsonl")
    p = write(tmp_path / "s.txt", "x")
    with pytest.raises(ValueError, match="Cannot tell the format"):
        load_samples(p)
    assert load_samples(write(tmp_path / "t.txt", '{"prompt": 1, "completion": "a"}\n'), format="jsonl") == {1: ["a"]}


def test_dataframe():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"prompt": ["p", "p", "q"], "completion": ["a", "b", "c"]})
    assert load_samples(df) == {"p": ["a", "b"], "q": ["c"]}
    df2 = pd.DataFrame({"prompt": ["p", "q"], "completions": [["a", "b"], ["c"]]})
    assert load_samples(df2) == {"p": ["a", "b"], "q": ["c"]}
    bad = pd.DataFrame({"prompt": ["p", "q"], "completion": ["a", None]})
    with pytest.raises(SampleFileError, match=r"<DataFrame> row 1: completion is missing"):
        load_samples(bad)


def test_loaded_samples_feed_metrics(tmp_path):
    p = write(tmp_path / "s.jsonl", '{"prompt": "p", "completion": "a b"}\n{"prompt": "p", "completion": "a c"}\n')
    assert diversity.distinct_n(load_samples(p), n=1).value == 0.75
