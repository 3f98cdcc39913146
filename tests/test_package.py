"""The package as users meet it: every public module imports first in a fresh
interpreter, results travel (pickle, deepcopy, JSON), documented entry points are
top-level names, warnings point at the caller's line, output follows one switch."""

import copy
import os
import pickle
import pkgutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import diversity

SRC = Path(diversity.__file__).parent
DEPRECATED = {"attributes", "bleu", "datasets", "extract", "lexical", "plot", "sampling", "semantic", "tokenize",
              "tokens"}


def _public_modules():
    names = []
    for info in pkgutil.walk_packages([str(SRC)], prefix="diversity."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) and parts[-1] != "__main__":
            continue
        if len(parts) == 2 and parts[1] in DEPRECATED or parts[-1] == "__main__":
            continue
        names.append(info.name)
    return sorted(names)


@pytest.mark.slow
def test_every_public_module_imports_first_in_a_fresh_interpreter():
    """One child interpreter per module (forked from a parent that has imported nothing of diversity)."""
    modules = _public_modules()
    assert len(modules) > 40 and "diversity.report.embedding_plots" in modules
    code = r"""
import importlib, os, sys, traceback
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status:
        failed.append(name)
print("FAILED:", failed)
sys.exit(1 if failed else 0)
"""
    out = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"})
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]


def test_documented_entry_points_are_top_level_and_lazy():
    for name in ("score_file", "score_dask", "write_report", "plot_forest", "plot_per_prompt", "plot_embeddings",
                 "save_figure", "classify_refusals", "SentenceTransformerEmbedder", "sample_to_jsonl",
                 "DecodingConfig", "Prompt", "TransformersBackend", "OpenAIBackend", "register_tokenizer",
                 "load_example", "set_progress", "get_progress", "from_dataset", "read_format", "OpenAIEmbedder",
                 "E5SmallQ4Embedder", "VLLMBackend", "encoder_agreement", "agreement_of"):
        assert name in dir(diversity), name
        assert callable(getattr(diversity, name)), name
    from diversity.io.stream import score_file

    assert diversity.score_file is score_file
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        diversity.nothing_here  # noqa: B018
    code = ("import sys, diversity; diversity.score_file; diversity.score_dask; diversity.write_report; "
            "print([m for m in ('torch', 'matplotlib', 'dask', 'pandas', 'sentence_transformers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.fixture(scope="module")
def comparisons():
    rng = np.random.default_rng(0)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    side = lambda: {f"p{i}": [" ".join(rng.choice(words, 6)) for _ in range(4)] for i in range(6)}  # noqa: E731
    a, b, c = side(), side(), side()
    return (diversity.compare(a, b, ["distinct-2", "self-bleu"], labels=("a", "b")),
            diversity.compare_many({"a": a, "b": b, "c": c}, metrics=["distinct-2"]))


def test_results_and_comparisons_pickle_and_deepcopy(comparisons):
    c, m = comparisons
    r = c["distinct-2"].a
    for obj in (r, c["distinct-2"], c, m):
        for clone in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj)):
            assert clone == obj
            assert type(clone) is type(obj)
    clone = pickle.loads(pickle.dumps(r))
    assert clone.signature.fields == r.signature.fields and dict(clone.details) == dict(r.details)
    with pytest.raises(TypeError):
        clone.details["x"] = 1  # still read-only after the round trip
    d = c.to_dict()
    assert type(c).from_dict(pickle.loads(pickle.dumps(d))).to_dict() == d


def test_results_travel_through_a_process_pool():
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1) as pool:
        got = pool.submit(diversity.distinct_n, ["a b c", "a b d"], n=2).result()
    assert got == diversity.distinct_n(["a b c", "a b d"], n=2)


def test_warnings_point_at_the_callers_line():
    texts = {"p1": ["a b", "c d"], "p2": ["e f", "g h"], "p3": ["i j", "k l"]}
    longer = {k: [" ".join([v[0]] * 10), " ".join([v[1]] * 10)] for k, v in texts.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        diversity.compare(texts, longer, ["distinct-1"])  # the length warning
        diversity.distinct_n({"p": [""]})  # undefined: no n-gram
    assert caught
    for w in caught:
        assert w.filename == __file__, (w.filename, str(w.message))


def test_progress_switch(capfd):
    assert diversity.get_progress() is None
    with pytest.raises(ValueError, match="The 'enabled' parameter of set_progress must be True, False or None"):
        diversity.set_progress("yes")
    from diversity.core.progress import show_progress

    try:
        diversity.set_progress(True)
        assert show_progress(3) and not show_progress(3, own=False)
        diversity.set_progress(False)
        assert not show_progress(10**6) and show_progress(1, own=True)
    finally:
        diversity.set_progress(None)
    assert not show_progress(10) and show_progress(10, own=True)


@pytest.mark.slow
def test_loading_the_default_model_prints_nothing(capfd):
    from diversity.embed import SentenceTransformerEmbedder

    SentenceTransformerEmbedder(cache=False).encode(["a quiet load"])
    out, err = capfd.readouterr()
    assert out == "" and "Loading weights" not in err and "it/s" not in err, err
