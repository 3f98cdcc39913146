import codecs
import csv
import gzip
import json
import re

import pytest

import diversity
from diversity import SampleFileError, load_records, load_samples


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


# -- gzip, encodings, format sniffing -----------------------------------------------------------------------------

ROWS = '{"prompt": "p", "completion": "a"}\n{"prompt": "p", "completion": "b"}\n'
CSV = "prompt,completion\np,a\np,b\n"


@pytest.mark.parametrize("name,text", [("s.jsonl.gz", ROWS), ("s.csv.gz", CSV), ("s.tsv.gz", CSV.replace(",", "\t")),
                                       ("s.jsonl", ROWS), ("noext", ROWS), ("s.gz", ROWS)])
def test_gzip_by_suffix_and_magic_bytes(tmp_path, name, text):
    p = tmp_path / name
    p.write_bytes(gzip.compress(text.encode()))
    assert load_samples(p) == {"p": ["a", "b"]}
    if "csv" not in name and "tsv" not in name:
        assert [r["completion"] for r in load_records(p)] == ["a", "b"]


def test_plain_file_named_gz_and_broken_gzip(tmp_path):
    assert load_samples(write(tmp_path / "plain.jsonl.gz", ROWS)) == {"p": ["a", "b"]}
    for name, data in [("bad.jsonl.gz", b"\x1f\x8bnot gzip"), ("cut.jsonl.gz", gzip.compress(ROWS.encode())[:-9])]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(SampleFileError, match=re.escape(name) + ": starts like gzip .* cannot be decompressed"):
            load_samples(tmp_path / name)


@pytest.mark.parametrize("codec,bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                                       ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE),
                                       ("utf-8", codecs.BOM_UTF8)])
@pytest.mark.parametrize("name,text", [("s.jsonl", ROWS.replace('"a"', '"é😀"')),
                                       ("s.csv", CSV.replace(",a", ",é😀"))])
def test_byte_order_marks_decide_the_encoding(tmp_path, codec, bom, name, text):
    # with a UTF-8 BOM the CSV used to report "no 'prompt' field (fields: prompt, completion)"
    p = tmp_path / name
    p.write_bytes(bom + text.encode(codec))
    assert load_samples(p) == {"p": ["é😀", "b"]}
    assert load_samples(p, encoding="latin-1") == {"p": ["é😀", "b"]}  # the BOM wins


