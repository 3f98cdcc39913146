"""Bundled example sample sets (see ``io/data/README.md`` for provenance).

* ``load_example(side)``: real model output. gemma-3-270m (base) and
  SmolLM2-135M-Instruct (aligned), 44 prompts x 8 completions each, sampled
  at temperature 1.0 by ``benchmarks/generate.py``; the two models differ in
  family and size as well as alignment.
* ``load_handwritten(side)``: a small hand-written stand-in (not model
  output), kept for tests and as a reference point.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Hashable

from .loaders import load_records, load_samples

__all__ = ["load_example", "load_example_records", "example_path", "load_handwritten", "data_path"]

_HANDWRITTEN = {"base": "handwritten_base.jsonl", "aligned": "handwritten_aligned.jsonl"}
_EXAMPLE = {"base": "example_base.jsonl", "aligned": "example_aligned.jsonl"}


def data_path(name: str) -> Path:
    """Path of a bundled data file."""
    path = Path(str(resources.files(__package__).joinpath("data", name)))
    if not path.is_file():
        raise FileNotFoundError(f"no bundled data file {name!r}")
    return path


def _side(side: str) -> str:
    if side not in ("base", "aligned"):
        raise ValueError(f"side must be 'base' or 'aligned', got {side!r}")
    return side


def example_path(side: str) -> Path:
    """The JSONL file of one side of the model-generated example set (with a ``.meta.json`` sidecar)."""
    return data_path(_EXAMPLE[_side(side)])


def load_example_records(side: str) -> list[dict[str, Any]]:
    """All rows (prompt_id, task, prompt, completion, model, top_logprobs, ...) of one side."""
    return load_records(example_path(side))


def load_example(side: str, task: str | None = "open") -> dict[Hashable, list[str]]:
    """Completions of the model-generated example set, keyed by prompt id.

    Parameters
    ----------
    side : {"base", "aligned"}
        gemma-3-270m (base) or SmolLM2-135M-Instruct (aligned).
    task : {"open", "persona"} or None
        ``"open"``: the 40 open-ended prompts (creative, opinion, advice,
        descriptions); ``"persona"``: the 4 persona prompts; ``None``: all.
    """
    rows = load_example_records(side)
    out: dict[Hashable, list[str]] = {}
    for r in rows:
        is_persona = r.get("task") == "persona"
        if task is None or (task == "persona") == is_persona:
            out.setdefault(r["prompt_id"], []).append(r["completion"])
    if not out:
        raise ValueError(f"no rows for task={task!r}")
    return out


def load_handwritten(side: str) -> dict[Hashable, list[str]]:
    """The hand-written stand-in set: ``side`` is ``"base"`` or ``"aligned"``.

    Written by the developers (not model output) to imitate a varied base model
    and a mode-collapsed aligned one; keyed by prompt.

    >>> len(load_handwritten("base"))
    6
    """
    return load_samples(data_path(_HANDWRITTEN[_side(side)]))
