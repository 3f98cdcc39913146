"""The architecture's promises: one mergeable state for every path (streaming
in random chunks, merged in random order, equals one pass), specs that round
trip through score() and the CLI, signatures with declared keys, citations
from one source, and a layout whose import graph shows the roles."""

import ast
import inspect
import json
import math
import random
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import diversity
from diversity.core.options import Options
from diversity.core.params import REQUIRED
from diversity.core.registry import available_metrics, from_spec, metric_classes
from diversity.core.signature import KEYS, Signature
from diversity.core.state import State
from diversity.report.citations import CITATIONS

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "diversity"
WORD = st.sampled_from("a b c the cat sat on mat dog ran , . ! x y".split())
TEXT = st.lists(WORD, min_size=0, max_size=9).map(" ".join)

# one concrete spec per registered metric, with non-default parameters where it matters
SPECS = {
    "texts": ["distinct-1", "distinct-2?variant=per-completion", "ead-2?vocab_size=500", "ngram-entropy-2",
              "ngram-entropy-1?base=e&normalize=true", "unique-fraction?normalize=exact", "compression-ratio",
              "compression-ratio?level=6", "mattr?window=3", "self-bleu", "self-bleu?max_n=2&smoothing=exp",
              "homogenization-rouge-l", "homogenization-bleu?max_pairs=2&pair_seed=3", "refusal-rate",
              "refusal-rate?count=refusal+partial", "ngram-vendi", "ngram-vendi?max_n=2&q=inf",
              "self-repetition-4", "self-repetition-2"],
    "vectors": ["mean-pairwise-distance", "mean-pairwise-distance?metric=euclidean", "mean-pairwise-distance?normalize=floor", "remote-clique", "chamfer",
                "centroid-distance", "vendi", "vendi?q=2", "vendi?q=inf", "semantic-clusters",
                "semantic-entropy?threshold=0.5&linkage=complete", "embedding-homogenization"],
    "values": ["attribute-entropy", "attribute-richness", "attribute-gini-simpson", "attribute-inverse-simpson",
               "attribute-hill?q=2"],
    "logprobs": ["token-entropy", "token-entropy?top_k=2", "branching-factor?top_k=2&min_samples=1",
                 "branching-factor?min_samples=1&horizon=3", "branching-factor-topk?top_k=2&min_samples=1"],
    "quality": ["effective-semantic-diversity?min_score=0.5", "effective-semantic-diversity?variant=classes"],
    # defined over the sequence of samples: order-dependent by definition, so not streamed in random order
    "ordered": ["novelty-utility", "novelty-utility?patience=0.5"],
}


def test_every_registered_metric_is_exercised():
    covered = {type(from_spec(s)) for specs in SPECS.values() for s in specs}
    assert covered == set(metric_classes())


def quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", diversity.UndefinedMetricWarning)
        return f(*a, **k)


def chunked(data: dict, rnd: random.Random) -> list[dict]:
    """Split every prompt's items into random pieces spread over random chunks."""
    n_chunks = rnd.randint(1, 4)
    chunks = [dict() for _ in range(n_chunks)]
    for key, cols in data.items():
        n = len(next(iter(cols.values())))
        cuts = sorted(rnd.sample(range(1, n), min(n - 1, rnd.randint(0, 2)))) if n > 1 else []
        for lo, hi in zip([0] + cuts, cuts + [n]):
            target = chunks[rnd.randrange(n_chunks)]
            slot = target.setdefault(key, {c: [] for c in cols})
            for c, items in cols.items():
                slot[c].extend(items[lo:hi])
    return [c for c in chunks if c]


def stream_equals_one_pass(kind: str, data: dict, rnd: random.Random, mode: str) -> None:
    metrics = [from_spec(s) for s in SPECS[kind]]
    opts = Options.default()
    one = quiet(lambda: State(metrics, opts, mode).update(data).results())
    states = [State(metrics, opts, mode).update(c, complete=False) for c in chunked(data, rnd)]
    rnd.shuffle(states)
    while len(states) > 1:  # merge in a random tree
        i = rnd.randrange(len(states) - 1)
        states[i:i + 2] = [states[i].merge(states[i + 1])]
    many = quiet(states[0].results)
    for a, b in zip(one, many):
        assert a.signature == b.signature
        assert (math.isnan(a.value) and math.isnan(b.value)) or a.value == pytest.approx(b.value, rel=1e-12, abs=1e-12)
        if a.per_group is not None:
            got = dict(zip(b.groups, b.per_group))
            for k, v in zip(a.groups, a.per_group):
                assert (math.isnan(v) and math.isnan(got[k])) or v == pytest.approx(got[k], rel=1e-12, abs=1e-12)


