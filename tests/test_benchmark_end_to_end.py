"""The bundled model-generated sample set and the whole base-vs-aligned
benchmark run on it (the default embedding model included)."""

import json
import subprocess
import sys

import pytest

import diversity
from diversity.io.datasets import example_path, load_example, load_example_records
from diversity.generation import read_meta
from tests.conftest import ROOT


def test_bundled_example_set_is_complete_and_documented():
    for side, family in (("base", "gemma-3-270m"), ("aligned", "SmolLM2-135M-Instruct")):
        rows = load_example_records(side)
        open_sets, persona = load_example(side), load_example(side, task="persona")
        assert len(open_sets) >= 40 and all(len(v) == 8 for v in open_sets.values())
        assert len(persona) == 4 and all(len(v) == 8 for v in persona.values())
        assert len(rows) == 8 * (len(open_sets) + len(persona))
        assert all(family in r["model"] for r in rows)
        assert all(len(r["top_logprobs"]) >= 1 for r in rows if r["completion"])
        meta = read_meta(example_path(side))
        assert meta["decoding"]["temperature"] == 1.0 and meta["decoding"]["k"] == 8
        assert meta["prompt_format"] == ("base-template" if side == "base" else "chat-template")
    readme = (example_path("base").parent / "README.md").read_text()
    for needle in ("gemma-3-270m", "SmolLM2-135M-Instruct", "license", "temperature", "benchmarks/generate.py",
                   "cannot show"):
        assert needle.lower() in readme.lower()
    assert load_example("base").keys() == load_example("aligned").keys()
    with pytest.raises(ValueError, match="side must be 'base' or 'aligned'"):
        load_example("chat")


@pytest.mark.slow
def test_base_vs_aligned_benchmark_on_the_bundled_set(tmp_path):
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "base_vs_aligned.py"), "--example",
                           "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = (out / "report.md").read_text()
    for needle in ("## Inputs", "google/gemma-3-270m", "SmolLM2-135M-Instruct", "chat-template",
                   "base-template", "| self-bleu", "| vendi | ↑ |", "| token-entropy | ↑ |", "| branching-factor | ↑ |",
                   "attribute-entropy[nationality]", "### Personas", "## Caveats", "compare|labels:base,aligned|",
                   "prompted differently", "SHA-256"):
        assert needle in report, needle
    results = json.loads((out / "results.json").read_text())
    metrics = [m["metric"] for m in results["comparison"]["metrics"]]
    assert "distinct-2" in metrics and "semantic-clusters" in metrics
    for fig in ("forest.png", "forest.pdf", "per_prompt_distinct-1.png", "embeddings.png"):
        assert (out / fig).stat().st_size > 10_000
    for name in ("table.tex", "comparison.json", "per_prompt.csv", "citations.bib"):
        assert (out / name).is_file()
    # the same numbers as the library on the same files
    lib = diversity.compare(load_example("base"), load_example("aligned"), ["distinct-2"])
    row = next(m for m in results["comparison"]["metrics"] if m["metric"] == "distinct-2")
    assert row["diff"] == pytest.approx(lib["distinct-2"].diff)


def test_report_script_on_plain_prompt_completion_files(tmp_path):
    """The report script reads anything load_samples reads (no prompt_id, no sidecar)."""
    rows = [{"prompt": f"Question {i}?", "completion": f"answer {j} to question {i} with words {j * i}"}
            for i in range(6) for j in range(4)]
    base, chat = tmp_path / "base.jsonl", tmp_path / "chat.csv"
    base.write_text("".join(json.dumps(r) + "\n" for r in rows))
    chat.write_text("prompt,completion\n" + "".join(f'"{r["prompt"]}","Sure! {r["completion"][:12]}"\n' for r in rows))
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "base_vs_aligned.py"), "--base", str(base),
                           "--aligned", str(chat), "--out", str(out), "--no-semantic", "--metrics", "distinct-1",
                           "self-bleu", "--length", "match"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = (out / "report.md").read_text()
    assert "| distinct-1 |" in report and "len:match" in report and "not recorded" in report
