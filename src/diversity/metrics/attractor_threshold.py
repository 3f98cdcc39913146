"""The cluster threshold of attractor strength, calibrated on the encoder
(:func:`calibrate_threshold`), and the embedding of one side's completions
per prompt (shared with :mod:`.attractor`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..core.corpus import Corpus
from ..core.data import as_array_groups, as_groups
from ..core.errors import InvalidParameterError

__all__ = ["calibrate_threshold", "ThresholdCalibration", "CALIBRATION_QUANTILE"]


#: The default quantile of the within-prompt distances that sets the threshold (``threshold="auto"``).
CALIBRATION_QUANTILE = 0.25


@dataclass(frozen=True)
class ThresholdCalibration:
    """A cluster threshold read off the encoder's own distances (:func:`calibrate_threshold`).

    ``value`` is the ``quantile`` of the ``n_pairs`` within-prompt cosine
    distances between the unperturbed completions of ``n_sets`` prompt sets
    (pooled over every side given). Pass it as ``threshold=``; the signature
    records ``thr:<value>`` and ``cal:q<quantile>-<n_pairs>pairs``.
    """

    value: float
    quantile: float
    n_pairs: int
    n_sets: int

    def __float__(self) -> float:
        return self.value

    @property
    def label(self) -> str:
        return f"q{self.quantile:g}-{self.n_pairs}pairs"


def _pair_distances(u: np.ndarray) -> np.ndarray:
    d = np.clip(1.0 - u @ u.T, 0.0, 2.0)
    return d[np.triu_indices(len(u), 1)]


def calibrate_threshold(*unperturbed: Any, quantile: float = CALIBRATION_QUANTILE, embedder: Any = None,
                        embeddings: Sequence[Any] | None = None) -> ThresholdCalibration:
    r"""The cluster threshold calibrated on the encoder: the ``quantile`` of the
    cosine distances between unperturbed completions of the same prompt.

    .. math:: 	au = Q_qig(\{1 - \cos(u_i, u_j) : i < j,\ u_i, u_j \in U_x,\ x\}ig)

    pooled over every prompt of every side given (give both models'
    unperturbed completions, so that both are measured at one threshold).
    Raw cosine distances are not comparable across encoders (one encoder's
    0.25 is another's 0.6); a quantile of the encoder's own same-prompt
    distances is: two completions are "the same output" when they are as
    close as the closest q of the same-prompt pairs. With the default
    q = 0.25 an unperturbed completion joins the others' clusters about half
    the time (:math:`R_0` mid-range), so R can move either way. Blank
    completions are left out.

    Parameters
    ----------
    *unperturbed : completions per prompt (mappings or sequences of sets), one per side
    quantile : float in (0, 1), default 0.25
    embedder : optional
        Default all-MiniLM-L6-v2.
    embeddings : sequence of embeddings per prompt, optional
        One per side, instead of texts.

    Returns
    -------
    ThresholdCalibration

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])   # distances 0.2, 1.0, 0.4
    >>> calibrate_threshold(embeddings=[{"x": u}], quantile=0.5).value
    0.4
    """
    if not isinstance(quantile, (int, float)) or isinstance(quantile, bool) or not 0 < quantile < 1:
        raise InvalidParameterError(f"calibrate_threshold: the 'quantile' parameter must be in (0, 1), got "
                                    f"{quantile!r}.")
    if (embeddings is None) == (not unperturbed):
        raise InvalidParameterError("calibrate_threshold takes unperturbed completions (one per side) or "
                                    "embeddings=, not both and not neither.")
    sets: list[np.ndarray] = []
    if embeddings is not None:
        for i, e in enumerate(embeddings):
            sets += _sets(None, e, f"embeddings[{i}]", None)[1]
    else:
        if embedder is None:
            from .semantic import VectorMetric

            embedder = VectorMetric.default_embedder()
        for i, side in enumerate(unperturbed):
            g = as_groups(side, name=f"unperturbed[{i}]")
            kept = {k: [t for t in s if t.strip()] for k, s in zip(g.keys, g.sets)}
            kept = {k: s for k, s in kept.items() if len(s) >= 2}
            if kept:
                sets += _sets(kept, None, f"unperturbed[{i}]", embedder)[1]
    d = np.concatenate([_pair_distances(u) for u in sets if len(u) >= 2] or [np.empty(0)])
    if not len(d):
        raise ValueError("calibrate_threshold: no prompt has 2 non-blank completions to measure distances between.")
    value = float(np.round(np.quantile(d, quantile), 4))
    return ThresholdCalibration(max(value, 1e-4), float(quantile), int(len(d)), len(sets))


def _sets(data: Any, embeddings: Any, name: str, embedder: Any) -> tuple[tuple, list[np.ndarray], list[tuple]]:
    """Prompt keys, unit embeddings per prompt and the embedding's signature fields of one side
    (the scaling and zero-vector checks of :attr:`Corpus.unit_embeddings`)."""
    if embeddings is not None:
        groups, arrays = as_array_groups(embeddings, f"embeddings[{name!r}]")
        corpus = Corpus(groups.keys, [len(a) for a in arrays], tokenizer=None,  # type: ignore[arg-type]
                        embeddings=np.concatenate(arrays))
    else:
        groups = as_groups(data, name=name)
        corpus = Corpus(groups.keys, groups.sizes, tokenizer=None,  # type: ignore[arg-type]
                        texts=[t for s in groups.sets for t in s], embedder_factory=lambda: embedder)
    u = corpus.unit_embeddings
    return corpus.keys, [u[corpus.offsets[g]:corpus.offsets[g + 1]] for g in range(corpus.n_groups)], \
        corpus.embedding_fields()
