"""A fuzz pass over the command line: whatever bytes a sample file holds, the
CLI answers with results (exit 0) or a one-line error (exit 2), never a
traceback."""

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from diversity.cli import main

FRAGMENTS = st.sampled_from([b'{"prompt": "p", "completion": "a b"}\n', b'{"prompt": 1, "completion": "x"}\n',
                             b'{"prompt": "q", "completions": ["c", "", "d e"]}\n', b"\xff\xfe", b"\x1f\x8b",
                             b'{"prompt": "p", "completion": null}\n', b"prompt,completion\n", b'"a","b c"\n',
                             b"\n", b"{", b'"\\ud800"', b"\x00", "é".encode("latin-1"), b"[1, 2]\n"])
CONTENT = st.one_of(st.binary(max_size=200), st.lists(FRAGMENTS, max_size=8).map(b"".join))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(CONTENT, st.sampled_from(["s.jsonl", "s.csv", "s.tsv", "s.jsonl.gz", "s"]),
       st.sampled_from([["distinct-1", "self-bleu"], ["ead-2?vocab_size=100"], ["unique-fraction"]]))
def test_cli_score_never_crashes(tmp_path_factory, capsys, content, name, metrics):
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(content)
    code = main(["score", str(path), "--metrics", *metrics, "--format", "json", "--quiet"])
    out, err = capsys.readouterr()
    assert code in (0, 2)
    assert "Traceback" not in err
    if code == 0:
        json.loads(out)
    else:
        assert err.startswith("diversity: error: ") and err.count("\n") == 1


# -- the error funnel: operating-system and device errors are one line, with CLI advice ----------------------------

import errno  # noqa: E402

import pytest  # noqa: E402

ROWS = "".join(json.dumps({"prompt": p, "completion": c}) + "\n"
               for p, c in [("p", "a b"), ("p", "c d"), ("q", "a b"), ("q", "e f")])


def one_line_error(capsys, argv, match):
    with pytest.raises(SystemExit) if argv[0] == "--argparse" else _nothing():
        code = main(argv[1:] if argv[0] == "--argparse" else argv)
        assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    import re

    assert re.search(match, last), last
    return last


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def files(tmp_path):
    for name in ("a.jsonl", "b.jsonl"):
        (tmp_path / name).write_text(ROWS)
    return tmp_path


def test_report_out_naming_an_existing_file(files, capsys):
    (files / "taken.txt").write_text("x")
    one_line_error(capsys, ["report", str(files / "a.jsonl"), str(files / "b.jsonl"), "--out", str(files / "taken.txt"),
                            "--no-figures"],
                   r"^diversity: error: --out names an existing file, not a folder: .*taken\.txt \(name a new folder")


def test_report_out_in_a_folder_that_cannot_be_written(files, capsys, monkeypatch):
    import os

    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # tests may run as root, who may write anywhere
    one_line_error(capsys, ["report", str(files / "a.jsonl"), str(files / "b.jsonl"), "--out", str(files / "ro"),
                            "--no-figures"],
                   r"^diversity: error: --out names a folder that cannot be written: .*ro \(no permission; choose a "
                   r"folder you can write, e\.g\. --out \./report\)")


def test_an_os_error_while_writing_is_one_line(files, capsys, monkeypatch):
    import diversity.report.folder as folder

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(files / "out" / "report.md"))

    monkeypatch.setattr(folder, "write_report", full)
    one_line_error(capsys, ["report", str(files / "a.jsonl"), str(files / "b.jsonl"), "--out", str(files / "out"),
                            "--no-figures", "--n-resamples", "100", "--quiet"],
                   r"^diversity: error: No space left on device: .*report\.md$")


