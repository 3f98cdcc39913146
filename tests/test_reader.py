"""The one reader: every path (load_samples, score_file, the CLI, score_dask's
file partitions) reads a file through diversity.io.reader, with the same
checks, the same messages and the same numbers."""

import codecs
import gzip
import json
import warnings

import numpy as np
import pytest

import diversity
from diversity.io import lines
from diversity.io.loaders import load_records, load_samples
from diversity.io.reader import SampleFileError, iter_lines
from diversity.io.stream import score_file

ROWS = "".join(json.dumps({"prompt": f"p{i // 3}", "completion": f"a b {i} c{i % 2}"}) + "\n" for i in range(12))
CSV = "prompt,completion\n" + "".join(f"p{i // 3},a b {i} c{i % 2}\n" for i in range(12))
METRICS = ["distinct-1", "distinct-2", "self-bleu", "homogenization-rouge-l", "unique-fraction"]


def quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def both(path, **kw):
    """Read by the in-memory loader and by the streaming scorer: errors must agree."""
    yield lambda: load_samples(path, **kw)
    yield lambda: score_file(path, ["distinct-1"], grouped=False, **kw)


def refuse(path, match, **kw):
    for read in both(path, **kw):
        with pytest.raises(SampleFileError, match=match):
            read()


# -- bytes -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("codec", ["utf-32", "utf-32-be", "utf-16", "utf-16-be", "utf-8-sig"])
def test_byte_order_marks_decide_the_encoding_on_every_path(tmp_path, codec):
    path = tmp_path / "s.csv"
    text = CSV.replace("a b 0", "caf\u00e9 \U0001F600")
    data = text.encode(codec)
    if codec.endswith("-be"):
        data = {"utf-32-be": codecs.BOM_UTF32_BE, "utf-16-be": codecs.BOM_UTF16_BE}[codec] + data
    path.write_bytes(data)
    (tmp_path / "x.csv").write_text(text, encoding="utf-8")
    expected = load_samples(tmp_path / "x.csv")
    assert load_samples(path) == expected
    assert expected["p0"][0] == "caf\u00e9 \U0001F600 c0"
    same(quiet(score_file, path, METRICS), quiet(diversity.score, expected, METRICS))


