"""A refusal detector from any local Hugging Face sequence-classification
model folder (nothing is downloaded): the label whose name contains
"refus" (or the one given) marks a refusal."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

__all__ = ["ClassifierDetector"]


class ClassifierDetector:
    """``classify_many(texts)`` -> ``"refusal"`` or ``"answer"`` per text.

    Parameters
    ----------
    folder : path
        A local model folder (``AutoModelForSequenceClassification`` and its tokenizer).
    refusal_label : str or None
        The model's label for refusals (default: the label whose name contains
        "refus", else ``LABEL_1``).
    threshold : float, default 0.5
        Probability of the refusal label above which a text is a refusal.
    """

    def __init__(self, folder: str, *, refusal_label: str | None = None, threshold: float = 0.5,
                 batch_size: int = 32, max_length: int = 256) -> None:
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as e:  # pragma: no cover
            raise ImportError("the classifier detector needs torch and transformers: pip install "
                              "'llm-diversity[hf]' torch") from e
        path = Path(folder)
        if not path.is_dir():
            raise FileNotFoundError(f"no classifier model folder at {folder!r}")
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(str(path), local_files_only=True).eval()
        labels = {int(i): str(n) for i, n in self.model.config.id2label.items()}
        if refusal_label is None:
            refusal_label = next((n for n in labels.values() if "refus" in n.lower()), labels.get(1, "LABEL_1"))
        if refusal_label not in labels.values():
            raise ValueError(f"the model has no label {refusal_label!r}; its labels: {sorted(labels.values())}")
        self.index = next(i for i, n in labels.items() if n == refusal_label)
        self.threshold, self.batch_size, self.max_length = threshold, batch_size, max_length
        digest = hashlib.sha256()
        for f in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
            digest.update(f.read_bytes())
        self.spec = f"hf:{path.name}@{digest.hexdigest()[:12]}"

    def classify(self, text: str) -> str:
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[str]:
        torch, out = self._torch, []
        for lo in range(0, len(texts), self.batch_size):
            batch = list(texts[lo:lo + self.batch_size])
            enc = self.tokenizer(batch, return_tensors="pt", padding=True, truncation=True, max_length=self.max_length)
            with torch.no_grad():
                probs = torch.softmax(self.model(**enc).logits.float(), dim=-1)[:, self.index]
            out += ["refusal" if float(p) > self.threshold else "answer" for p in probs]
        return out
