"""A core-only install (no extras): lexical metrics, refusals, comparisons and the
CLI work; anything that needs an extra fails with an error naming the extra."""

import importlib.util
import subprocess

import pytest

import diversity

SAMPLES = {"p1": ["the cat sat on the mat", "a dog ran", "the cat sat on the mat"],
           "p2": ["red sky at night", "blue sea", "green hills far away"],
           "p3": ["one two three", "four five", "six seven eight nine"]}


def test_no_extra_is_installed():
    for module in ("torch", "sentence_transformers", "matplotlib", "dask", "pandas", "transformers", "pyarrow"):
        assert importlib.util.find_spec(module) is None, f"{module} is installed in the core-only environment"


def test_lexical_overlap_and_refusal_metrics_work():
    res = diversity.score(SAMPLES, ["distinct-2", "ead-2?vocab_size=32000", "ngram-entropy-2", "unique-fraction", "compression-ratio",
                                    "mattr", "self-bleu", "homogenization-rouge-l"])
    assert all(0 <= r.value for r in res.values())
    assert diversity.refusal_rate({"p": ["I can't help with that.", "Sure: here it is."]}).value == 0.5
    gated = diversity.score(SAMPLES, ["distinct-2"], gate="no-refusal")
    assert gated["distinct-2"].value == res["distinct-2"].value


def test_compare_without_extras():
    other = {k: [v[0]] * 3 for k, v in SAMPLES.items()}
    c = diversity.compare(SAMPLES, other, ["distinct-2", "self-bleu"], labels=("a", "b"))
    assert c["distinct-2"].diff < 0
    assert "distinct-2" in c.to_markdown()


@pytest.mark.parametrize("call, extra", [
    (lambda: diversity.vendi_score(SAMPLES), "embed"),
    (lambda: diversity.mean_pairwise_distance(SAMPLES), "embed"),
    (lambda: diversity.score(SAMPLES, ["vendi"]), "embed"),
    (lambda: diversity.plot_forest(diversity.compare(SAMPLES, SAMPLES, ["distinct-1"])), "plot"),
    (lambda: diversity.score_dask(SAMPLES, ["distinct-1"]), "dask"),
    (lambda: diversity.compare(SAMPLES, SAMPLES, ["distinct-1"]).to_frame(), "pandas"),
    (lambda: diversity.TransformersBackend("nowhere"), "sample"),
])
def test_a_missing_extra_is_named(call, extra):
    with pytest.raises(ImportError, match=rf"pip install 'llm-diversity\[{extra}\]'"):
        call()


def test_cli_scores_without_extras(tmp_path, bin_dir):
    path = tmp_path / "s.jsonl"
    path.write_text("".join(f'{{"prompt": "{p}", "completion": "{c}"}}\n' for p, cs in SAMPLES.items() for c in cs))
    out = subprocess.run([str(bin_dir / "diversity"), "score", str(path), "--metrics", "distinct-2", "self-bleu",
                          "--format", "json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert '"distinct-2"' in out.stdout
    out = subprocess.run([str(bin_dir / "diversity"), "score", str(path), "--metrics", "vendi"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "llm-diversity[embed]" in out.stderr and "Traceback" not in out.stderr
