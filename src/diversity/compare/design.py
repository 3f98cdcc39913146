"""The design of a comparison, decided once, on the full completions.

A :class:`Design` says which prompts are paired, which completions every
table keeps per prompt and side, and why; it is made before any metric sees
a text:

1. Prompts are paired by key (a prompt missing on a side is left out and
   reported).
2. Per-completion columns are read once, on the full completions, and move
   together from then on: the text, its quality value (``quality=``; a
   callable is applied to the full text), its refusal label (one
   classification per distinct text, shared by the refusal rates and a
   ``no-refusal`` gate) and its gate verdict.
3. **Equal k within every prompt, always.** The table of all completions
   keeps ``k`` completions of every prompt on every side (``k=None``: per
   prompt, the smaller side's count). The gated table keeps, per prompt, as
   many passing completions on every side as the side that kept fewest
   (a prompt where a side kept none leaves the gated table). Larger sets are
   subsampled without replacement, seeded by the seed, the side and the
   prompt; kept completions stay in the order they were given, so
   order-dependent metrics read them as sampled (``order:given`` stays true).
4. Length control (:mod:`.fairness`) is applied last, to the kept texts; the
   refusal labels, quality values and gate verdicts stay those of the full
   completions.

Every completion and prompt set aside is counted (:attr:`Table.dropped`) and
a warning fires when a setting sets aside more than :data:`SMALL_SHARE` of
them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Hashable, Mapping, Sequence

from ..core.errors import InvalidParameterError, warn
from ..core.params import Int, check
from ..text.tokenize import Tokenizer
from .fairness import apply_length_with_order, length_field, mean_tokens, prompt_map, subsample_indices

__all__ = ["Design", "Table", "build_design", "SMALL_SHARE", "side_names"]

SMALL_SHARE = 0.10  # a setting that sets aside more than this share of completions or prompts is announced


def side_names(n: int) -> list[str]:
    """The names that seed each side's subsampling (``a``/``b`` for two sides, as in 0.2)."""
    return ["a", "b"] if n == 2 else [f"m{i}" for i in range(n)]


class CachedLabels:
    """A refusal detector that classifies every distinct text once (``n_classified`` counts them),
    so that refusal rates and a ``no-refusal`` gate share one classification."""

    def __init__(self, detector: Any = None) -> None:
        from ..quality.refusal import rules_detector

        self.detector = detector or rules_detector()
        self.labels: dict[str, str] = {}
        self.n_classified = 0

    @property
    def spec(self) -> str:
        return self.detector.spec

    def classify_many(self, texts: Sequence[str]) -> list[str]:
        from ..quality.refusal import classify_refusals

        missing = [t for t in dict.fromkeys(texts) if t not in self.labels]
        if missing:
            self.labels.update(zip(missing, classify_refusals(missing, self.detector)))
            self.n_classified += len(missing)
        return [self.labels[t] for t in texts]

    def classify(self, text: str) -> str:
        return self.classify_many([text])[0]


