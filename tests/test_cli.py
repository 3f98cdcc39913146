"""End-to-end: the command line on real files, in process through ``diversity.cli.main`` (the
``cli`` fixture); one test runs ``python -m diversity`` as a subprocess."""

import json
import subprocess
import sys

import pytest

import diversity


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "diversity", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and diversity.__version__ in out.stdout


@pytest.mark.slow
def test_demo_prints_real_results(cli):
    out = cli("demo")
    assert out.returncode == 0, out.stderr
    assert "gemma-3-270m (base) and SmolLM2-135M-Instruct (aligned)" in out.stdout
    assert "| vendi | ↑ |" in out.stdout and "emb:sentence-transformers/all-MiniLM-L6-v2@" in out.stdout
    assert "| distinct-2 | ↑ |" in out.stdout and "`distinct-2|var:set|tok:unicode-v2|" in out.stdout
    assert "distinct-2: " in out.stdout  # the one-sentence summary


def test_score_json_matches_library(tmp_path, cli):
    p = tmp_path / "s.jsonl"
    p.write_text("".join(json.dumps({"prompt": f"p{i % 3}", "completion": f"w{i} and w{i % 4} again"}) + "\n"
                         for i in range(12)))
    out = cli("score", str(p), "--metrics", "distinct-1", "unique-fraction", "--format", "json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    lib = diversity.score(diversity.load_samples(p), ["distinct-1", "unique-fraction"])
    assert got["distinct-1"] == lib["distinct-1"].to_dict()
    assert got["unique-fraction"]["signature"] == lib["unique-fraction"].signature


def test_bad_input_exits_2_with_file_and_line(tmp_path, cli):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"prompt": "p", "completion": "a"}\n{oops\n')
    out = cli("score", str(p))
    assert out.returncode == 2
    assert "bad.jsonl:2: invalid JSON" in out.stderr and "Traceback" not in out.stderr


def test_version_and_metrics(cli):
    assert diversity.__version__ in cli("--version").stdout
    assert "distinct-<n>" in cli("metrics").stdout


def write_model(path, prompts, texts_for):
    path.write_text("".join(json.dumps({"prompt": p, "completion": t}) + "\n" for p in prompts for t in texts_for(p)))
    return path


@pytest.mark.filterwarnings("ignore::diversity.LengthMismatchWarning")
@pytest.mark.slow
def test_compare_end_to_end(tmp_path, cli):
    prompts = [f"prompt {i}" for i in range(8)]
    a = write_model(tmp_path / "base.jsonl", prompts, lambda p: [f"{p} answer {j} with words w{j} x{j}" for j in range(5)])
    b = write_model(tmp_path / "aligned.jsonl", prompts, lambda p: [f"{p} the same answer"] * 5)
    out = cli("compare", str(a), str(b), "--metrics", "distinct-1", "self-bleu", "--format", "json",
              "--plot", str(tmp_path / "forest.png"))
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    lib = diversity.compare(diversity.load_samples(a), diversity.load_samples(b), ["distinct-1", "self-bleu"])
    assert got["metrics"][0]["diff"] == lib["distinct-1"].diff
    assert got["metrics"][1]["p_holm"] == lib["self-bleu"].p_holm
    assert got["signature"] == lib.signature
    assert (tmp_path / "forest.png").stat().st_size > 5000
    for fmt, needle in [("markdown", "| distinct-1 |"), ("latex", "\\toprule"), ("csv", "metric,more_diverse,base"),
                        ("table", "aligned is less diverse than base")]:
        out = cli("compare", str(a), str(b), "--metrics", "distinct-1", "--format", fmt, "--quiet")
        assert out.returncode == 0 and needle in out.stdout, (fmt, out.stdout[:300])
        assert out.stderr == ""


def test_score_formats(tmp_path, cli):
    p = write_model(tmp_path / "s.jsonl", ["a", "b"], lambda q: [f"{q} one", f"{q} two", f"{q} two"])
    out = cli("score", str(p), "--metrics", "distinct-1", "--format", "csv")
    assert out.returncode == 0 and out.stdout.splitlines()[0].startswith("metric,value,ci_low")
    out = cli("score", str(p), "--metrics", "distinct-1", "--format", "markdown")
    assert "| distinct-1 |" in out.stdout
    out = cli("score", str(p), "--metrics", "distinct-1", "--aggregate", "pooled", "--format", "latex")
    assert "\\toprule" in out.stdout


def test_usage_errors_exit_2(tmp_path, cli):
    assert cli("score").returncode == 2
    assert cli("score", str(tmp_path / "missing.jsonl")).returncode == 2
    p = write_model(tmp_path / "s.jsonl", ["a"], lambda q: ["x", "y"])
    out = cli("score", str(p), "--metrics", "no-such-metric")
    assert out.returncode == 2 and "Unknown metric 'no-such-metric'" in out.stderr


def test_cite(cli):
    out = cli("cite", "self-bleu", "vendi")
    assert out.returncode == 0
    assert "@inproceedings{zhu2018texygen" in out.stdout and "@article{friedman2023vendi" in out.stdout
    assert "@inproceedings{li2016diversity" not in out.stdout


def test_embedding_backend_and_device_options(tmp_path, cli):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("sentence_transformers")
    f = tmp_path / "s.jsonl"
    f.write_text("".join(json.dumps({"prompt": p, "completion": c}) + "\n" for p, c in
                         [("p", "a cat sat on the mat"), ("p", "a dog ran to the log"), ("q", "red wine"),
                          ("q", "the blue sea")]))
    out = cli("score", str(f), "--metrics", "vendi", "--embed-backend", "onnx", "--device", "cpu",
              "--cache-dir", str(tmp_path / "cache"), "--format", "json")
    assert out.returncode == 0, out.stderr
    assert "|backend:onnx|" in out.stdout and json.loads(out.stdout)
    bad = cli("score", str(f), "--metrics", "vendi", "--embed-backend", "tf")
    assert bad.returncode == 2 and "--embed-backend" in bad.stderr


def test_long_text_option_reaches_the_signature(tmp_path, cli):
    pytest.importorskip("sentence_transformers")
    p = write_model(tmp_path / "s.jsonl", ["a", "b"], lambda q: [f"{q} " + "word " * 400, f"{q} short answer"])
    out = cli("score", p, "--metrics", "vendi", "--long-text", "windows", "--no-ci", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert "|long:windows" in json.loads(out.stdout)["vendi"]["signature"]
    bad = cli("score", p, "--metrics", "vendi", "--long-text", "chunks")
    assert bad.returncode == 2 and "--long-text" in bad.stderr
