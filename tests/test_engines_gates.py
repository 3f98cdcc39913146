"""Gates and quality columns in the file and Dask engines: ``score_file(..., gate=, quality_field=)``,
``score_dask(..., gate=, quality_field=)`` and ``diversity score FILE --gate --quality-field`` give the numbers
(values, per-prompt values, CIs, signatures and kept counts) of ``score(load_samples(...), gate=, quality=)``;
``score_dask`` also reads a Hugging Face ``datasets.Dataset``."""

import json
import math

import pytest

import diversity
from diversity.core.errors import InvalidParameterError
from diversity.io.reader import SampleFileError
from diversity.io.stream import score_file

METRICS = ["distinct-1", "self-bleu", "unique-fraction"]
TEXTS = {
    "p1": ["I'm sorry, but I can't help with that.", "the cat sat on a mat", "a dog ran far away today",
           "the cat sat on the roof", "birds fly over the tree"],
    "p2": ["blue sky today and then rain", "red sky at night", "I cannot assist with that request.",
           "green grass grows slowly", "red sky in the morning"],
    "p3": ["one two three", "three two one", "one one one", "two two three", "I won't do that, sorry."],
}
GATES = [("no-refusal", None), ("reward>=0.25", "reward"), ("finish_reason=stop", "finish_reason")]


def _rows():
    rows = []
    for j, (p, ts) in enumerate(TEXTS.items()):
        for i, t in enumerate(ts):
            rows.append({"prompt": p, "completion": t, "reward": round(0.1 * i + 0.05 * j, 4),
                         "finish_reason": "stop" if (i + j) % 3 else "length"})
    return rows


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gates") / "s.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in _rows()) + "\n", encoding="utf-8")
    return path


def _quality(field):
    if field is None:
        return None
    out = {}
    for r in _rows():
        out.setdefault(r["prompt"], []).append(r[field])
    return out


def _same(a, b):
    assert list(a) == list(b)
    for k in a:
        x, y = a[k], b[k]
        assert str(x.signature) == str(y.signature)
        assert (math.isnan(x.value) and math.isnan(y.value)) or abs(x.value - y.value) <= 1e-12, (k, x.value, y.value)
        if x.per_group is not None:
            assert list(x.groups) == list(y.groups)
            assert all((math.isnan(u) and math.isnan(v)) or abs(u - v) <= 1e-12
                       for u, v in zip(x.per_group, y.per_group))
        if x.ci is not None:
            assert abs(x.ci.low - y.ci.low) <= 1e-12 and abs(x.ci.high - y.ci.high) <= 1e-12
        else:
            assert y.ci is None


@pytest.mark.parametrize("gate, field", GATES)
@pytest.mark.parametrize("aggregate", ["per-prompt", "pooled"])
def test_score_file_gate_matches_score(sample_file, gate, field, aggregate):
    ref = diversity.score(diversity.load_samples(sample_file), METRICS, gate=gate, quality=_quality(field),
                          aggregate=aggregate, n_resamples=200)
    opts = diversity.core.options.build_options("score", {"n_resamples": 200})
    got = score_file(sample_file, METRICS, gate=gate, quality_field=field, aggregate=aggregate, chunk_rows=2,
                     options=opts)
    _same(ref, got)
    assert f"gate:{diversity.quality.gates.parse_gate(gate).spec}" in str(got["distinct-1"].signature)


def test_score_file_gate_drops_completions(sample_file):
    """The gate changes the numbers: a test that would pass without the gate cannot pass here."""
    plain = score_file(sample_file, ["distinct-1"], options=None)
    gated = score_file(sample_file, ["distinct-1"], gate="reward>=0.25", quality_field="reward")
    assert gated["distinct-1"].value != plain["distinct-1"].value


@pytest.mark.slow  # novelty-utility embeds the texts (the bundled model loads in a few seconds)
def test_score_file_quality_metric_reads_field(sample_file):
    ref = diversity.score(diversity.load_samples(sample_file), ["novelty-utility"], quality=_quality("reward"),
                          n_resamples=200)
    opts = diversity.core.options.build_options("score", {"n_resamples": 200})
    got = score_file(sample_file, ["novelty-utility"], quality_field="reward", chunk_rows=3, options=opts)
    _same(ref, got)


def test_score_file_gate_needs_quality_field(sample_file):
    with pytest.raises(InvalidParameterError, match="'quality_field' parameter of score_file.*reward>=0.5"):
        score_file(sample_file, METRICS, gate="reward>=0.5")


def test_score_file_missing_quality_field_names_line(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"prompt": "p", "completion": "a b", "reward": 1}\n{"prompt": "p", "completion": "c d"}\n',
                    encoding="utf-8")
    with pytest.raises(SampleFileError, match=r"s\.jsonl:2: no 'reward' field \(quality_field"):
        score_file(path, METRICS, gate="reward>=0.5", quality_field="reward")


