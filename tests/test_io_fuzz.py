"""Fuzzing the loaders: anything but a clean load is a SampleFileError naming the file (and line).

Byte-level: arbitrary bytes, and text assembled from JSON/CSV fragments, under each suffix, gzipped or not.
Structured: random JSON rows and DataFrame keys checked against a reference model of the documented rules;
CSV written by the csv module reads back, and a cut row is reported at the line where it starts.
"""
import codecs
import csv
import gzip
import io
import json
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diversity import SampleFileError, load_records, load_samples

SUFFIXES = [".jsonl", ".csv", ".tsv", ".jsonl.gz", ""]
FRAGMENTS = ['{', '}', '[', ']', '"', ',', ':', '\t', '\n', '\r', ' ', '"prompt"', '"completion"', '"completions"',
             "prompt", "completion", "1", "1.0", "true", "null", "NaN", "-Infinity", "\\ud800", "\\u0041", "\\",
             "é", "\x00", "\ufeff", "x" * 40, '"a"', '[' * 50, '1' * 30]
BOMS = [b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, b"\x1f\x8b"]

fuzz = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def file_bytes(draw):
    if draw(st.booleans()):
        data = draw(st.binary(max_size=300))
    else:
        text = "".join(draw(st.lists(st.sampled_from(FRAGMENTS), max_size=40)))
        data = text.encode(draw(st.sampled_from(["utf-8", "utf-16-le", "latin-1"])), errors="replace")
    data = draw(st.sampled_from(BOMS)) + data
    return gzip.compress(data) if draw(st.booleans()) else data


def check_outcome(load, path):
    try:
        out = load(path)
    except SampleFileError as e:
        msg = str(e)
        assert str(path) in msg
        at = msg.split(str(path), 1)[1]
        assert re.match(r"(:\d+: |: |' )", at), msg  # "name:LINE: ...", "name: ..." or "'name' ..."
        return None
    return out


@fuzz
@given(data=file_bytes(), suffix=st.sampled_from(SUFFIXES))
def test_arbitrary_bytes_load_or_raise_a_sample_file_error(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"s{suffix}"
    path.write_bytes(data)
    samples = check_outcome(load_samples, path)
    if samples is not None:
        for key, values in samples.items():
            assert type(key) is str or (type(key) is int and not suffix.startswith((".csv", ".tsv")))
            assert all(type(v) is str for v in values) and values
            assert all(not any("\ud800" <= c <= "\udfff" for c in v) for v in values)
    records = check_outcome(load_records, path)
    assert records is None or all(type(r) is dict for r in records)


# -- structured: random JSON rows against a reference model ------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**18, max_value=10**40)
           | st.floats() | st.text(max_size=5) | st.sampled_from(["\ud800", "a\udfff", "\U0001F600"]))
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
                      max_leaves=8)
prompts = st.one_of(st.integers(-3, 3), st.sampled_from(["1", "p", "q", ""]), scalars, values)
completions = st.one_of(st.text(max_size=5), st.sampled_from(["\ud800x"]), scalars)
texts = st.text(st.characters(blacklist_categories=["Cs"]) | st.sampled_from("\u2028\x85\r\n\ufeff\x00"), max_size=6)
good_keys = st.integers(-3, 3) | st.sampled_from(["1", "p", ""])
good_rows = (st.fixed_dictionaries({"prompt": good_keys, "completion": texts})
             | st.fixed_dictionaries({"prompt": good_keys, "completions": st.lists(texts, max_size=3)}))
rows = st.one_of(
    good_rows, good_rows, good_rows, good_rows, good_rows,
    st.fixed_dictionaries({"prompt": prompts, "completion": completions}),
    st.fixed_dictionaries({"prompt": prompts, "completions": st.lists(completions, max_size=3) | values}),
    st.fixed_dictionaries({"prompt": prompts}, optional={"completion": completions, "completions": values}),
    values,
)


class Bad(Exception):
    pass


def _strings_and_floats(v):
    if isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from _strings_and_floats(x)
    elif isinstance(v, list):
        for x in v:
            yield from _strings_and_floats(x)
    else:
        yield v


