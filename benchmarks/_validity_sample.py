"""Sampling for the metric-validity benchmark (benchmarks/validity.py): the
same prompts from each model at several temperatures, one resumable JSONL
file per (model, temperature) under <out>/samples/<label>/t<T>.jsonl."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from diversity.generation import DecodingConfig, load_prompts, sample_to_jsonl  # noqa: E402

TEMPERATURES = (0.3, 0.6, 0.9, 1.2, 1.5)
MODELS = {"base": "gemma-3-270m", "aligned": "smollm2-135m-instruct"}


def pick_prompts(path: str | Path, n: int) -> list:
    """``n`` open-ended prompts, round-robin over the tasks in file order (personas left out)."""
    by_task: dict[str, list] = {}
    for p in load_prompts(path):
        if p.task != "persona":
            by_task.setdefault(p.task, []).append(p)
    order = [t[i] for i in range(max(map(len, by_task.values()), default=0)) for t in by_task.values() if i < len(t)]
    return order[:n]


def sample_file(folder: Path, label: str, temperature: float) -> Path:
    return folder / "samples" / label / f"t{temperature:g}.jsonl"


def sample_all(out: Path, prompts: list, *, models: dict[str, str], temperatures=TEMPERATURES, k: int = 6,
               max_new_tokens: int = 48, seed: int = 0, threads: int | None = None) -> None:
    import torch
    from _models import resolve
    from diversity.generation import TransformersBackend

    if threads:
        torch.set_num_threads(threads)
    for label, spec in models.items():
        path, model_id = resolve(spec)
        backend = TransformersBackend(path, model_id=model_id)
        for t in temperatures:
            config = DecodingConfig(k=k, temperature=t, max_new_tokens=max_new_tokens, seed=seed, top_logprobs=5)
            sample_to_jsonl(backend, prompts, sample_file(out, label, t), config, progress=True,
                            extra_meta={"benchmark": "validity"})
        del backend