GROUPED_TEXTS = st.dictionaries(st.sampled_from(["p1", "p2", "p3", "p4"]), st.lists(TEXT, min_size=1, max_size=6),
                                min_size=1, max_size=4)


@settings(max_examples=25, deadline=None)
@given(GROUPED_TEXTS, st.randoms(use_true_random=False), st.sampled_from(["per-prompt", "pooled"]))
def test_streaming_text_metrics_equals_one_pass(samples, rnd, mode):
    stream_equals_one_pass("texts", {k: {"texts": v} for k, v in samples.items()}, rnd, mode)


@settings(max_examples=20, deadline=None)
@given(st.dictionaries(st.sampled_from(["p1", "p2", "p3"]), st.integers(1, 6), min_size=1, max_size=3),
       st.randoms(use_true_random=False), st.integers(0, 10**6))
def test_streaming_vector_metrics_equals_one_pass(sizes, rnd, seed):
    gen = np.random.default_rng(seed)
    data = {k: {"embeddings": list(gen.normal(size=(n, 4)))} for k, n in sizes.items()}
    stream_equals_one_pass("vectors", data, rnd, "per-prompt")


@settings(max_examples=15, deadline=None)
@given(st.dictionaries(st.sampled_from(["p1", "p2", "p3"]), st.lists(st.tuples(TEXT, st.floats(0, 1)), min_size=1,
                                                                       max_size=5), min_size=1, max_size=3),
       st.randoms(use_true_random=False), st.integers(0, 10**6))
def test_streaming_quality_metrics_equals_one_pass(items, rnd, seed):
    gen = np.random.default_rng(seed)
    data = {k: {"texts": [t for t, _ in v], "embeddings": list(gen.normal(size=(len(v), 4))),
                "scores": [q for _, q in v]} for k, v in items.items()}
    stream_equals_one_pass("quality", data, rnd, "per-prompt")


@settings(max_examples=20, deadline=None)
@given(st.dictionaries(st.sampled_from(["p1", "p2", "p3"]), st.lists(st.sampled_from("ABCD"), min_size=1, max_size=7),
                       min_size=1, max_size=3), st.randoms(use_true_random=False))
def test_streaming_categorical_metrics_equals_one_pass(values, rnd):
    stream_equals_one_pass("values", {k: {"values": v} for k, v in values.items()}, rnd, "per-prompt")


@settings(max_examples=20, deadline=None)
@given(st.dictionaries(st.sampled_from(["p1", "p2"]), st.lists(st.integers(0, 4), min_size=1, max_size=4),
                       min_size=1, max_size=2), st.randoms(use_true_random=False), st.integers(0, 10**6))
def test_streaming_logprob_metrics_equals_one_pass(lengths, rnd, seed):
    gen = np.random.default_rng(seed)
    data = {k: {"logprobs": [np.sort(-gen.exponential(size=(n, 5)), axis=1)[:, ::-1] for n in ns]}
            for k, ns in lengths.items()}
    stream_equals_one_pass("logprobs", data, rnd, "per-prompt")


def test_merge_is_commutative_and_associative():
    opts, metrics = Options.default(), [from_spec("distinct-2"), from_spec("self-bleu")]
    parts = [{"p": {"texts": ["a b c", "a b"]}}, {"p": {"texts": ["c d"]}, "q": {"texts": ["x y", "x z"]}},
             {"q": {"texts": ["y z"]}}]
    s = [State(metrics, opts).update(p, complete=False) for p in parts]
    r1 = quiet(s[0].merge(s[1]).merge(s[2]).results)
    r2 = quiet(s[2].merge(s[0].merge(s[1])).results)
    r3 = quiet(s[1].merge(s[2]).merge(s[0]).results)
    for a, b, c in zip(r1, r2, r3):
        assert a.value == pytest.approx(b.value, rel=1e-12) == pytest.approx(c.value, rel=1e-12)
    with pytest.raises(ValueError, match="already finished"):
        State(metrics, opts).update({"p": {"texts": ["a"]}}).update({"p": {"texts": ["b"]}})


def test_states_pickle():
    import pickle

    s = State([from_spec("distinct-1")], Options.default()).update({"p": {"texts": ["a b"]}}, complete=False)
    again = pickle.loads(pickle.dumps(s))
    assert quiet(again.results)[0].value == quiet(s.results)[0].value == 1.0


