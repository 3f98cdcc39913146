"""The installed-package suite: run by ``.ci/test-installed`` against the built wheel,
installed into a fresh virtual environment, from a temporary folder outside the
checkout (so ``src/`` cannot be imported). Not collected by the main suite."""

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _installed_package_only():
    """Every test here must see the installed wheel, never the checkout."""
    import diversity

    where = Path(diversity.__file__).resolve()
    assert "site-packages" in where.parts, f"diversity was imported from {where}, not from an installed wheel"
    checkout = os.environ.get("DIVERSITY_CHECKOUT")
    if checkout:
        assert Path(checkout).resolve() not in where.parents, f"diversity was imported from the checkout: {where}"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVERSITY_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def bin_dir():
    """The virtual environment's scripts folder (the `diversity` console script)."""
    return Path(sys.executable).parent