def test_score_file_quality_field_needs_one_completion_per_row(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"prompt": "p", "completions": ["a b", "c d"], "reward": 1}\n', encoding="utf-8")
    with pytest.raises(SampleFileError, match="holds 2 completions but one 'reward' value"):
        score_file(path, METRICS, quality_field="reward")


@pytest.mark.parametrize("gate, field", GATES)
def test_cli_score_gate_goes_through_the_file_engine(sample_file, gate, field, capsys, monkeypatch):
    from diversity import cli
    from diversity.engines import files as stream

    calls = []
    real = stream.score_file
    monkeypatch.setattr(stream, "score_file", lambda *a, **kw: calls.append(kw) or real(*a, **kw))
    argv = ["score", str(sample_file), "--metrics", *METRICS, "--gate", gate, "--format", "json", "--n-resamples",
            "200", "--quiet"] + (["--quality-field", field] if field else [])
    assert cli.main(argv) == 0
    got = json.loads(capsys.readouterr().out)
    assert calls and calls[0]["gate"] == gate and calls[0]["quality_field"] == field
    ref = diversity.score(diversity.load_samples(sample_file), METRICS, gate=gate, quality=_quality(field),
                          n_resamples=200)
    by_metric = {r["metric"]: r for r in (got if isinstance(got, list) else got.get("results", got.values()))}
    for k, v in ref.items():
        assert by_metric[k]["signature"] == str(v.signature)
        assert abs(by_metric[k]["value"] - v.value) <= 1e-12


# ---- Dask ---------------------------------------------------------------------------------------------

dask = pytest.importorskip("dask.dataframe")


@pytest.mark.parametrize("gate, field", GATES)
@pytest.mark.parametrize("aggregate", ["per-prompt", "pooled"])
def test_score_dask_gate_matches_score(sample_file, gate, field, aggregate):
    from diversity.distributed import score_dask

    ref = diversity.score(diversity.load_samples(sample_file), METRICS, gate=gate, quality=_quality(field),
                          aggregate=aggregate, n_resamples=200)
    got = score_dask(str(sample_file), METRICS, gate=gate, quality_field=field, aggregate=aggregate,
                     n_resamples=200, npartitions=2)
    _same(ref, got)


def test_score_dask_gate_needs_quality_field(sample_file):
    from diversity.distributed import score_dask

    with pytest.raises(InvalidParameterError, match="'quality_field' parameter of score_dask.*finish_reason=stop"):
        score_dask(str(sample_file), METRICS, gate="finish_reason=stop")


# ---- Hugging Face datasets ------------------------------------------------------------------------------

datasets = pytest.importorskip("datasets")


@pytest.mark.parametrize("gate, field", [(None, None), *GATES])
def test_score_dask_reads_a_dataset(sample_file, gate, field):
    from diversity.distributed import score_dask

    ds = datasets.Dataset.from_list(_rows())
    ref = diversity.score(diversity.from_dataset(ds), METRICS, gate=gate, quality=_quality(field), n_resamples=200)
    got = score_dask(ds, METRICS, gate=gate, quality_field=field, n_resamples=200, npartitions=2)
    _same(ref, got)


def test_score_dask_reads_completions_lists_and_dataset_dicts():
    from diversity.distributed import score_dask

    ds = datasets.Dataset.from_list([{"prompt": p, "completions": ts} for p, ts in TEXTS.items()])
    ref = diversity.score(TEXTS, METRICS, n_resamples=200)
    _same(ref, score_dask(ds, METRICS, n_resamples=200))
    _same(ref, score_dask(datasets.DatasetDict({"train": ds}), METRICS, n_resamples=200))
    with pytest.raises(ValueError, match="splits 'a', 'b'; pass one split"):
        score_dask(datasets.DatasetDict({"a": ds, "b": ds}), METRICS)


def test_a_threshold_gate_reads_numbers_written_as_text_in_a_csv(tmp_path, cli):
    import diversity

    path = tmp_path / "s.csv"
    path.write_text("prompt,completion,reward\np1,a b c,0.9\np1,a b d,0.1\np1,x y z,0.7\np2,c d,0.8\np2,c e,0.95\n")
    out = cli("score", path, "--metrics", "distinct-1", "--gate", "reward>=0.5", "--quality-field", "reward",
              "--no-ci", "--format", "json")
    assert out.returncode == 0, out.stderr
    want = diversity.score({"p1": ["a b c", "x y z"], "p2": ["c d", "c e"]}, ["distinct-1"])["distinct-1"]
    assert json.loads(out.stdout)["distinct-1"]["value"] == want.value
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt,completion,reward\np1,a b c,high\n")
    out = cli("score", bad, "--metrics", "distinct-1", "--gate", "reward>=0.5", "--quality-field", "reward")
    assert out.returncode == 2 and "non-numeric score 'high'" in out.stderr