def test_undecodable_bytes_name_file_line_offset_and_encoding(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_bytes(ROWS.replace('"b"', '"caf\xe9"').encode("latin-1"))
    with pytest.raises(SampleFileError, match=r"s\.jsonl:2: cannot decode byte 0xe9 at byte offset 69 as utf-8 .*"
                                              r"encoding='latin-1' \(CLI: --encoding latin-1\)"):
        load_samples(p)
    assert load_samples(p, encoding="latin-1") == {"p": ["a", "café"]}
    gz = tmp_path / "s.csv.gz"
    gz.write_bytes(gzip.compress(b"prompt,completion\n\n\np,\xff\n"))
    with pytest.raises(SampleFileError, match=r"s\.csv\.gz:4: cannot decode byte 0xff at byte offset 22 of the "
                                              r"decompressed data"):
        load_samples(gz)
    odd = tmp_path / "odd.jsonl"
    odd.write_bytes(codecs.BOM_UTF16_LE + ROWS.encode("utf-16-le") + b"x")
    with pytest.raises(SampleFileError, match=r"odd\.jsonl:3: cannot decode .* as utf-16-le \(truncated data\)"):
        load_records(odd)
    for bad in ("nope", "base64"):
        with pytest.raises(ValueError, match=f"Unknown text encoding '{bad}'"):
            load_samples(p, encoding=bad)


def test_nul_characters_are_refused_with_a_utf16_hint(tmp_path):
    p = tmp_path / "s.csv"
    p.write_bytes(CSV.encode("utf-16-le"))  # no BOM: every other byte is NUL
    with pytest.raises(SampleFileError, match=r"s\.csv:1: NUL character.*encoding='utf-16-le'"):
        load_samples(p)
    assert load_samples(p, encoding="utf-16-le") == {"p": ["a", "b"]}
    with pytest.raises(SampleFileError, match=r"n\.csv:3: NUL character"):
        load_samples(write(tmp_path / "n.csv", "prompt,completion\np,a\np,b\x00\n"))


def test_format_from_content_or_argument(tmp_path):
    assert load_samples(write(tmp_path / "noext", "\n  " + ROWS)) == {"p": ["a", "b"]}
    with pytest.raises(SampleFileError, match=r"list:1: expected a JSON object, got list"):
        load_samples(write(tmp_path / "list", "[1]\n"))
    for name, text in [("s.txt", CSV), ("empty", ""), ("blank.dat", " \n")]:
        with pytest.raises(SampleFileError, match=rf"Cannot tell the format of '.*{name}' from its name or content; "
                                                  r"pass format='jsonl', 'csv', 'tsv' or 'parquet' \(CLI: --format-in"):
            load_samples(write(tmp_path / name, text))
    assert load_samples(tmp_path / "s.txt", format="CSV") == {"p": ["a", "b"]}
    assert load_samples(write(tmp_path / "s.csv.json", ROWS)) == {"p": ["a", "b"]}  # the last suffix decides
    with pytest.raises(ValueError, match="Unknown sample file format 'xml'"):
        load_samples(tmp_path / "s.txt", format="xml")


# -- prompt identity ----------------------------------------------------------------------------------------------

def test_jsonl_keys_keep_their_type_and_are_never_merged(tmp_path):
    lines = [{"prompt": 1, "completion": "int"}, {"prompt": "1", "completion": "str"},
             {"prompt": 10**30, "completion": "big"}, {"prompt": 1, "completion": "int2"}]
    p = write(tmp_path / "s.jsonl", "\n".join(map(json.dumps, lines)))
    assert load_samples(p) == {1: ["int", "int2"], "1": ["str"], 10**30: ["big"]}
    assert list(load_samples(p)) == [1, "1", 10**30]


@pytest.mark.parametrize("key", ["1.0", "true", "false", "1e3", "-0.0"])
def test_jsonl_float_and_bool_keys_are_refused(tmp_path, key):
    p = write(tmp_path / "s.jsonl", f'{{"prompt": 1, "completion": "a"}}\n{{"prompt": {key}, "completion": "b"}}\n')
    with pytest.raises(SampleFileError, match=r"s\.jsonl:2: 'prompt' is .*; a prompt id must be a string or an "
                                              r"integer \(floats and booleans would merge"):
        load_samples(p)


def test_csv_keys_are_the_cell_strings_exactly(tmp_path):
    p = write(tmp_path / "s.csv", "prompt,completion\n1,a\n1.0,b\n01,c\n 1,d\nTrue,e\n1,f\n")
    assert load_samples(p) == {"1": ["a", "f"], "1.0": ["b"], "01": ["c"], " 1": ["d"], "True": ["e"]}


def test_dataframe_keys_follow_the_jsonl_rule():
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    df = pd.DataFrame({"prompt": pd.Series([np.int64(1), "1", 2], dtype=object), "completion": ["a", "b", "c"]})
    out = load_samples(df)
    assert out == {1: ["a"], "1": ["b"], 2: ["c"]} and all(type(k) in (int, str) for k in out)
    floats = pd.DataFrame({"prompt": [1, None], "completion": ["a", "b"]})  # an int column with NaN is float
    with pytest.raises(SampleFileError, match=r"<DataFrame> row 0: 'prompt' is 1\.0; a prompt id must be"):
        load_samples(floats)
    with pytest.raises(SampleFileError, match=r"<DataFrame> row 0: 'prompt' is True"):
        load_samples(pd.DataFrame({"prompt": [True], "completion": ["a"]}))
    with pytest.raises(SampleFileError, match=r"<DataFrame> row 0: 'prompt' must be a string or an integer, got"):
        load_samples(pd.DataFrame({"prompt": [pd.Timestamp(0)], "completion": ["a"]}))
    nullable = pd.DataFrame({"prompt": pd.array([1, None], dtype="Int64"),
                             "completion": pd.array(["a", None], dtype="string")})
    with pytest.raises(SampleFileError, match=r"<DataFrame> row 1: no 'prompt' field"):
        load_samples(nullable)
    with pytest.raises(SampleFileError, match=r"<DataFrame>: duplicate column\(s\) completion"):
        load_samples(pd.DataFrame([["p", "a", "b"]], columns=["prompt", "completion", "completion"]))


# -- strict JSON, lone surrogates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("line,match", [
    ('{"prompt": "p", "completion": NaN}', r"s\.jsonl:2: invalid JSON \(NaN is not JSON"),
    ('{"prompt": "p", "completions": [-Infinity]}', r"s\.jsonl:2: invalid JSON \(-Infinity is not JSON"),
    ('{"prompt": "p", "completion": "a", "prompt": "q"}', r"s\.jsonl:2: invalid JSON \(duplicate key 'prompt'"),
    ('{"prompt": "p", "completion": ' + "1" * 5000 + "}", r"s\.jsonl:2: invalid JSON \(Exceeds the limit"),
    ('{"prompt": "p", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", r"s\.jsonl:2: JSON nested too deeply"),
    ('{"prompt": "p", "completion": "a\\ud800"}', r"s\.jsonl:2: field completion has a lone surrogate '\\ud800' "
                                                  r"at character 1"),
    ('{"prompt": "\\udfff", "completion": "a"}', r"s\.jsonl:2: field prompt has a lone surrogate"),
    ('{"prompt": "p", "completions": ["a", "\\uDC00b"]}', r"s\.jsonl:2: field completions\[1\] has a lone"),
    ('{"prompt": "p", "completion": "a", "\\ud800": 1}', r"s\.jsonl:2: a key in the object has a lone"),
    ('{"prompt": "p", "completion": "a\x00"}', r"s\.jsonl:2: NUL character"),
])
def test_json_must_be_strict_and_valid_unicode(tmp_path, line, match):
    p = write(tmp_path / "s.jsonl", '{"prompt": "p", "completion": "ok"}\n' + line + "\n")
    with pytest.raises(SampleFileError, match=match):
        load_samples(p)
    with pytest.raises(SampleFileError, match=match):
        load_records(p)


