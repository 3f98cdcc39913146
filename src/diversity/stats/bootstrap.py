"""Confidence intervals by bootstrap over prompts.

The resampling unit is the prompt (group), never the completion: drawing
completions with replacement creates duplicates and biases every diversity
metric toward "less diverse". A per-prompt mean is resampled over its
per-prompt values; no CI is offered for a single set or for a pooled set
(resampling prompts into a pooled set duplicates completions the same way).
"""

from __future__ import annotations

import numpy as np

from ..core.result import ConfidenceInterval

# resamples per vectorised batch: bounds memory at about _BATCH_ELEMENTS * 8 bytes
_BATCH_ELEMENTS = 1 << 22


def bootstrap_mean_ci(values: np.ndarray, *, level: float, n_resamples: int, method: str,
                      seed: int) -> ConfidenceInterval:
    """Bootstrap CI of the mean of per-prompt values (``scipy.stats.bootstrap``,
    processed in batches so that memory stays bounded whatever the number of prompts).

    ``values`` must already be in canonical prompt order.
    """
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        raise ValueError(
            f"A bootstrap confidence interval over prompts needs at least 2 prompts with a defined "
            f"value; got {len(values)}."
        )
    label = f"bootstrap-prompts-{method}"
    if np.all(values == values[0]):
        # every resample has the same mean; scipy would return NaN for BCa
        return ConfidenceInterval(float(values[0]), float(values[0]), level, label)
    batch = max(1, min(n_resamples, _BATCH_ELEMENTS // len(values)))
    res = stats.bootstrap((values,), np.mean, confidence_level=level, n_resamples=n_resamples,
                          method=method, vectorized=True, rng=np.random.default_rng(seed), batch=batch)
    ci = res.confidence_interval
    return ConfidenceInterval(float(ci.low), float(ci.high), level, label)
