"""States with provenance: the embedder and the data a state has seen travel
with it; unlike or repeated merges are refused; pickling keeps the embedder
or refuses; cache shards of another namespace are never served."""

import copy
import pickle
import threading
import warnings

import numpy as np
import pytest

from diversity.core.options import Options
from diversity.core.registry import from_spec
from diversity.core.state import State, embedder_identity
from diversity.embed.cache import EmbeddingCache, EmbeddingCacheWarning, text_key


class HashEmbedder:
    """A picklable embedder: 8-d vectors from the text's bytes."""

    def __init__(self, model_id="hash", revision="1", device="cpu", backend=None):
        self.model_id, self.revision, self.device, self.backend = model_id, revision, device, backend
        self.n_encoded = 0

    def encode(self, texts):
        self.n_encoded += len(texts)
        out = np.ones((len(texts), 8))
        for i, t in enumerate(texts):
            for j, b in enumerate(t.encode()[:32]):
                out[i, j % 8] += b
        return out


class LockedEmbedder(HashEmbedder):
    def __init__(self):
        super().__init__("locked")
        self.lock = threading.Lock()  # cannot be pickled


def quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


TEXTS = {"p": {"texts": ["a b c", "a b d", "x y"]}, "q": {"texts": ["u v", "u w"]}}


def state(metrics=("distinct-1", "self-bleu"), embedder=None, data=None, complete=False):
    s = State([from_spec(m) for m in metrics], Options.default(), embedder=embedder)
    return s.update(data if data is not None else TEXTS, complete=complete)


def test_merging_a_state_with_itself_is_refused():
    a = state()
    with pytest.raises(ValueError, match="cannot merge a state with itself: its data would be counted twice"):
        a.merge(a)


def test_merging_the_same_open_chunk_twice_is_refused():
    a, b = state(), state(data={"r": {"texts": ["k l", "m n"]}})
    ab = a.merge(b)
    with pytest.raises(ValueError, match=r"cannot merge: both states hold the same chunk of data \(first prompt 'p'.*"
                                         r"merged twice, or with a copy of itself"):
        ab.merge(a)
    for twin in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a)):
        with pytest.raises(ValueError, match="both states hold the same chunk of data"):
            a.merge(twin)
    # the refusal keeps self-BLEU from being inflated by duplicates
    one = quiet(state(data={**TEXTS, "r": {"texts": ["k l", "m n"]}}).results)
    assert [r.value for r in quiet(ab.results)] == pytest.approx([r.value for r in one], rel=1e-12)


def test_a_finished_prompt_in_both_states_is_refused():
    a = state(complete=True)
    with pytest.raises(ValueError, match=r"cannot merge: prompt 'p' is finished in one state and also present in "
                                         r"the other \(the same data merged twice"):
        a.merge(pickle.loads(pickle.dumps(a)))


def test_states_of_different_embedders_do_not_merge():
    a = state(["mean-pairwise-distance"], HashEmbedder("m1"), {"p": {"texts": ["a b", "c d"]}})
    b = state(["mean-pairwise-distance"], HashEmbedder("m2"), {"q": {"texts": ["e f", "g h"]}})
    with pytest.raises(ValueError, match=r"cannot merge states embedded by different embedders \(name m1, revision "
                                         r"1, device cpu vs name m2, revision 1, device cpu\)"):
        a.merge(b)
    gpu = state(["mean-pairwise-distance"], HashEmbedder("m1", device="cuda:0"), {"q": {"texts": ["e f", "g h"]}})
    with pytest.raises(ValueError, match="device cpu vs name m1, revision 1, device cuda:0"):
        a.merge(gpu)
    same = state(["mean-pairwise-distance"], HashEmbedder("m1"), {"q": {"texts": ["e f", "g h"]}})
    assert a.merge(same).embedder_identity == embedder_identity(HashEmbedder("m1"))


def test_states_whose_vectors_have_different_signatures_do_not_merge():
    a = state(["mean-pairwise-distance"], HashEmbedder("m1"), {"p": {"texts": ["a b", "c d"]}}, complete=True)
    b = state(["mean-pairwise-distance"], HashEmbedder("m2"), {"q": {"texts": ["e f", "g h"]}}, complete=True)
    b.embedder_identity = a.embedder_identity = None  # e.g. states pickled by an older version
    with pytest.raises(ValueError, match=r"vectors come from different embedders \(emb:m1@1 vs emb:m2@1\)"):
        a.merge(b)


def test_pickling_keeps_the_embedder():
    e = HashEmbedder("kept", revision="7")
    a = state(["mean-pairwise-distance", "distinct-1"], e, {"p": {"texts": ["a b", "c d", "e"]}})
    again = pickle.loads(pickle.dumps(a))
    assert isinstance(again.embedder, HashEmbedder) and again.embedder.model_id == "kept"
    assert again.embedder_identity == a.embedder_identity
    want, got = quiet(a.results), quiet(again.results)
    assert got[0].signature == want[0].signature and "emb:kept@7" in got[0].signature
    assert got[0].value == pytest.approx(want[0].value, rel=1e-12)


def test_pickling_refuses_an_embedder_that_cannot_travel():
    a = state(["mean-pairwise-distance"], LockedEmbedder(), {"p": {"texts": ["a b", "c d"]}})
    with pytest.raises(TypeError, match=r"This State's embedder \(name locked, revision 1, device cpu, a "
                                        r"LockedEmbedder\) cannot be pickled .*never re-embeds with another model"):
        pickle.dumps(a)


def test_cache_shards_carry_their_namespace(tmp_path):
    a = EmbeddingCache(tmp_path, "model/a@1")
    a.put_many([text_key("x")], np.ones((1, 3)))
    b = EmbeddingCache(tmp_path, "model_a@1")  # another namespace, the same folder name
    assert a.directory == b.directory
    with pytest.warns(EmbeddingCacheWarning, match=r"skipping 1 embedding cache file\(s\) in .* written for "
                                                   r"'model/a@1', not 'model_a@1'.*never served here"):
        assert b.get_many([text_key("x")]) == [None]
    assert EmbeddingCache(tmp_path, "model/a@1").get_many([text_key("x")])[0].tolist() == [1.0, 1.0, 1.0]


def test_cache_shards_without_a_namespace_are_still_served(tmp_path):
    c = EmbeddingCache(tmp_path, "m@1")
    c.directory.mkdir(parents=True)
    with open(c.directory / "old.npz", "wb") as f:
        np.savez(f, keys=np.array([text_key("x")], dtype="S64"), vecs=np.full((1, 2), 2.0, dtype=np.float32))
    assert c.get_many([text_key("x")])[0].tolist() == [2.0, 2.0]