# ---- specs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [s for specs in SPECS.values() for s in specs])
def test_specs_round_trip(spec):
    m = from_spec(spec)
    assert m.spec == spec and from_spec(m.spec) == m and diversity.Metric.from_spec(spec) == m


def _data_for(kind):
    if kind == "texts":
        return {"samples": {"p1": ["the cat sat on the mat", "a dog ran", "the dog sat"], "p2": ["x y z", "x y w", "q"]}}
    if kind == "vectors":
        return {"samples": {"p1": ["a", "b", "c"], "p2": ["d", "e", "f"]},
                "embeddings": {"p1": np.eye(3), "p2": np.array([[1.0, 0, 0], [1, 1, 0], [0, 1, 1]])}}
    if kind == "values":
        return {"values": {"p1": ["US", "US", "CN"], "p2": ["MX", "IN", "IN"]}}
    if kind in ("quality", "ordered"):
        return dict(_data_for("vectors"), quality={"p1": [0.9, 0.2, 0.7], "p2": [0.6, 0.6, 0.1]})
    return {"logprobs": {"p1": [[[-0.1, -2.0, -3.0, -4.0, -5.0]] * 3], "p2": [[[-1.0, -1.1, -2.0, -3.0, -3.5]] * 2]}}


@pytest.mark.parametrize("kind", list(SPECS))
def test_every_available_metric_and_result_name_round_trips_through_score(kind):
    listed = [m.replace("<n>", "2") for m in available_metrics()]
    for spec in listed:
        from_spec(spec)  # every listed name is a spec
    for spec in SPECS[kind]:
        r = quiet(diversity.score, metrics=[spec], **_data_for(kind))[spec]
        assert r.metric == spec
        again = quiet(diversity.score, metrics=[r.metric], **_data_for(kind))[r.metric]
        assert again.signature == r.signature and again.value == r.value


def test_legacy_names_still_work_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="'vendi-q2' is deprecated; use the spec 'vendi\\?q=2'"):
        assert from_spec("vendi-q2") == from_spec("vendi?q=2")
    with pytest.warns(DeprecationWarning):
        assert from_spec("distinct-2[per-completion]").spec == "distinct-2?variant=per-completion"


def test_specs_round_trip_through_the_cli(tmp_path, cli):
    p = tmp_path / "s.jsonl"
    rows = [{"prompt": f"p{i % 2}", "completion": t, "top_logprobs": [[-0.2, -1.0, -2.0, -3.0, -4.0]],
             "country": c} for i, (t, c) in enumerate(zip(["a b c", "a b d", "x y", "x z w"], "ABAC"))]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for spec, extra in [("ead-2?vocab_size=500", []), ("self-bleu?max_n=2&smoothing=exp", []),
                        ("token-entropy?top_k=2", []), ("attribute-hill?q=2", ["--value-field", "country"])]:
        out = cli("score", str(p), "--metrics", spec, "--format", "json", "--quiet", *extra)
        assert out.returncode == 0, out.stderr
        got = json.loads(out.stdout)[spec]
        assert got["metric"] == spec and Signature(got["signature"]).metric == spec


# ---- shared parameters and defaults ------------------------------------------------------------------

PUBLIC = {cls: getattr(diversity, cls.func) for cls in metric_classes()}


@pytest.mark.parametrize("cls", list(PUBLIC), ids=lambda c: c.__name__)
def test_public_function_defaults_are_the_declared_ones(cls):
    sig = inspect.signature(PUBLIC[cls])
    for p in cls.params:
        if p.name in sig.parameters and p.default is not REQUIRED and not p.in_name:
            assert sig.parameters[p.name].default == p.default, (cls.__name__, p.name)
    for shared in ("aggregate", "ci", "ci_level", "n_resamples", "ci_method", "seed"):
        assert shared in sig.parameters
    assert "**" not in str(sig)
    assert "<<SHARED>>" not in PUBLIC[cls].__doc__ and "ci_level : float, default 0.95" in PUBLIC[cls].__doc__


# ---- signatures ---------------------------------------------------------------------------------