def test_nul_character_refused_with_utf16_advice_on_every_path(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(ROWS.encode("utf-16-le"))
    refuse(path, r"s\.jsonl:1: NUL character.*encoding='utf-16-le', CLI: --encoding utf-16-le")
    late = tmp_path / "late.jsonl"
    late.write_bytes(ROWS.encode() + b'{"prompt": "p", "completion": "x\x00"}\n')
    refuse(late, r"late\.jsonl:13: NUL character")


def test_decode_error_is_located_by_the_line_in_the_bytes(tmp_path, monkeypatch):
    path = tmp_path / "s.jsonl"
    rows = ROWS.splitlines(keepends=True)
    bad = "".join(rows[:10]).encode() + rows[10].replace("a b", "caf\xe9").encode("latin-1") + rows[11].encode()
    path.write_bytes(bad)
    offset = bad.index(b"\xe9")
    match = rf"s\.jsonl:11: cannot decode byte 0xe9 at byte offset {offset} as utf-8 .*encoding='latin-1'"
    refuse(path, match)
    for block in (5, 7, 64):  # the bad byte in every position of a block, lines cut anywhere
        monkeypatch.setattr(lines, "BLOCK", block)
        refuse(path, match)
    assert load_samples(path, encoding="latin-1")["p3"][1] == "caf\xe9 10 c0"


@pytest.mark.parametrize("block", [1, 2, 3, 5, 64])
@pytest.mark.parametrize("codec", ["utf-8", "utf-16-le", "utf-32-be"])
def test_lines_are_the_same_for_any_block_size(tmp_path, monkeypatch, block, codec):
    text = "a\r\nb\u00e9\rc\n\n\U0001F600 d\r\r\ne"
    path = tmp_path / "t.txt"
    path.write_bytes(text.encode(codec))
    monkeypatch.setattr(lines, "BLOCK", block)
    got = list(iter_lines(path, codec))
    assert got == [(1, "a\r\n"), (2, "b\u00e9\r"), (3, "c\n"), (4, "\n"), (5, "\U0001F600 d\r"), (6, "\r\n"), (7, "e")]


def test_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "s.jsonl.gz"
    path.write_bytes(gzip.compress(ROWS.encode())[:-12])
    refuse(path, r"s\.jsonl\.gz: starts like gzip \(bytes 1f 8b\) but cannot be decompressed .* cut short")


# -- CSV -------------------------------------------------------------------------------------------------------

def test_csv_blank_lines_are_skipped_on_every_path(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("prompt,completion\np1,a b\n\np1,c d\n\n")
    assert load_samples(path) == {"p1": ["a b", "c d"]}
    same(quiet(score_file, path, METRICS), quiet(diversity.score, {"p1": ["a b", "c d"]}, METRICS))


def test_csv_cells_over_the_default_field_limit(tmp_path):
    big = "w " * 5_000_000  # 10 MB in one cell; csv's own limit is 131072
    path = tmp_path / "s.csv"
    path.write_text(f"prompt,completion\np,\"{big}\"\np,short one\n")
    assert quiet(score_file, path, ["distinct-1"])["distinct-1"].value == pytest.approx(3 / 5_000_002)
    assert len(load_samples(path)["p"][0]) == len(big)
    import csv
    assert csv.field_size_limit() == 131072  # restored


def test_duplicate_header_columns_are_refused_on_every_path(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("prompt,completion,completion\np,a,b\n")
    refuse(path, r"s\.csv:1: duplicate header column\(s\) 'completion'; each column needs its own name")
    tsv = tmp_path / "s.tsv"
    tsv.write_text("\n\nprompt\tprompt\tcompletion\np\tp\ta\n")
    refuse(tsv, r"s\.tsv:3: duplicate header column\(s\) 'prompt'")


def test_csv_row_errors_name_the_line_where_the_row_starts(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text('prompt,completion\np,"two\nlines"\n\np,a,extra\n')
    refuse(path, r"s\.csv:5: more cells than header columns \(3 vs 2: prompt, completion\)")


# -- Parquet ---------------------------------------------------------------------------------------------------

def test_parquet_everywhere_with_the_file_name_in_errors(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    rows = [json.loads(line) for line in ROWS.splitlines()]
    path = tmp_path / "s.parquet"
    pd.DataFrame(rows).to_parquet(path)
    (tmp_path / "s.jsonl").write_text(ROWS)
    expected = load_samples(tmp_path / "s.jsonl")
    assert load_samples(path) == expected
    noext = tmp_path / "data.bin"
    noext.write_bytes(path.read_bytes())
    assert load_samples(noext) == expected  # PAR1: Parquet by content
    assert load_records(path)[0] == rows[0]
    same(quiet(score_file, path, METRICS), quiet(diversity.score, expected, METRICS))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(path.read_bytes()[:-30])
    refuse(broken, r"broken\.parquet: not a readable Parquet file \(ArrowInvalid: ")
    pd.DataFrame({"prompt": ["p", "q"], "completion": ["a", None]}).to_parquet(tmp_path / "n.parquet")
    refuse(tmp_path / "n.parquet", r"n\.parquet row 2: completion is missing \(null/NaN\), not a string")
    pd.DataFrame({"prompt": [1.5], "completion": ["a"]}).to_parquet(tmp_path / "f.parquet")
    refuse(tmp_path / "f.parquet", r"f\.parquet row 1: 'prompt' is 1\.5; a prompt id must be a string or an integer")
    lists = tmp_path / "l.parquet"
    pd.DataFrame({"prompt": ["p", "q"], "completions": [["a", "b"], ["c"]]}).to_parquet(lists)
    assert load_samples(lists) == {"p": ["a", "b"], "q": ["c"]}


# -- prompt identity -------------------------------------------------------------------------------------------

def test_one_prompt_id_with_two_texts_is_refused_showing_both(tmp_path):
    rows = [{"prompt_id": "c01", "prompt": "Write a poem.", "completion": "a"},
            {"prompt_id": "c01", "prompt": "Write a poem.", "completion": "b"},
            {"prompt_id": "c01", "prompt": "Write a story.", "completion": "c"}]
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    refuse(path, r"s\.jsonl:3: prompt_id 'c01' has the prompt text 'Write a story\.' here but 'Write a poem\.' at "
                 r".*s\.jsonl:1; one id must name one prompt.*CLI: --prompt-field prompt", prompt_field="prompt_id")
    assert load_samples(path) == {"Write a poem.": ["a", "b"], "Write a story.": ["c"]}
    consistent = tmp_path / "ok.jsonl"
    consistent.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))
    assert load_samples(consistent, prompt_field="prompt_id") == {"c01": ["a", "b"]}


def test_bundled_example_has_one_text_per_prompt_id():
    from diversity.io.datasets import example_path

    by_id = load_samples(example_path("base"), prompt_field="prompt_id")
    by_text = load_samples(example_path("base"))
    assert sorted(map(len, by_id.values())) == sorted(map(len, by_text.values()))


# -- the same numbers on every path ----------------------------------------------------------------------------

def same(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].signature == b[k].signature, k
        assert a[k].value == pytest.approx(b[k].value, rel=1e-12, abs=1e-12), k
        assert (a[k].ci is None) == (b[k].ci is None), k
        if a[k].ci is not None:
            assert (a[k].ci.low, a[k].ci.high) == pytest.approx((b[k].ci.low, b[k].ci.high), rel=1e-12, abs=1e-12)
        assert a[k].groups == b[k].groups, k
        np.testing.assert_allclose(a[k].per_group, b[k].per_group, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv.gz", ".tsv", ".parquet"])
def test_one_file_one_set_of_numbers_on_every_path(tmp_path, suffix):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(30)]
    rows = [{"prompt": f"p{i}", "completion": " ".join(rng.choice(words, size=int(rng.integers(2, 9))))}
            for i in range(12) for _ in range(int(rng.integers(2, 6)))]
    path = tmp_path / f"s{suffix}"
    frame = pd.DataFrame(rows)
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
        frame.to_parquet(path)
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        text = frame.to_csv(index=False, sep="\t" if suffix == ".tsv" else ",")
        path.write_bytes(gzip.compress(text.encode()) if suffix.endswith(".gz") else text.encode())
    reference = quiet(diversity.score, load_samples(path), METRICS)
    same(quiet(score_file, path, METRICS, chunk_rows=4), reference)
    pytest.importorskip("dask.dataframe")
    from diversity.distributed import score_dask

    import dask

    with dask.config.set(scheduler="synchronous"):
        same(quiet(score_dask, [path], METRICS), reference)


def test_dask_reads_files_with_the_same_messages(tmp_path):
    pytest.importorskip("dask.dataframe")
    import dask

    from diversity.distributed import score_dask

    path = tmp_path / "s.csv"
    path.write_text("prompt,completion,completion\np,a,b\n")
    with dask.config.set(scheduler="synchronous"), \
            pytest.raises(SampleFileError, match=r"s\.csv:1: duplicate header column\(s\) 'completion'"):
        score_dask(str(path), ["distinct-1"])
    with pytest.raises(FileNotFoundError, match=r"No sample file at '.*nope\.jsonl'"):
        score_dask(str(tmp_path / "nope.jsonl"), ["distinct-1"])


# -- URLs ------------------------------------------------------------------------------------------------------

def test_fsspec_urls_are_read_by_the_same_reader(tmp_path):
    fsspec = pytest.importorskip("fsspec")
    base = "memory://diversity-test-reader"
    with fsspec.open(f"{base}/s.jsonl", "wb") as f:
        f.write(ROWS.encode())
    with fsspec.open(f"{base}/s.csv.gz", "wb") as f:
        f.write(gzip.compress(CSV.encode()))
    with fsspec.open(f"{base}/bad.csv", "wb") as f:
        f.write(b"prompt,completion,completion\np,a,b\n")
    (tmp_path / "local.jsonl").write_text(ROWS)
    expected = load_samples(tmp_path / "local.jsonl")
    assert load_samples(f"{base}/s.jsonl") == expected
    assert load_samples(f"{base}/s.csv.gz") == expected
    refuse(f"{base}/bad.csv", r"memory://diversity-test-reader/bad\.csv:1: duplicate header column\(s\) 'completion'")
    with pytest.raises(FileNotFoundError, match=r"No sample file at 'memory://diversity-test-reader/nope\.jsonl'"):
        load_samples(f"{base}/nope.jsonl")
    pytest.importorskip("dask.dataframe")
    import dask

    from diversity.distributed import score_dask

    with dask.config.set(scheduler="synchronous"):
        same(quiet(score_dask, f"{base}/s.jsonl", METRICS), quiet(diversity.score, expected, METRICS))

