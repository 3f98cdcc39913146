"""End-to-end: the command line as a subprocess, on real files."""

import json
import subprocess
import sys

import diversity


def run(*args):
    return subprocess.run([sys.executable, "-m", "diversity", *args], capture_output=True, text=True)


def test_demo_prints_real_results():
    out = run("demo")
    assert out.returncode == 0, out.stderr
    assert "HAND-WRITTEN" in out.stdout
    assert out.stdout.count("distinct-2|var:set|tok:unicode-v1") == 2


def test_score_json_matches_library(tmp_path):
    p = tmp_path / "s.jsonl"
    p.write_text("".join(json.dumps({"prompt": f"p{i % 3}", "completion": f"w{i} and w{i % 4} again"}) + "\n"
                         for i in range(12)))
    out = run("score", str(p), "--metrics", "distinct-1", "unique-fraction", "--format", "json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    lib = diversity.score(diversity.load_samples(p), ["distinct-1", "unique-fraction"])
    assert got["distinct-1"] == lib["distinct-1"].to_dict()
    assert got["unique-fraction"]["signature"] == lib["unique-fraction"].signature


def test_bad_input_exits_2_with_file_and_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"prompt": "p", "completion": "a"}\n{oops\n')
    out = run("score", str(p))
    assert out.returncode == 2
    assert "bad.jsonl:2: invalid JSON" in out.stderr and "Traceback" not in out.stderr


def test_version_and_metrics():
    assert diversity.__version__ in run("--version").stdout
    assert "distinct-<n>" in run("metrics").stdout
