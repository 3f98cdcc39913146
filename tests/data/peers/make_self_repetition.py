"""Golden values of self-repetition from Shaib et al.'s package (PyPI ``diversity`` 0.3.1).

That package's import name clashes with ours, and its ``__init__`` imports spaCy and
sentence-transformers, so it is installed into a throwaway virtual environment without its
dependencies and only its ``self_repetition.py`` module is loaded, by path:

    python3 -m venv /tmp/shaibvenv
    /tmp/shaibvenv/bin/pip install --no-deps diversity==0.3.1 nltk numpy tqdm regex click joblib
    /tmp/shaibvenv/bin/python tests/data/peers/make_self_repetition.py

It writes self_repetition.json beside this file: the input sets and, for n = 1..4, the value of
``self_repetition_score(texts, n=n, verbose=False)``. tests/test_peer_metrics.py compares ours
(with ``tokenizer="whitespace"``, the package's ``str.split``) with them.
"""

import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[2] / "docs" / "examples" / "creativity-left-the-chat" / "samples"


def peer_module():
    site = next(p for p in map(Path, sys.path) if (p / "diversity" / "self_repetition.py").is_file())
    spec = importlib.util.spec_from_file_location("shaib_self_repetition", site / "diversity" / "self_repetition.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def real_sets() -> list[list[str]]:
    """The first two prompts' completions of each side of the committed worked example."""
    out = []
    for side in ("base", "aligned"):
        rows = [json.loads(line) for line in (EXAMPLE / side / "unperturbed.jsonl").read_text().splitlines()]
        for pid in sorted({r["prompt_id"] for r in rows})[:2]:
            out.append([r["completion"] for r in sorted(rows, key=lambda r: r["sample_index"])
                        if r["prompt_id"] == pid and r["completion"].strip()])
    return out


SETS = [
    ["the cat sat on the mat", "the cat sat on the mat", "a dog ran far away"],
    ["a b c", "a b d", "x y z"],
    ["one", "two words", "three words here", "three words here again and again"],
    ["Rain, rain, go away. Come again another day.", "Rain, rain: go away!", "Sun, sun, stay today."],
    ["x x x x x x", "x x x x", "y"],
]


def main() -> None:
    score = peer_module().self_repetition_score
    sets = SETS + real_sets()
    values = [{str(n): float(score(s, n=n, verbose=False)) for n in (1, 2, 3, 4)} for s in sets]
    (HERE / "self_repetition.json").write_text(json.dumps({
        "produced_by": "diversity 0.3.1 (PyPI, Shaib et al.) self_repetition_score, see make_self_repetition.py",
        "sets": sets, "values": values}, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
