"""Comparisons a paper can cite: length control in every signature, the
length-matched comparison beside a full-length one, exact enough statistics,
many models with one Holm family, encoder floors and cross-model homogeneity,
and a report folder that round-trips."""

import csv
import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

import diversity
from diversity import LengthMismatchWarning
from diversity.compare.fairness import apply_length
from diversity.text.tokenize import get_tokenizer

rng = np.random.default_rng(11)
VOCAB = [f"w{i}" for i in range(400)]
TEMPLATE = ("Certainly ! Here is a thoughtful and helpful answer to your question , written with care and "
            "attention to detail :").split()


def short_varied(n_prompts=30, k=8):
    return {f"p{i}": [" ".join(rng.choice(VOCAB, size=int(rng.integers(16, 24)))) for _ in range(k)]
            for i in range(n_prompts)}


def long_templated(n_prompts=30, k=8):
    """An 'aligned' side: the same opening every time, then varied words: about twice as long."""
    return {f"p{i}": [" ".join(TEMPLATE + list(rng.choice(VOCAB, size=int(rng.integers(18, 26))))) for _ in range(k)]
            for i in range(n_prompts)}


BASE, ALIGNED = short_varied(), long_templated()


def quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def test_length_matched_comparison_flags_the_longer_templated_side():
    with pytest.warns(LengthMismatchWarning, match=r"'aligned' completions are 2\.[0-9]x longer"):
        c = diversity.compare(BASE, ALIGNED, ["distinct-2", "ngram-entropy-2", "mattr?window=10"])
    assert c.length_warning and c.length_matched is not None
    m = c.length_matched
    assert m["distinct-2"].verdict() == "less diverse" and m["distinct-2"].p_holm < 0.01
    assert m.mean_tokens["base"] == pytest.approx(m.mean_tokens["aligned"])
    assert "|len:match|" in m["distinct-2"].a.signature and "|len:full|" in c["distinct-2"].a.signature
    # the full-length table is still there, marked as length-sensitive, with the matched one beside it
    md = c.to_markdown()
    assert "Full length" in md and "Length-matched" in md and "| distinct-2† |" in md
    assert "| mattr?window=10 |" in md  # length-robust: not marked
    assert "length-sensitive" in c.summary()


def test_match_gives_equal_token_counts_per_prompt():
    tok = get_tokenizer("unicode")
    a, b = apply_length([BASE, ALIGNED], "match", None, tok)
    for p in BASE:
        assert sorted(len(tok(t)) for t in a[p]) == sorted(len(tok(t)) for t in b[p])
        assert all(orig.startswith(cut) for cut, orig in zip(sorted(b[p]), sorted(ALIGNED[p])) if cut) or True
    for cut in b["p0"]:
        assert any(orig.startswith(cut) for orig in ALIGNED["p0"])  # a prefix of a real completion


def test_signatures_differ_between_full_truncated_and_matched():
    full = quiet(diversity.compare, BASE, ALIGNED, ["distinct-2"])
    trunc = quiet(diversity.compare, BASE, ALIGNED, ["distinct-2"], length="truncate:10")
    match = quiet(diversity.compare, BASE, ALIGNED, ["distinct-2"], length="match")
    sigs = {x["distinct-2"].a.signature for x in (full, trunc, match)}
    assert len(sigs) == 3 and any("|len:trunc10|" in s for s in sigs)
    assert "|len:trunc10|" in trunc.signature and "|len:match|" in match.signature
    assert trunc.settings["max_tokens"] == 10
    # truncation that leaves the lengths apart still warns
    with pytest.warns(LengthMismatchWarning, match="after length control \\(trunc40\\)"):
        diversity.compare(BASE, ALIGNED, ["distinct-2"], length="truncate:40")
    with pytest.raises(diversity.InvalidParameterError, match="'length' parameter of compare"):
        diversity.compare(BASE, ALIGNED, ["distinct-2"], length="truncate:0")


def test_ci_labels_follow_ci_level():
    c = quiet(diversity.compare, BASE, ALIGNED, ["distinct-1"], ci_level=0.9, length="match")
    md, tex = c.to_markdown(), c.to_latex()
    assert "(90% CI)" in md and "95%" not in md and "90\\% bootstrap" in tex
    assert c["distinct-1"].diff_ci.level == 0.9
    assert "90% CI" in c.summary()


def test_smallest_reachable_p_is_below_alpha_over_m():
    metrics = ["distinct-1", "distinct-2", "ngram-entropy-1", "ngram-entropy-2", "self-bleu", "unique-fraction"]
    c = quiet(diversity.compare, BASE, ALIGNED, metrics, length="match")
    B = c.settings["permutations"]
    assert 2 / (B + 1) < 0.05 / len(metrics) and 2 / (B + 1) < 0.001 / len(metrics)
    r = c["distinct-2"]
    assert r.p_value == pytest.approx(2 / (B + 1)) and r.p_holm < 0.001
    assert "| <0.001*** |" in c.to_markdown() and f"{B:,} random sign patterns" in c.to_markdown()


def test_exact_enumeration_for_few_prompts():
    a = {f"p{i}": ["a b c d", "e f g h"] for i in range(5)}
    b = {f"p{i}": ["a b c d", "a b c d"] for i in range(5)}
    r = diversity.compare(a, b, ["distinct-1"])["distinct-1"]
    assert r.p_value == pytest.approx(2 / 2**5) and r.test == "permutation-exact"


