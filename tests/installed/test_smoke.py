"""Smoke suite of the installed wheel with every extra: each public family of
functions once, on the bundled data and the bundled embedding model, and every CLI
subcommand through the installed console script."""

import copy
import json
import pickle
import subprocess

import numpy as np
import pytest

import diversity

BASE = {k: v for k, v in list(diversity.load_example("base").items())[:6]}
ALIGNED = {k: diversity.load_example("aligned")[k] for k in BASE}


def test_bundled_data_ships_in_the_wheel():
    from diversity.io.datasets import data_path
    from diversity.quality.refusal import rules_detector

    assert len(diversity.load_example("base")) == len(diversity.load_example("aligned")) >= 40
    assert data_path("handwritten_base.jsonl").is_file()
    assert rules_detector() is not None  # the rule file of the refusal detector


def test_lexical_and_overlap():
    res = diversity.score(BASE, ["distinct-2", "ead-2?vocab_size=32000", "ngram-entropy-2", "unique-fraction",
                                 "compression-ratio", "mattr", "self-bleu", "homogenization-rouge-l"])
    assert res["distinct-2"].value == diversity.distinct_n(BASE, n=2).value
    assert 0 < res["self-bleu"].value < 1 and res["distinct-2"].ci.low <= res["distinct-2"].value


def test_semantic_with_the_bundled_model():
    res = diversity.score(BASE, ["vendi", "mean-pairwise-distance", "semantic-clusters"])
    assert 1 <= res["vendi"].value <= 8
    assert "emb:sentence-transformers/all-MiniLM-L6-v2@" in res["vendi"].signature
    assert 0 < res["mean-pairwise-distance"].value < 1


def test_refusals_and_gates():
    rate = diversity.refusal_rate({"p": ["I can't help with that request.", "Here is a poem about the sea."]})
    assert rate.value == 0.5
    gated = diversity.score(BASE, ["distinct-2"], gate="no-refusal")
    assert "gate:no-refusal" in gated["distinct-2"].signature


def test_compare_report_plots_and_pickle(tmp_path):
    c = diversity.compare(BASE, ALIGNED, ["distinct-2", "self-bleu", "vendi"], labels=("base", "aligned"))
    assert c.summary() and c.to_latex() and c.to_markdown()
    assert len(c.to_frame()) == 3
    for obj in (c, c["vendi"], c["vendi"].a):
        assert pickle.loads(pickle.dumps(obj)) == obj
        assert copy.deepcopy(obj) == obj
    assert type(c).from_dict(json.loads(json.dumps(c.to_dict()))).to_dict() == c.to_dict()
    folder = diversity.write_report(c, tmp_path / "report")
    assert (tmp_path / "report" / "report.md").is_file() and folder
    written = diversity.save_figure(diversity.plot_forest(c), tmp_path / "forest.png")
    assert written[0].stat().st_size > 5_000
    fig = diversity.plot_embeddings({"base": BASE, "aligned": ALIGNED}, per_prompt=False)
    assert diversity.save_figure(fig, tmp_path / "clouds.pdf")[0].stat().st_size > 5_000


def test_compare_many():
    third = {k: v[:4] + v[:4] for k, v in ALIGNED.items()}
    m = diversity.compare_many({"base": BASE, "aligned": ALIGNED, "copy": third}, metrics=["distinct-2"])
    assert set(m) == {"aligned", "copy"} and m.to_markdown()
    assert pickle.loads(pickle.dumps(m)).to_markdown() == m.to_markdown()


def test_sampling_with_a_tiny_model(tmp_path):
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "."]
    t = Tokenizer(models.WordLevel(vocab={"<pad>": 0, "<eos>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(words)}},
                                   unk_token="<unk>"))
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=t, unk_token="<unk>", pad_token="<pad>",
                                               eos_token="<eos>")
    tok.save_pretrained(tmp_path / "tiny")
    cfg = transformers.LlamaConfig(vocab_size=len(words) + 3, hidden_size=16, intermediate_size=32,
                                   num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                   max_position_embeddings=64, pad_token_id=0, eos_token_id=1, bos_token_id=1)
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(cfg).save_pretrained(tmp_path / "tiny")
    backend = diversity.TransformersBackend(tmp_path / "tiny", model_id="tiny")
    config = diversity.DecodingConfig(k=3, max_new_tokens=6, temperature=1.0, seed=0)
    out = diversity.sample_to_jsonl(backend, [diversity.Prompt("p1", "the cat")], tmp_path / "s.jsonl", config)
    rows = diversity.load_records(out)
    assert len(rows) == 3


