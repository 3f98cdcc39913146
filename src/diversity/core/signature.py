"""Signatures: every setting that changes a number, written next to it.

A signature is the metric spec followed by ``key:value`` fields joined by
``|``, the library version last, in the spirit of sacrebleu::

    distinct-2|var:set|tok:unicode-v2|lc:no|agg:per-prompt-mean|k:10|ci:0.95-percentile-10000|seed:0|v:0.3.0

:class:`Signature` is a ``str`` (so it compares, prints and serialises as the
text) with :meth:`Signature.parse` and the parsed parts as attributes. The
fields that define the *value* come first; ``ci`` and ``seed`` describe the
confidence interval only. Every key is declared once in :data:`KEYS`, with
its meaning; ``docs/signatures.md`` is generated from that table and a test
checks that every key a metric writes is declared.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

__all__ = ["Signature", "KEYS", "CI_KEYS", "format_value", "keys_table"]

# key -> what it records (one line each; docs/signatures.md is generated from this)
KEYS: dict[str, str] = {
    "var": "distinct-n variant: `set` (pooled over the set) or `per-completion` (mean of per-text ratios)",
    "V": "EAD's vocabulary size",
    "base": "logarithm base of an entropy (`2` = bits, `e` = nats)",
    "norm": "normalisation: of n-gram entropy (`yes`/`no`), or of texts for unique-fraction",
    "comp": "compressor and level, e.g. `gzip-9`",
    "join": "how a set is joined before compression: `space` (as listed) or `space-sorted` (code-point order)",
    "n": "highest n-gram order of BLEU",
    "w": "BLEU weights per order (`uniform` or the list)",
    "smooth": "BLEU smoothing (`none`, `method1`, `exp`)",
    "ref": "self-BLEU references (`others`: every other completion of the set)",
    "pairs": "homogenization pairs: `all`, or `sample-<m>-seed<s>` (m pairs per prompt, seeded by s and the prompt)",
    "win": "MATTR window size in tokens",
    "dist": "distance of a semantic metric (`cosine`, `euclidean`)",
    "sim": "Vendi similarity (`cosine` kernel of unit embeddings)",
    "kernel": "Vendi kernel given by the caller (`given`)",
    "q": "order of a Vendi score or Hill number",
    "ngrams": "n-gram orders whose count-vector cosine kernels the n-gram Vendi score averages (`1-<max_n>`)",
    "thr": "distance threshold of semantic clustering",
    "cal": "attractor strength: how the threshold was set: `given`, or `q<quantile>-<n>pairs`, that quantile of the "
           "n within-prompt cosine distances of the unperturbed completions",
    "link": "linkage of semantic clustering",
    "measure": "attribute diversity measure",
    "vnorm": "attribute values normalised before counting: the rule and its version (`gender-v1`, `nationality-v1`, "
             "`text-v1`); absent: compared exactly as given",
    "cand": "token entropy candidates: `top<k>-renorm` or `full` (softmax of the logits)",
    "unit": "unit of an entropy (`bits`, or `nats` for the branching factor)",
    "est": "branching factor estimator (`chain-rule` or `entropy`: mean per-position entropy over the samples; "
           "`entropy-then-nll>50`: the sampled tokens' mean NLL past 50 positions)",
    "cut": "branching factor: each prompt cut at this quantile of its outputs' lengths (`q0.95`), or `none`",
    "min": "branching factor: fewest generations that must reach a position for it to count",
    "horizon": "branching factor: positions used (`all` or the first n)",
    "avg": "what token entropy averages over (`positions`)",
    "perturb": "attractor strength: the perturbation of the generation (`prefix`, `random-token`, ...)",
    "pos": "attractor strength: tokens into the generation where the perturbation was applied (`na`: not given)",
    "size": "attractor strength: size of the perturbation in tokens (`na`: not given)",
    "after": "attractor strength: perturbed continuations cut at this many word tokens after the perturbation "
             "(`all`: not cut)",
    "m": "attractor strength: perturbed continuations per prompt (a range `lo-hi` when prompts differ)",
    "tok": "tokenizer name and version, e.g. `unicode-v2`",
    "lc": "lowercased before tokenizing (`yes`/`no`)",
    "emb": "embedding model and the hash of its weights, or `precomputed`",
    "maxlen": "the embedding model's maximum input length in word pieces (longer texts are embedded by their start)",
    "long": "how texts longer than the embedding model reads are embedded: `windows<w>-mean` (windows of w word "
            "pieces, vectors averaged by word pieces); absent: their beginning only",
    "backend": "embedding backend (`torch`, `onnx`, `onnx-int8`)",
    "dev": "device the embedding model ran on, when not the CPU (`cuda`, `mps`, ...)",
    "det": "refusal detector: `rules-v2` (the default rule set), `rules-v1` (0.2's) or `hf:<model>@<weights hash>`",
    "count": "what a refusal rate counts: `refusal`, or `refusal+partial`",
    "valid": "what makes an output count for effective diversity: `score>=<t>` or `no-refusal`",
    "cluster": "which completions effective diversity clusters into semantic classes (`valid`: the valid ones only)",
    "eq": "equivalence of two outputs: `cos<<t>` (cosine distance below t), `user:<function>` (a function given), "
          "or `given` (the partitions given)",
    "short": "NoveltyBench's short-answer rule: applies to answers of at most this many words (`off`: not applied)",
    "patience": "NoveltyBench's patience p (weight p^(i-1) of the i-th sample)",
    "order": "the order a sequence metric reads completions in (`given`: as listed, i.e. as sampled)",
    "len": "length control applied before scoring: `full`, `trunc<n>` (first n tokens) or `match` (per prompt)",
    "sub": "completions per prompt subsampled to k: `seed<s>` (seeded by s and the prompt)",
    "gate": "completions kept by a gate, e.g. `no-refusal` or `reward>=0.5`",
    "agg": "aggregation over prompts: `none` (one set), `per-prompt-mean`, `pooled`",
    "k": "completions per prompt (a range `lo-hi` when prompts differ)",
    "ci": "confidence interval: level, method and resamples, e.g. `0.95-percentile-10000`",
    "seed": "seed of the bootstrap",
    "labels": "the compared models",
    "prompts": "prompts compared",
    "test": "paired test and its resamples",
    "adj": "multiple-comparison adjustment",
    "v": "library version",
}
CI_KEYS = ("ci", "seed")


def keys_table() -> str:
    """The Markdown table of every signature key (``docs/signatures.md`` holds it; a test checks)."""
    rows = ["| key | records |", "|---|---|"] + [f"| `{k}` | {v} |" for k, v in KEYS.items()]
    return "\n".join(rows)


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class Signature(str):
    """A signature string with its parts parsed (``metric``, ``fields``, ``version``)."""

    metric: str
    fields: Mapping[str, str]
    version: str

    def __new__(cls, text: str) -> "Signature":
        self = super().__new__(cls, text)
        parts = text.split("|")
        fields: dict[str, str] = {}
        for part in parts[1:]:
            key, sep, value = part.partition(":")
            if not sep or not key:
                raise ValueError(f"not a signature field: {part!r} in {text!r}")
            fields[key] = value
        self.metric = parts[0]
        self.version = fields.pop("v", "")
        self.fields = fields
        return self

    @classmethod
    def build(cls, metric: str, fields: Iterable[tuple[str, Any]], version: str) -> "Signature":
        """From the metric spec and ``(key, value)`` fields; the version goes last."""
        parts = [metric] + [f"{k}:{format_value(v)}" for k, v in fields] + [f"v:{version}"]
        return cls("|".join(parts))

    @classmethod
    def parse(cls, text: str) -> "Signature":
        return cls(text)

    def format(self) -> str:
        return str.__str__(self)

    @property
    def value_fields(self) -> dict[str, str]:
        """The fields that define the value (everything but the CI's)."""
        return {k: v for k, v in self.fields.items() if k not in CI_KEYS}

    @property
    def ci_fields(self) -> dict[str, str]:
        return {k: v for k, v in self.fields.items() if k in CI_KEYS}

    def same_value_as(self, other: str) -> bool:
        """True when both signatures define the same number (CI settings may differ)."""
        o = Signature(other)
        return (self.metric, self.value_fields, self.version) == (o.metric, o.value_fields, o.version)

    def __reduce__(self):
        return (Signature, (str(self),))