def test_surrogate_pairs_and_escaped_backslashes_are_fine(tmp_path):
    p = write(tmp_path / "s.jsonl", '{"prompt": "p", "completion": "\\ud83d\\ude00 \\\\ud800"}\n')
    assert load_samples(p) == {"p": ["\U0001F600 \\ud800"]}


def test_lone_surrogates_in_records_and_frames_name_the_field(tmp_path):
    p = write(tmp_path / "r.jsonl", '{"completion": "a", "top_logprobs": [[{"token": "\\ud83d", "logprob": -1}]]}\n')
    with pytest.raises(SampleFileError, match=r"r\.jsonl:1: field top_logprobs\[0\]\[0\]\.token has a lone"):
        load_records(p)
    pd = pytest.importorskip("pandas")
    with pytest.raises(SampleFileError, match=r"<DataFrame> row 1: completion has a lone surrogate"):
        load_samples(pd.DataFrame({"prompt": ["p", "p"], "completion": ["a", "b\udc80"]}, dtype=object))  # pyarrow strings refuse it


# -- CSV edge cases -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,match", [
    ("prompt,completion\np1,a\np2\n", r"s\.csv:3: fewer cells than header columns \(1 vs 2: prompt, completion\)"),
    ('prompt,completion\np1,"multi\nline"\np2,"x\ny",extra\n', r"s\.csv:4: more cells than header columns"),
    ('prompt,completion\np1,"multi\nline"\n\np2,"unterminated\nq\n', r"s\.csv:5: malformed CSV row \(unexpected end"),
    ('prompt,completion\r\np1,"a"b\r\n', r"s\.csv:2: malformed CSV row"),
    ("prompt,completion,prompt\np,a,q\n", r"s\.csv:1: duplicate header column\(s\) 'prompt'"),
    ("", r"s\.csv: the file is empty \(no header row\)"),
    ("prompt,completion\n", r"s\.csv: no rows"),
])
def test_csv_errors_name_the_line_where_the_row_starts(tmp_path, text, match):
    with pytest.raises(SampleFileError, match=match):
        load_samples(write(tmp_path / "s.csv", text))


def test_csv_fields_over_the_csv_module_limit(tmp_path):
    big = "x" * (csv.field_size_limit() + 10)
    limit = csv.field_size_limit()
    assert load_samples(write(tmp_path / "s.csv", f'prompt,completion\np,"{big}"\n')) == {"p": [big]}
    assert csv.field_size_limit() == limit  # restored