def test_device_names_are_checked_before_anything_runs(files, capsys):
    one_line_error(capsys, ["--argparse", "score", str(files / "a.jsonl"), "--device", "quantum:7"],
                   r"argument --device: 'quantum:7' is not a device; use auto, cpu, cuda, cuda:<index> or mps")
    pytest.importorskip("torch")
    import torch

    if torch.cuda.device_count() < 8:
        one_line_error(capsys, ["score", str(files / "a.jsonl"), "--metrics", "vendi", "--device", "cuda:7"],
                       r"^diversity: error: --device cuda:7: this machine has .*; pass --device auto or --device cpu\.$")


@pytest.mark.parametrize("value", ["inf", "-5G", "nan", "0", "lots"])
def test_a_bad_memory_limit_is_one_line(files, capsys, monkeypatch, value):
    monkeypatch.setenv("DIVERSITY_MEMORY_LIMIT", value)
    one_line_error(capsys, ["score", str(files / "a.jsonl"), "--metrics", "distinct-1", "--no-ci"],
                   rf"^diversity: error: DIVERSITY_MEMORY_LIMIT must be a positive size such as 8G, 512M or a number "
                   rf"of bytes, got '{value}'; set it so \(export DIVERSITY_MEMORY_LIMIT=8G\)")


def test_advice_names_cli_forms_not_python_keywords(files, capsys):
    (files / "s.txt").write_text("prompt,completion\np,a\n")
    last = one_line_error(capsys, ["score", str(files / "s.txt")], r"pass --format-in jsonl\|csv\|tsv\|parquet")
    assert "format=" not in last
    (files / "l.jsonl").write_bytes(ROWS.replace("a b", "caf\xe9").encode("latin-1"))
    last = one_line_error(capsys, ["score", str(files / "l.jsonl")], r"e\.g\. --encoding latin-1\.$")
    assert "encoding=" not in last
    ids = "".join(json.dumps({"prompt_id": "c1", "prompt": t, "completion": "x"}) + "\n" for t in ("A", "B"))
    (files / "ids.jsonl").write_text(ids)
    last = one_line_error(capsys, ["score", str(files / "ids.jsonl"), "--prompt-field", "prompt_id"],
                          r"one id must name one prompt\. Fix the file, or group by the text \(--prompt-field prompt\)\.$")
    assert "prompt_field=" not in last


def test_cli_advice_translation():
    from diversity.cli_errors import for_cli as _for_cli

    assert _for_cli("Sort it by prompt (e.g. in Python: rows.sort(key=lambda r: r['prompt'])), or pass grouped=False "
                    "(CLI: --not-grouped; every prompt then stays in memory).") == \
        "Sort it by prompt, or pass --not-grouped (every prompt then stays in memory)."
    assert _for_cli("(pass encoding='utf-16-le', CLI: --encoding utf-16-le)") == "(pass --encoding utf-16-le)"
    assert _for_cli("pass quality= with it; pass k= for one k; ci=False") == \
        "pass --quality-field with it; pass --k for one k; --no-ci"
    assert _for_cli("pass max_pairs= (e.g. max_pairs=100_000)") == "pass max_pairs= (e.g. max_pairs=100_000)"


def test_a_device_failure_is_one_line_and_other_runtime_errors_stay_bugs(files, capsys, monkeypatch):
    import diversity.engines.files as stream

    class OutOfMemoryError(RuntimeError):
        pass

    OutOfMemoryError.__module__ = "torch.cuda"

    def oom(*a, **k):
        raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(stream, "score_file", oom)
    one_line_error(capsys, ["score", str(files / "a.jsonl"), "--metrics", "distinct-1"],
                   r"^diversity: error: the embedding device failed \(OutOfMemoryError: CUDA out of memory\. Tried to "
                   r"allocate 2\.00 GiB\); try --device cpu")

    def bug(*a, **k):
        raise RuntimeError("an internal invariant broke")

    monkeypatch.setattr(stream, "score_file", bug)
    with pytest.raises(RuntimeError, match="an internal invariant broke"):
        main(["score", str(files / "a.jsonl"), "--metrics", "distinct-1"])
