"""Every snippet of the README runs verbatim against the installed wheel.

Python blocks run in order in one namespace, in an empty folder (as a reader would
paste them into one notebook); in shell blocks, the ``diversity ...`` commands run
through the installed console script in the same folder. The install commands
(``pip install ...``) and the checkout's ``make demo`` / ``make test`` are what
``.ci/run`` itself executes, so they are checked to be exactly those, not run here.
"""

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

README = Path(os.environ.get("DIVERSITY_README", "README.md"))
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
RUN_BY_CI = {"pip install llm-diversity", "make demo", "make test"}


def _blocks():
    if not README.is_file():
        pytest.fail(f"the README is not at {README} (set DIVERSITY_README)")
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]


def _commands(code):
    for line in code.splitlines():
        line = line.split(" #")[0].strip()
        if line:
            yield line


def test_the_readme_has_python_and_shell_snippets():
    kinds = [k for k, _ in _blocks()]
    assert kinds.count("python") >= 4 and kinds.count("bash") >= 3


def test_every_readme_snippet_runs(tmp_path, monkeypatch, bin_dir):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    ran = 0
    for i, (kind, code) in enumerate(_blocks()):
        if kind == "python":
            exec(compile(code, f"README.md block {i}", "exec"), namespace)
            ran += 1
        elif kind == "bash":
            for cmd in _commands(code):
                if cmd.startswith("diversity "):
                    argv = shlex.split(cmd)
                    out = subprocess.run([str(bin_dir / "diversity"), *argv[1:]], capture_output=True, text=True,
                                         timeout=300)
                    assert out.returncode == 0, f"README block {i}: {cmd}\n{out.stderr}"
                    assert "Traceback" not in out.stderr
                    ran += 1
                else:
                    assert cmd in RUN_BY_CI, f"README block {i}: {cmd!r} is neither run here nor by .ci/run"
        else:
            pytest.fail(f"README block {i} is a {kind!r} block: neither python nor bash")
    assert ran >= 9
    assert (tmp_path / "forest.png").stat().st_size > 5_000