@dataclass(frozen=True)
class Table:
    """The completions one table scores, per side and prompt.

    Attributes
    ----------
    name : str
        ``"all"`` (every completion) or ``"gated"`` (those that pass the gate).
    prompts : tuple
        The prompts of the table (in the order of the first side).
    picks : mapping label -> prompt -> tuple of int
        Positions of the kept completions in the lists given, ascending.
    full : mapping label -> prompt -> list of str
        Their full texts (what refusal labels, quality and rates read).
    texts : mapping label -> prompt -> list of str
        Their texts after length control (what diversity metrics read).
    quality : mapping label -> prompt -> list, or None
        Their quality values, decided on the full texts.
    k : mapping prompt -> int
        Completions per prompt on every side (equal within a prompt).
    dropped : mapping
        What the table set aside: ``prompts`` (count), ``completions``
        (per side: given but not kept) and ``given`` (per side).
    """

    name: str
    prompts: tuple
    picks: Mapping[str, Mapping[Hashable, tuple[int, ...]]]
    full: Mapping[str, Mapping[Hashable, list[str]]]
    texts: Mapping[str, Mapping[Hashable, list[str]]]
    quality: Mapping[str, Mapping[Hashable, list]] | None
    k: Mapping[Hashable, int]
    mode: str
    n: int | None
    subsampled: bool
    how_k: str
    seed: int
    gate: str | None = None
    dropped: Mapping[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> str:
        return length_field(self.mode, self.n)

    @property
    def k_range(self) -> tuple[int, int]:
        ks = list(self.k.values())
        return (min(ks), max(ks)) if ks else (0, 0)

    @property
    def k_text(self) -> str:
        """``5``, or ``3-5`` when prompts differ (equal on every side within each prompt)."""
        lo, hi = self.k_range
        return str(lo) if lo == hi else f"{lo}-{hi}"

    def context(self, length: bool = True) -> list[tuple[str, Any]]:
        """Signature fields of every metric scored on this table (``len:full`` for rates:
        they are decided on the full completions)."""
        out: list[tuple[str, Any]] = [("len", self.length if length else "full")]
        if self.subsampled:
            out.append(("sub", f"seed{self.seed}"))
        if self.gate is not None:
            out.append(("gate", self.gate))
        return out

    def k_field(self) -> str:
        return self.k_text + (f"-sub-seed{self.seed}" if self.subsampled else "")

    def mean_tokens(self, tokenizer: Tokenizer, lowercase: bool) -> dict[str, float]:
        return {lab: mean_tokens(s, tokenizer, lowercase) for lab, s in self.texts.items()}

    def with_length(self, mode: str, n: int | None, tokenizer: Tokenizer) -> "Table":
        """The same completions under another length control (cut from the full texts)."""
        labels = list(self.full)
        cut, order = apply_length_with_order([self.full[lab] for lab in labels], mode, n, tokenizer)
        texts = {}
        for lab, side, od in zip(labels, cut, order):
            given_order = {}
            for p, ts in side.items():  # back to the order given: matching ranks by length
                out = [""] * len(ts)
                for t, i in zip(ts, od[p]):
                    out[i] = t
                given_order[p] = out
            texts[lab] = given_order
        return dataclasses.replace(self, texts=texts, mode=mode, n=n)


def _resolve_quality(quality: Any, maps: Mapping[str, Mapping[Hashable, tuple[str, ...]]], prompts: Sequence,
                     func: str) -> dict[str, dict[Hashable, list]] | None:
    """Quality values of every given completion, per side (a callable applied to the full texts)."""
    if quality is None:
        return None
    labels = list(maps)
    if callable(quality):
        per_side: dict[str, Any] = {lab: quality for lab in labels}
    elif isinstance(quality, Mapping) and set(labels) <= set(quality):
        per_side = {lab: quality[lab] for lab in labels}
    else:
        raise InvalidParameterError(
            f"The 'quality' parameter of {func} must be a mapping with every model's label ({', '.join(map(repr, labels))}) "
            f"-> {{prompt: one value per completion}}, or a callable text -> value. Got "
            f"{type(quality).__name__}" + (f" with keys {list(quality)[:4]!r}" if isinstance(quality, Mapping) else "")
            + " instead.")
    out: dict[str, dict[Hashable, list]] = {}
    for lab in labels:
        q = per_side[lab]
        if q is None:
            continue
        if callable(q):
            out[lab] = {p: [q(t) for t in maps[lab][p]] for p in prompts}
            continue
        if not isinstance(q, Mapping):
            raise InvalidParameterError(f"The 'quality' parameter of {func}: the values of {lab!r} must be a mapping "
                                        f"prompt -> one value per completion. Got {type(q).__name__} instead.")
        for p in prompts:
            if p not in q or len(q[p]) != len(maps[lab][p]):
                raise ValueError(f"{func}: quality values of {lab!r} for prompt {p!r} do not match its "
                                 f"{len(maps[lab][p])} completions (one value per completion).")
        out[lab] = {p: list(q[p]) for p in prompts}
    return out or None


@dataclass
class Design:
    """Which completions each table compares, decided once on the full completions (see the module
    docstring). Built by :func:`build_design`."""

    labels: tuple[str, ...]
    prompts: tuple
    missing: Mapping[str, tuple]
    given: Mapping[str, Mapping[Hashable, tuple[str, ...]]]
    quality: Mapping[str, Mapping[Hashable, list]] | None
    refusals: CachedLabels
    gate: Any
    passed: Mapping[str, Mapping[Hashable, list[bool]]] | None
    all: Table
    gated: Table | None

    def refusal_rates(self, table: Table) -> dict[str, float]:
        """Every side's share of refusals among a table's full completions (blank answers count as
        refusals), from the one classification of the design."""
        out = {}
        for lab in self.labels:
            texts = [t for p in table.prompts for t in table.full[lab][p]]
            words = [t for t in texts if t.strip()]
            labels = self.refusals.classify_many(words)
            out[lab] = (labels.count("refusal") + len(texts) - len(words)) / len(texts) if texts else math.nan
        return out

    def pass_counts(self, lab: str) -> dict[Hashable, tuple[int, int]]:
        """Per prompt: (completions that passed the gate, completions given)."""
        if self.passed is None:
            raise ValueError("the design has no gate")
        return {p: (sum(self.passed[lab][p]), len(self.passed[lab][p])) for p in self.prompts}


def _pick(maps: Mapping[str, Mapping[Hashable, tuple[str, ...]]], prompts: Sequence, allowed: Mapping | None,
          k: int | None, seed: int) -> tuple[dict, dict, bool]:
    """Per side and prompt, the positions kept: k (or the smallest allowed count of the prompt) among the
    allowed positions, subsampled by a generator seeded by (seed, side, prompt), in the order given."""
    labels = list(maps)
    names = side_names(len(labels))
    picks: dict[str, dict[Hashable, tuple[int, ...]]] = {lab: {} for lab in labels}
    ks: dict[Hashable, int] = {}
    subsampled = False
    for p in prompts:
        pools = {lab: (list(range(len(maps[lab][p]))) if allowed is None else
                       [i for i, ok in enumerate(allowed[lab][p]) if ok]) for lab in labels}
        kp = min(len(v) for v in pools.values())
        kp = kp if k is None else min(k, kp)
        ks[p] = kp
        for lab, name in zip(labels, names):
            pool = pools[lab]
            chosen = subsample_indices([maps[lab][p][i] for i in pool], kp, seed, p, name)
            subsampled |= len(pool) > kp
            picks[lab][p] = tuple(sorted(pool[i] for i in chosen))
    return picks, ks, subsampled


def _table(name: str, maps: Mapping, quality: Mapping | None, prompts: Sequence, picks: Mapping, ks: Mapping,
           subsampled: bool, how_k: str, seed: int, gate: str | None, tokenizer: Tokenizer, mode: str,
           n: int | None, dropped: Mapping[str, Any]) -> Table:
    full = {lab: {p: [maps[lab][p][i] for i in picks[lab][p]] for p in prompts} for lab in maps}
    q = None if quality is None else {lab: {p: [quality[lab][p][i] for i in picks[lab][p]] for p in prompts}
                                      for lab in quality}
    t = Table(name=name, prompts=tuple(prompts), picks=picks, full=full, texts=full, quality=q, k=dict(ks),
              mode="full", n=None, subsampled=subsampled, how_k=how_k, seed=seed, gate=gate, dropped=dropped)
    return t if mode == "full" else t.with_length(mode, n, tokenizer)


def _announce(what: str, dropped: Mapping[str, Any], n_prompts: int) -> None:
    parts = []
    if n_prompts and dropped.get("prompts", 0) / n_prompts > SMALL_SHARE:
        parts.append(f"{dropped['prompts']} of {n_prompts} prompts")
    for lab, n in dropped.get("completions", {}).items():
        given = dropped["given"][lab]
        if given and n / given > SMALL_SHARE:
            parts.append(f"{n} of {given} completions of {lab!r}")
    if parts:
        warn(f"{what} sets aside {', '.join(parts)} (more than {SMALL_SHARE:.0%}); see "
             "Comparison.settings['dropped'].", UserWarning)


def gate_spec(gate: Any, func: str) -> str:
    """The gate as signatures record it: a spec that reads back as the same gate (a threshold is
    written with every digit it was given), never holding ``|`` (which separates signature fields)."""
    from ..quality.gates import Threshold, parse_gate

    spec = gate.spec
    if isinstance(gate, Threshold) and getattr(gate, "scorer", None) is None:
        again = parse_gate(spec)
        if not (isinstance(again, Threshold) and again.value == gate.value):
            spec = f"{gate.name}{gate.op}{float(gate.value)!r}"
    if "|" in spec:
        raise InvalidParameterError(f"The 'gate' parameter of {func} cannot hold '|' (it separates signature "
                                    f"fields). Got {spec!r} instead; gate on one value, or give quality= a boolean "
                                    "column and gate on it.")
    return spec


def build_design(models: Mapping[str, Any], *, k: int | None, mode: str, n: int | None, options: Any, func: str,
                 quality: Any = None, gate: Any = None) -> Design:
    """Pair the prompts, read every per-completion column once on the full completions, and choose the
    completions of the table of all completions and (with a gate) of the gated table."""
    from ..quality.gates import NoRefusal, parse_gate

    maps = {lab: prompt_map(m, lab) for lab, m in models.items()}
    labels = tuple(maps)
    first = labels[0]
    common = [p for p in maps[first] if all(p in m for m in maps.values())]
    missing = {lab: tuple(dict.fromkeys(p for other in maps.values() for p in other if p not in m))
               for lab, m in maps.items()}
    if not common:
        ka, kb = (next(iter(m)) for m in list(maps.values())[:2])
        as_text = set.intersection(*({str(p) for p in m} for m in maps.values()))
        hint = (" The keys agree as text but not in type (e.g. integer ids from JSONL against string ids "
                "from CSV): convert one side's keys." if as_text else "")
        raise ValueError(f"{' and '.join(repr(x) for x in maps)} have no prompt in common; prompts are matched "
                         f"by key (e.g. {ka!r} vs {kb!r}).{hint}")
    if any(missing.values()):
        warn("prompts missing on some side are left out: " + ", ".join(
            f"{len(v)} missing in {lab!r}" for lab, v in reversed(list(missing.items()))) + " (see Comparison.missing).",
            UserWarning)
    smallest = min(len(m[p]) for m in maps.values() for p in common)
    if k is not None:
        check(k, "k", func, Int(1))
        if k > smallest:
            raise InvalidParameterError(f"k={k} is larger than the smallest set ({smallest} completions); "
                                        "every prompt needs k completions on every side.")
    if smallest == 0:
        empty = next(p for p in common if any(len(m[p]) == 0 for m in maps.values()))
        raise ValueError(f"{func}: prompt {empty!r} has no completion on some side; remove it or give completions.")
    gate = parse_gate(gate)
    spec = gate_spec(gate, func) if gate is not None else None
    q = _resolve_quality(quality, maps, common, func)
    detector = getattr(gate, "detector", None) if isinstance(gate, NoRefusal) else None
    refusals = CachedLabels(detector)
    seed = options.bootstrap.seed
    given_counts = {lab: sum(len(maps[lab][p]) for p in common) for lab in labels}

    picks, ks, sub = _pick(maps, common, None, k, seed)
    how = f"k={k} requested" if k is not None else "per prompt, the smaller side's number of completions"
    kept = {lab: sum(len(picks[lab][p]) for p in common) for lab in labels}
    dropped = {"prompts": 0, "completions": {lab: given_counts[lab] - kept[lab] for lab in labels},
               "given": given_counts}
    if k is None and len(set(ks.values())) > 1:
        lo, hi = min(ks.values()), max(ks.values())
        warn(f"prompts have different numbers of completions: each prompt is compared at equal k on every side, "
             f"k = {lo} to {hi} (k:{lo}-{hi} in the signatures); pass k= for one k everywhere.", UserWarning)
    _announce("equal k per prompt", dropped, len(common))
    table_all = _table("all", maps, q, common, picks, ks, sub, how, seed, None, options.tokenizer, mode, n, dropped)

    passed = gated = None
    if gate is not None:
        g = dataclasses.replace(gate, detector=refusals) if isinstance(gate, NoRefusal) and \
            dataclasses.is_dataclass(gate) and any(f.name == "detector" for f in dataclasses.fields(gate)) else gate
        passed = {}
        for lab in labels:
            column = q.get(lab) if q is not None else None
            passed[lab] = {p: [bool(x) for x in g.keep(list(maps[lab][p]), column[p] if column else None)]
                           for p in common}
        gpicks, gks, gsub = _pick(maps, common, passed, k, seed)
        kept_prompts = [p for p in common if gks[p] > 0]
        gdropped = {"prompts": len(common) - len(kept_prompts),
                    "completions": {lab: given_counts[lab] - sum(gks[p] for p in kept_prompts) for lab in labels},
                    "given": given_counts,
                    "failed_gate": {lab: sum(len(v) - sum(v) for v in passed[lab].values()) for lab in labels}}
        equalised = {lab: gdropped["completions"][lab] - gdropped["failed_gate"][lab] for lab in labels}
        gdropped["equal_k"] = equalised
        if not kept_prompts:
            raise ValueError(f"{func}: with the gate {spec!r} no prompt keeps a completion on every side; "
                             "nothing is left to compare.")
        _announce(f"equal k after the gate {spec!r} (beyond the completions that fail it)",
                  {"prompts": gdropped["prompts"], "completions": equalised, "given": given_counts}, len(common))
        gated = _table("gated", maps, q, kept_prompts, {lab: {p: gpicks[lab][p] for p in kept_prompts}
                                                        for lab in labels},
                       {p: gks[p] for p in kept_prompts}, gsub,
                       "per prompt, the number of completions that pass on the side that kept fewest", seed,
                       spec, options.tokenizer, mode, n, gdropped)
    return Design(labels=labels, prompts=tuple(common), missing=missing, given=maps, quality=q, refusals=refusals,
                  gate=gate, passed=passed, all=table_all, gated=gated)


def per_prompt_pass_rates(design: Design, lab: str) -> dict[Hashable, float]:
    """Per prompt, the share of the given completions that pass the gate."""
    return {p: kept / n for p, (kept, n) in design.pass_counts(lab).items()}