def test_signature_object_parses_and_formats():
    r = diversity.distinct_n({"p": ["a b", "a c"], "q": ["x y", "x y"]}, n=1)
    sig = r.signature
    assert isinstance(sig, Signature) and isinstance(sig, str)
    assert sig.metric == "distinct-1" and sig.version == diversity.__version__
    assert sig.value_fields == {"var": "set", "tok": "unicode-v2", "lc": "no", "agg": "per-prompt-mean", "k": "2"}
    assert sig.ci_fields == {"ci": "0.95-percentile-10000", "seed": "0"}
    assert Signature.parse(str(sig)) == sig and Signature.parse(str(sig)).format() == str(sig)
    other = diversity.distinct_n({"p": ["a b", "a c"], "q": ["x y", "x y"]}, n=1, seed=5)
    assert other.signature != sig and other.signature.same_value_as(sig)


def test_every_signature_key_is_declared_and_documented():
    keys = set()
    for kind, specs in SPECS.items():
        res = quiet(diversity.score, metrics=specs, **_data_for(kind))
        for r in res.values():
            keys |= set(r.signature.fields)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = diversity.compare({"p": ["a b", "c d"], "q": ["e f", "g h"]}, {"p": ["a b", "a b"], "q": ["e f", "e f"]},
                              ["distinct-1"], max_tokens=1)
    keys |= set(Signature(c.signature).fields) | set(c.rows[0].a.signature.fields)
    assert keys - set(KEYS) == set()
    table = (ROOT / "docs" / "signatures.md").read_text()
    for key, meaning in KEYS.items():
        assert f"| `{key}` | {meaning} |" in table, key


# ---- citations ------------------------------------------------------------------------------------

def test_every_metric_cites_and_cards_agree_with_the_single_source():
    for cls in metric_classes():
        assert cls.references and all(k in CITATIONS for k in cls.references), cls.__name__
    for card in (ROOT / "docs" / "metrics").glob("*.md"):
        for entry in re.findall(r"(@\w+\{(\w+),.*?\n\})", card.read_text(), flags=re.S):
            text, key = entry
            assert key in CITATIONS and text == CITATIONS[key], (card.name, key)


# ---- layout -------------------------------------------------------------------------------------------

def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            pkg = path.relative_to(SRC).parts[:-1]
            base = pkg[:len(pkg) - node.level + 1] if node.level > 1 else pkg
            target = list(base) + (node.module.split(".") if node.module else [])
            yield target, [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("diversity"):
            yield node.module.split(".")[1:], [a.name for a in node.names]


def test_the_core_imports_nothing_from_embed_io_report_compare_or_generation():
    for path in (SRC / "core").glob("*.py"):
        for target, _ in _imports(path):
            assert not target or target[0] not in ("embed", "io", "report", "compare", "generation"), (path.name, target)


def test_no_private_name_is_imported_across_subpackages():
    for path in SRC.rglob("*.py"):
        here = path.relative_to(SRC).parts[0] if len(path.relative_to(SRC).parts) > 1 else ""
        for target, names in _imports(path):
            if not target:
                continue
            there = target[0] if len(target) > 1 or (SRC / target[0]).is_dir() else ""
            if there == here:
                continue
            private = [n for n in names if n.startswith("_") and n != "__version__"] + \
                [t for t in target if t.startswith("_") and t != "_version"]
            assert not private, (str(path.relative_to(SRC)), target, private)


def test_no_module_is_over_about_400_lines():
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 420}
    assert long == {}


def test_import_is_light_and_deprecated_paths_still_work():
    code = ("import sys, warnings; warnings.simplefilter('error', DeprecationWarning); import diversity; "
            "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'matplotlib', 'scipy', "
            "'sklearn', 'pandas', 'nltk', 'dask') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr
    for old in ("lexical", "bleu", "semantic", "tokenize", "tokens", "attributes", "sampling", "extract", "plot",
                "datasets"):
        code = f"import warnings; warnings.simplefilter('always'); import diversity.{old}"
        out = subprocess.run([sys.executable, "-W", "always::DeprecationWarning", "-c", code], capture_output=True,
                             text=True)
        assert out.returncode == 0 and f"diversity.{old} is deprecated" in out.stderr, (old, out.stderr)


@pytest.mark.parametrize("cls", metric_classes(), ids=lambda c: c.__name__)
def test_docstring_references_name_the_cited_papers(cls):
    """The References section of each public function cites what the class cites (first author and year)."""
    doc = PUBLIC[cls].__doc__
    refs = doc[doc.index("References"):]
    for key in cls.references:
        entry = CITATIONS[key]
        surname = re.search(r"author=\{([^,}]+)", entry).group(1).strip("{} ")
        year = re.search(r"year=\{(\d{4})\}", entry).group(1)
        assert surname.split()[-1] in refs and year in refs, (cls.__name__, key)
