"""`diversity metrics` (the table and one metric's page) and `diversity cite` (exactly what was asked)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

import diversity
from diversity.cli import main
from diversity.core.errors import InvalidParameterError
from diversity.report.citations import CITATIONS, library_bibtex, reference_line

ROOT = Path(__file__).resolve().parents[1]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(list(argv))
        except SystemExit as e:  # argparse
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def entries(text: str) -> list[str]:
    return re.findall(r"^@\w+\{([^,]+),", text, flags=re.M)


def test_cite_prints_exactly_what_was_asked():
    assert entries(run("cite", "vendi")[1]) == ["friedman2023vendi", "pasarkar2023cousins"]
    assert entries(run("cite", "self-bleu", "vendi")[1]) == [
        "zhu2018texygen", "papineni2002bleu", "friedman2023vendi", "pasarkar2023cousins"]
    rc, out, _ = run("cite", "diversity")
    assert rc == 0 and entries(out) == ["diversity"] and out.strip() == library_bibtex()
    assert entries(run("cite", "diversity", "distinct-2")[1]) == ["diversity", "li2016diversity"]
    everything = entries(run("cite", "--all")[1])
    assert everything[0] == "diversity" and len(everything) == len(set(everything)) > 15
    assert entries(run("cite")[1]) == everything


def test_the_library_entry_agrees_with_citation_cff():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    bib = library_bibtex()
    assert f"title={{{cff['title']}}}" in bib
    assert f"version={{{cff['version']}}}" in bib and str(cff["version"]) == diversity.__version__
    assert f"url={{{cff['repository-code']}}}" in bib
    assert cff["authors"][0]["name"] in bib
    assert "diversity cite diversity" in cff["message"]
    assert reference_line("diversity").startswith("The diversity developers. diversity: exact")


def test_reference_lines_read_like_a_bibliography():
    assert reference_line("li2016diversity") == ("Li et al. (2016). A Diversity-Promoting Objective Function for "
                                                 "Neural Conversation Models. Proceedings of NAACL-HLT.")
    assert reference_line("padmakumar2024homogenization").startswith(
        "Padmakumar and He (2024). Does Writing with Language Models Reduce Content Diversity? International")
    assert reference_line("rottger2024xstest").startswith("Röttger et al. (2024). XSTest: ")
    for key in CITATIONS:
        line = reference_line(key)
        assert re.match(r"^[A-Z][^{}\\]+ \(\d{4}\)\. .+\.$", line), line


def test_metrics_table_is_aligned_and_plain():
    rc, out, _ = run("metrics")
    assert rc == 0
    lines = out.splitlines()
    column = lines[0].index("summary")
    rows = [line for line in lines[2:] if line and not line.startswith(" ") and not line.startswith("diverse:")]
    assert len(rows) == len(diversity.core.registry.metric_classes())
    for line in rows:  # every summary starts in the same column, after the name and the direction
        assert line[column - 1] == " " and line[column] != " ", line
    assert "*" not in out and "``" not in out and ":func:" not in out
    assert "effective-semantic-diversity" in out and "diversity metrics NAME" in out


def test_metrics_name_shows_one_metric_and_unknown_names_get_a_suggestion():
    rc, out, _ = run("metrics", "vendi")
    assert rc == 0 and out.startswith("vendi\n=====")
    assert "diversity.vendi_score" in out and "Friedman and Dieng (2023)" in out and "Parameters" in out
    for alias in ("distinct-2", "distinct-<n>", "distinct-n", "distinct_n"):
        assert run("metrics", alias)[1].startswith("distinct-<n>\n"), alias
    rc, _, err = run("metrics", "vendy")
    assert rc == 2 and "Did you mean 'vendi'?" in err
    with pytest.raises(InvalidParameterError, match=r"Unknown metric 'self-bleau'\. Did you mean 'self-bleu'\?"):
        diversity.from_spec("self-bleau")
