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
