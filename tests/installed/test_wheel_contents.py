"""Every file under ``src/diversity`` (data folders included) is inside the built
wheel and the sdist: no data file can be left out of the released package."""

import os
import tarfile
import zipfile
from pathlib import Path

import pytest

SOURCE = os.environ.get("DIVERSITY_CHECKOUT")
DIST = os.environ.get("DIVERSITY_DIST")


def _source_files():
    root = Path(SOURCE) / "src"
    files = {str(p.relative_to(root)) for p in (root / "diversity").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")}
    return files


@pytest.mark.skipif(not (SOURCE and DIST), reason="set DIVERSITY_CHECKOUT and DIVERSITY_DIST (.ci/test-installed does)")
def test_every_package_file_is_in_the_wheel_and_the_sdist():
    files = _source_files()
    data = {f for f in files if not f.endswith(".py")}
    assert {"diversity/quality/data/refusal_rules_v1.json", "diversity/io/data/example_base.jsonl",
            "diversity/py.typed"} <= data
    wheel = next(Path(DIST).glob("*.whl"))
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert not files - in_wheel, f"missing from {wheel.name}: {sorted(files - in_wheel)}"
    assert not [n for n in in_wheel if "__pycache__" in n or n.endswith(".pyc")]
    sdist = next(Path(DIST).glob("*.tar.gz"))
    with tarfile.open(sdist) as t:
        in_sdist = {n.split("/", 2)[2] for n in t.getnames() if n.count("/") >= 2 and "/src/" in "/" + n}
    assert not files - in_sdist, f"missing from {sdist.name}: {sorted(files - in_sdist)[:10]}"