def test_distributed_on_a_one_worker_cluster(tmp_path):
    import dask.dataframe as dd
    import pandas as pd
    from dask.distributed import Client, LocalCluster

    df = pd.DataFrame([{"prompt": p, "completion": c} for p, cs in BASE.items() for c in cs])
    df.to_parquet(tmp_path / "base.parquet")
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster):
        res = diversity.score_dask(dd.from_pandas(df, npartitions=3), ["distinct-2", "self-bleu"])
        from_file = diversity.score_dask(str(tmp_path / "base.parquet"), ["distinct-2"])
        pooled = diversity.score_dask(dd.from_pandas(df, npartitions=3), ["distinct-2", "unique-fraction"],
                                      aggregate="pooled")
    assert from_file["distinct-2"].value == res["distinct-2"].value
    assert res["distinct-2"].value == pytest.approx(diversity.distinct_n(BASE, n=2).value, abs=1e-12)
    assert pooled["distinct-2"].value == pytest.approx(diversity.distinct_n(BASE, n=2, aggregate="pooled").value,
                                                       abs=1e-12)


def test_in_memory_engine_over_worker_processes(monkeypatch):
    """score(n_jobs=2) from the installed package: batches scored in spawned processes, the numbers of one."""
    import diversity.engines.plan as plan

    one = diversity.score(BASE, ["distinct-2", "self-bleu", "unique-fraction"])
    monkeypatch.setattr(plan, "BATCH_ITEMS", 40)  # several batches, so the worker processes run
    two = diversity.score(BASE, ["distinct-2", "self-bleu", "unique-fraction"], n_jobs=2)
    for spec, r in one.items():
        assert two[spec].per_group == pytest.approx(r.per_group, rel=1e-12, nan_ok=True)
        assert two[spec].signature == r.signature and two[spec].groups == r.groups


def test_results_pickle_after_every_path():
    r = diversity.vendi_score(embeddings=np.eye(3))
    assert pickle.loads(pickle.dumps(r)) == r and r.value == pytest.approx(3.0)


# ---- every CLI subcommand through the installed console script ----------------------------------------------------

def _cli(bin_dir, *args, cwd):
    out = subprocess.run([str(bin_dir / "diversity"), *args], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert out.returncode == 0, f"diversity {' '.join(args)}\n{out.stderr}"
    assert "Traceback" not in out.stderr
    return out.stdout


def test_every_cli_subcommand(tmp_path, bin_dir):
    assert "aligned.jsonl" in _cli(bin_dir, "demo", "--save-samples", ".", cwd=tmp_path)
    table = _cli(bin_dir, "score", "base.jsonl", "--metrics", "distinct-2", "ead-2?vocab_size=32000",
                 "--ci-level", "0.9", "--format", "json", cwd=tmp_path)
    assert json.loads(table)
    md = _cli(bin_dir, "compare", "base.jsonl", "aligned.jsonl", "--metrics", "distinct-2", "self-bleu", "vendi",
              "--format", "markdown", "--plot", "forest.png", cwd=tmp_path)
    assert "vendi" in md and (tmp_path / "forest.png").stat().st_size > 5_000
    _cli(bin_dir, "report", "base.jsonl", "aligned.jsonl", "--metrics", "distinct-2", "--out", "rep", cwd=tmp_path)
    assert (tmp_path / "rep" / "report.md").is_file()
    assert "distinct" in _cli(bin_dir, "metrics", cwd=tmp_path)
    assert "@" in _cli(bin_dir, "cite", "vendi", cwd=tmp_path)
    assert "aligned" in _cli(bin_dir, "demo", "--quiet", cwd=tmp_path)