def expected_samples(rows):
    """The documented rules, written out plainly; raises Bad(line) for the first bad line."""
    out = {}
    for line, row in enumerate(rows, start=1):
        for v in _strings_and_floats(row):
            if (isinstance(v, float) and not math.isfinite(v)) or (
                    isinstance(v, str) and any("\ud800" <= c <= "\udfff" for c in v)):
                raise Bad(line)
        if not isinstance(row, dict) or row.get("prompt") is None:
            raise Bad(line)
        key = row["prompt"]
        if not (isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool))):
            raise Bad(line)
        if ("completion" in row) == ("completions" in row):
            raise Bad(line)
        got = [row["completion"]] if "completion" in row else row["completions"]
        if not isinstance(got, list) or not all(isinstance(c, str) for c in got):
            raise Bad(line)
        out.setdefault(key, []).extend(got)
    if not out:
        raise Bad(None)
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(rows, max_size=5), ascii_only=st.booleans(), gz=st.booleans())
def test_random_json_rows_follow_the_documented_rules(tmp_path_factory, rows, ascii_only, gz):
    if any("\ud800" <= c <= "\udfff" for r in rows for c in json.dumps(r, ensure_ascii=False, allow_nan=True)):
        ascii_only = True  # a lone surrogate can only be written as a \u escape
    text = "".join(json.dumps(r, ensure_ascii=ascii_only, allow_nan=True) + "\n" for r in rows)
    path = tmp_path_factory.mktemp("rows") / ("s.jsonl.gz" if gz else "s.jsonl")
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    try:
        want = expected_samples(rows)
    except Bad as bad:
        where = f"{path.name}:{bad.args[0]}: " if bad.args[0] else f"{path.name}: no rows"
        with pytest.raises(SampleFileError, match=re.escape(where)):
            load_samples(path)
        return
    got = load_samples(path)
    assert got == want and list(got) == list(want)
    assert [type(k) for k in got] == [type(k) for k in want]  # 1 and "1" stay apart, nothing merged by ==


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=st.lists(st.one_of(st.integers(-2, 2), st.sampled_from(["1", "a"]), st.booleans(),
                               st.floats(allow_nan=True), st.none()), min_size=1, max_size=5))
def test_dataframe_prompt_keys_follow_the_same_rule(keys):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"prompt": pd.Series(keys, dtype=object), "completion": ["c"] * len(keys)})
    bad = [i for i, k in enumerate(keys) if not (isinstance(k, str) or type(k) is int)]
    if bad:
        with pytest.raises(SampleFileError, match=rf"<DataFrame> row {bad[0]}: "):
            load_samples(df)
        return
    got = load_samples(df)
    assert sorted(map(repr, got)) == sorted({repr(k) for k in keys})
    assert sum(map(len, got.values())) == len(keys)


# -- structured CSV: csv.writer output reads back, and a cut row is reported at the line where it starts ----------

cells = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
                | st.sampled_from('",\t\r\n\ufeff'), max_size=8)


@fuzz
@given(table=st.lists(st.tuples(cells, cells), min_size=1, max_size=6), tsv=st.booleans(), crlf=st.booleans(),
       cut=st.none() | st.integers(0, 5))
def test_csv_written_by_the_csv_module_reads_back(tmp_path_factory, table, tsv, crlf, cut):
    buf = io.StringIO(newline="")
    # minimal quoting quotes a cell with \r only if \r ends lines; else a lone \r would read as a line break
    writer = csv.writer(buf, delimiter="\t" if tsv else ",", lineterminator="\r\n" if crlf else "\n",
                        quoting=csv.QUOTE_MINIMAL if crlf else csv.QUOTE_ALL)
    writer.writerow(["prompt", "completion"])
    starts = []
    for row in table:
        starts.append(len(re.findall(r"\r\n|\r|\n", buf.getvalue())) + 1)  # \r alone also breaks a line
        writer.writerow(row if cut != len(starts) - 1 else row[:1])
    path = tmp_path_factory.mktemp("csv") / ("s.tsv" if tsv else "s.csv")
    path.write_bytes(buf.getvalue().encode("utf-8"))
    if cut is not None and cut < len(table):
        with pytest.raises(SampleFileError, match=re.escape(f"{path.name}:{starts[cut]}: fewer cells")):
            load_samples(path)
        return
    want = {}
    for key, completion in table:
        want.setdefault(key, []).append(completion)
    assert load_samples(path) == want