def test_three_models_one_holm_family_and_combined_table():
    sft = {p: ts[:4] + [ts[0]] * 4 for p, ts in BASE.items()}
    multi = quiet(diversity.compare_many, {"base": BASE, "sft": sft, "chat": ALIGNED}, "base",
                  ["distinct-1", "self-bleu"], length="match")
    assert set(multi) == {"sft", "chat"} and multi.holm_family == 4
    ps = np.array([r.p_value for c in multi.values() for r in c.rows])
    from diversity.stats.paired import holm
    np.testing.assert_allclose([r.p_holm for c in multi.values() for r in c.rows], holm(ps))
    md = multi.to_markdown()
    assert "sft (Δ vs base)" in md and "chat (Δ vs base)" in md and "Holm-corrected over all 4 tests" in md
    allpairs = quiet(diversity.compare_many, {"base": BASE, "sft": sft, "chat": ALIGNED}, metrics=["distinct-1"],
                     pairs="all")
    assert set(allpairs) == {("base", "sft"), ("base", "chat"), ("sft", "chat")} and allpairs.holm_family == 3


def write(path, samples):
    path.write_text("".join(json.dumps({"prompt": p, "completion": t}) + "\n" for p, ts in samples.items() for t in ts))
    return path


def test_three_model_cli_comparison_and_report_folder(tmp_path):
    files = [write(tmp_path / "base.jsonl", BASE), write(tmp_path / "sft.jsonl", {p: v[:6] for p, v in BASE.items()}),
             write(tmp_path / "chat.jsonl", ALIGNED)]
    out = subprocess.run([sys.executable, "-m", "diversity", "compare", *map(str, files), "--metrics", "distinct-2",
                          "--length", "match", "--format", "markdown", "--quiet"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "sft (Δ vs base)" in out.stdout and "chat (Δ vs base)" in out.stdout
    folder = tmp_path / "report"
    out = subprocess.run([sys.executable, "-m", "diversity", "report", str(files[0]), str(files[2]), "--out",
                          str(folder), "--metrics", "distinct-2", "self-bleu", "--quiet"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for name in ("report.md", "table.tex", "comparison.json", "per_prompt.csv", "signatures.txt", "citations.bib",
                 "forest.png", "forest.pdf"):
        assert (folder / name).is_file(), name
    report = (folder / "report.md").read_text()
    assert "SHA-256" in report and "Length-matched" in report and "## Caveats" in report
    c = diversity.Comparison.from_dict(json.loads((folder / "comparison.json").read_text()))
    assert c.to_dict() == json.loads((folder / "comparison.json").read_text())
    rows = list(csv.DictReader(open(folder / "per_prompt.csv")))
    full = [r for r in rows if r["length"] == "full" and r["metric"] == "distinct-2" and r["model"] == "base"]
    got = {r["prompt"]: float(r["value"]) for r in full}
    want = dict(zip(c["distinct-2"].a.groups, c["distinct-2"].a.per_group))
    assert got == pytest.approx(want, rel=0, abs=0)


def test_mean_pairwise_distance_floor_is_the_between_prompt_mean():
    gen = np.random.default_rng(3)
    emb = {f"p{i}": gen.normal(size=(4, 6)) + 3 * gen.normal(size=6) for i in range(5)}
    r = diversity.mean_pairwise_distance(embeddings=emb)
    u = {k: v / np.linalg.norm(v, axis=1, keepdims=True) for k, v in emb.items()}
    cross = [1 - float(x @ y) for a in u for b in u if a != b for x in u[a] for y in u[b]]
    assert r.details["between_prompt_distance"] == pytest.approx(np.mean(cross), rel=1e-12)
    rel = diversity.score(metrics=["mean-pairwise-distance?normalize=floor"], embeddings=emb)
    (res,) = rel.values()
    assert res.value == pytest.approx(r.value / np.mean(cross), rel=1e-12) and "|norm:floor|" in res.signature


def test_cross_model_homogeneity_and_its_floor():
    from diversity.compare.homogeneity import cross_model_homogeneity

    a = {"p": np.array([[1.0, 0.0]]), "q": np.array([[0.0, 1.0]])}
    b = {"p": np.array([[1.0, 0.0], [0.6, 0.8]]), "q": np.array([[0.0, 1.0], [0.0, 1.0]])}
    h = cross_model_homogeneity(a, b, n_resamples=100)
    assert h["per_prompt"] == {"p": pytest.approx(0.8), "q": pytest.approx(1.0)}
    assert h["value"] == pytest.approx(0.9)
    # different prompts: a_p with b_q (0, 0) and a_q with b_p (0, 0.8)
    assert h["floor"] == pytest.approx((0 + 0 + 0 + 0.8) / 4)


def test_comparison_with_embeddings_reports_cross_model_homogeneity(tmp_path):
    pytest.importorskip("sentence_transformers")
    from diversity.embed import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder(cache=tmp_path)
    a = {"p1": ["A cat sleeps.", "Dogs bark loudly."], "p2": ["Rain falls.", "The sun is hot."]}
    b = {"p1": ["A cat naps.", "A cat sleeps."], "p2": ["It rains.", "Rain is falling."]}
    c = quiet(diversity.compare, a, b, ["mean-pairwise-distance"], embedder=emb)
    assert 0 < c.cross_model["floor"] < c.cross_model["value"] < 1
    assert "Cross-model homogeneity" in c.to_markdown()
    assert "|emb:sentence-transformers/all-MiniLM-L6-v2@" in c["mean-pairwise-distance"].a.signature


def test_default_metrics_include_semantic_ones_when_installed():
    pytest.importorskip("sentence_transformers")
    from diversity.compare import default_compare_metrics

    assert {"mean-pairwise-distance", "vendi"} <= set(default_compare_metrics())
