"""Cross-model homogeneity (Artificial Hivemind, arXiv 2510.22954): how similar
two models' completions of the same prompt are, beside the same statistic over
completions of different prompts (the encoder's floor).

For prompt p with unit embeddings :math:`u` of model A's and :math:`v` of
model B's completions, the same-prompt similarity is the mean cosine over all
cross pairs, :math:`h_p = (\\sum_i u_i) \\cdot (\\sum_j v_j) / (k_A k_B)`; the
value is the mean of :math:`h_p` over prompts, with a bootstrap CI over
prompts. The floor is the mean cosine over cross pairs of *different*
prompts, :math:`(S_A \\cdot S_B - \\sum_p s_{A,p} \\cdot s_{B,p}) /
(N_A N_B - \\sum_p k_{A,p} k_{B,p})`. Raw similarities are not comparable
across encoders; the gap to the floor is.
"""

from __future__ import annotations

import math
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from ..stats.bootstrap import bootstrap_mean_ci
from ..stats.seeding import canonical_order

__all__ = ["cross_model_homogeneity"]


def _unit_sums(vectors: Mapping[Hashable, np.ndarray]) -> tuple[dict[Hashable, np.ndarray], dict[Hashable, int]]:
    sums, counts = {}, {}
    for key, x in vectors.items():
        x = np.asarray(x, dtype=np.float64)
        if len(x) == 0:
            continue
        scale = np.abs(x).max(axis=1, keepdims=True)
        x = x / np.where(scale > 0, scale, 1.0)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        sums[key] = (x / np.where(norms > 0, norms, 1.0)).sum(axis=0)
        counts[key] = len(x)
    return sums, counts


def cross_model_homogeneity(a: Mapping[Hashable, np.ndarray], b: Mapping[Hashable, np.ndarray], *,
                            ci_level: float = 0.95, n_resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """Same-prompt cross-model similarity, its CI over prompts, and its between-prompt floor.

    ``a`` and ``b`` map prompt keys to each model's embeddings (rows = completions).
    Higher means the two models say more similar things (more homogeneous).
    """
    sa, ka = _unit_sums(a)
    sb, kb = _unit_sums(b)
    keys = [p for p in sa if p in sb]
    keys = [keys[i] for i in canonical_order(keys)]
    per = np.array([float(sa[p] @ sb[p]) / (ka[p] * kb[p]) for p in keys])
    total_a, total_b = sum(sa.values()), sum(sb.values())
    n_a, n_b = sum(ka.values()), sum(kb.values())
    same = sum(float(sa[p] @ sb[p]) for p in keys)
    pairs = n_a * n_b - sum(ka[p] * kb[p] for p in keys)
    floor = (float(np.asarray(total_a) @ np.asarray(total_b)) - same) / pairs if pairs > 0 else math.nan
    ci = bootstrap_mean_ci(per, level=ci_level, n_resamples=n_resamples, method="percentile", seed=seed) \
        if len(per) >= 2 else None
    return {"value": float(per.mean()) if len(per) else math.nan, "floor": floor,
            "ci_low": ci.low if ci else math.nan, "ci_high": ci.high if ci else math.nan, "ci_level": ci_level,
            "n_prompts": len(keys), "per_prompt": dict(zip(keys, per.tolist())),
            "definition": "mean cosine similarity of the two models' completions of the same prompt "
                          "(arXiv 2510.22954); floor: the same over completions of different prompts"}


def split(vectors: np.ndarray, sides: Sequence[Mapping[Hashable, Sequence[str]]]) -> list[dict[Hashable, np.ndarray]]:
    """Rows of ``vectors`` (all texts of all sides, in order) back into per-side, per-prompt arrays."""
    out, start = [], 0
    for side in sides:
        part = {}
        for key, texts in side.items():
            part[key] = vectors[start:start + len(texts)]
            start += len(texts)
        out.append(part)
    return out
