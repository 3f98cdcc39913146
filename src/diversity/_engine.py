"""The machinery shared by every metric: preparing a corpus once, computing
per-prompt values, aggregating over prompts, CIs and signatures."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Hashable, Iterable, Literal, Sequence, Union

import numpy as np

from ._ngrams import NgramTotals, TokenizedTexts, ngram_codes, ngram_totals, select_keys, tokenize_texts
from ._result import DiversityResult, UndefinedMetricWarning, format_signature
from ._stats import bootstrap_mean_ci
from ._validate import Groups, as_groups, check_choice, check_int, check_real
from .tokenize import Tokenizer, get_tokenizer

Aggregate = Literal["per-prompt", "pooled"]
AGGREGATES = ("per-prompt", "pooled")
CI_METHODS = ("percentile", "BCa", "basic")


class Corpus:
    """Completions grouped into sets, with tokenization and n-gram counts
    computed once and shared by every metric that needs them."""

    def __init__(self, sets: Sequence[Sequence[str]], tokenizer: Tokenizer, lowercase: bool) -> None:
        self.sets = [tuple(s) for s in sets]
        self.texts: list[str] = [t for s in self.sets for t in s]
        self.n_groups = len(self.sets)
        self.sizes = np.array([len(s) for s in self.sets], dtype=np.int64)
        self.group_of_text = np.repeat(np.arange(self.n_groups, dtype=np.int64), self.sizes)
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        self._totals: dict[tuple[int, str], NgramTotals] = {}
        self._keys: dict[str, np.ndarray] = {}
        self._memo: dict[Any, Any] = {}

    def memo(self, key: Any, compute) -> Any:
        """Compute once per corpus: lets a metric reuse work between its value and its details."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @cached_property
    def tokens(self) -> TokenizedTexts:
        return tokenize_texts(self.texts, self.tokenizer, self.lowercase)

    def totals(self, n: int, level: Literal["group", "text"] = "group") -> NgramTotals:
        """N-gram statistics per group (``level="group"``) or per completion."""
        key = (n, level)
        if key not in self._totals:
            tt = self.tokens
            codes, mask = ngram_codes(tt, n)
            radix = len(tt.vocab) if n == 1 else None  # unigram codes are ids < |V|
            if level == "group" and self.n_groups == 1:
                self._totals[key] = ngram_totals(codes, None, 1, n, radix)
            else:
                keys = self.token_keys(level)
                n_keys = self.n_groups if level == "group" else len(self.texts)
                self._totals[key] = ngram_totals(codes, select_keys(keys, mask), n_keys, n)
        return self._totals[key]

    def token_keys(self, level: str) -> np.ndarray:
        """Group (``"group"``) or completion (``"text"``) index of every token."""
        if level not in self._keys:
            lengths = self.tokens.lengths
            if level == "group":
                per_group = np.bincount(self.group_of_text, weights=lengths, minlength=self.n_groups)
                self._keys[level] = np.repeat(np.arange(self.n_groups, dtype=np.int64), per_group.astype(np.int64))
            else:
                self._keys[level] = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        return self._keys[level]

    def group_mean(self, per_text: np.ndarray) -> np.ndarray:
        """Mean of per-completion values within each group, ignoring NaN."""
        ok = ~np.isnan(per_text)
        num = np.bincount(self.group_of_text[ok], weights=per_text[ok], minlength=self.n_groups)
        den = np.bincount(self.group_of_text[ok], minlength=self.n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.maximum(den, 1), np.nan)

    def length_details(self) -> dict[str, float]:
        lengths = self.tokens.lengths.astype(np.float64)
        return {
            "mean_tokens": float(lengths.mean()),
            "std_tokens": float(lengths.std(ddof=1)) if len(lengths) > 1 else 0.0,
            "total_tokens": int(lengths.sum()),
        }


class Metric:
    """Base class of every metric: a small object that knows its name,
    direction, signature fields and how to compute one value per group."""

    name: str
    higher_is_more_diverse: bool
    uses_tokens: bool = True
    undefined_reason: str = "the metric is undefined on this input"

    def fields(self, corpus: Corpus) -> list[tuple[str, Any]]:
        """Metric-specific signature fields (before tokenizer and aggregation)."""
        return []

    def group_values(self, corpus: Corpus) -> np.ndarray:
        """One value per group of ``corpus`` (NaN where undefined)."""
        raise NotImplementedError

    def details(self, corpus: Corpus) -> dict[str, Any]:
        return corpus.length_details() if self.uses_tokens else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


@dataclass(frozen=True)
class Options:
    tokenizer: Tokenizer
    lowercase: bool
    aggregate: Aggregate | None
    ci: bool | None
    ci_level: float
    n_resamples: int
    ci_method: str
    seed: int


def make_options(func: str, *, tokenizer: Union[str, Tokenizer], lowercase: bool, aggregate: str | None,
                 ci: bool | None, ci_level: float, n_resamples: int, ci_method: str, seed: int) -> Options:
    if not isinstance(lowercase, bool):
        raise TypeError(f"The 'lowercase' parameter of {func} must be a bool. Got {lowercase!r} instead.")
    if aggregate is not None:
        check_choice(aggregate, "aggregate", func, AGGREGATES)
    if ci is not None and not isinstance(ci, bool):
        raise TypeError(f"The 'ci' parameter of {func} must be a bool or None. Got {ci!r} instead.")
    check_real(ci_level, "ci_level", func, low=0.0, high=1.0, low_open=True, high_open=True)
    check_int(n_resamples, "n_resamples", func, low=1)
    check_choice(ci_method, "ci_method", func, CI_METHODS)
    check_int(seed, "seed", func, low=0)
    return Options(get_tokenizer(tokenizer), lowercase, aggregate, ci, float(ci_level), int(n_resamples),
                   ci_method, int(seed))


def _k_field(sizes: Iterable[int]) -> str:
    sizes = list(sizes)
    lo, hi = min(sizes), max(sizes)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def evaluate(metrics: Sequence[Metric], samples: Any, opts: Options, func: str) -> list[DiversityResult]:
    """Compute ``metrics`` on ``samples``; tokenization and counts are shared."""
    groups = as_groups(samples)
    if not groups.grouped:
        mode = "single"
    else:
        mode = opts.aggregate or "per-prompt"
    want_ci = opts.ci if opts.ci is not None else (mode == "per-prompt" and len(groups.sets) >= 2)
    if want_ci and mode != "per-prompt":
        what = "a single set" if mode == "single" else "a pooled set"
        raise ValueError(
            f"{func}: no confidence interval for {what}. CIs come from a bootstrap over prompts: pass "
            "samples grouped by prompt with aggregate='per-prompt' (resampling completions, or prompts "
            "into a pooled set, duplicates completions and biases diversity downward)."
        )
    sets = [c for s in groups.sets for c in s] if mode == "pooled" else groups.sets
    corpus = Corpus([sets] if mode == "pooled" else sets, opts.tokenizer, opts.lowercase)
    results = []
    for metric in metrics:
        values = np.asarray(metric.group_values(corpus), dtype=np.float64)
        results.append(_aggregate(metric, values, corpus, groups, mode, want_ci, opts, func))
    return results


def _aggregate(metric: Metric, values: np.ndarray, corpus: Corpus, groups: Groups, mode: str,
               want_ci: bool, opts: Options, func: str) -> DiversityResult:
    undefined = np.isnan(values)
    details = metric.details(corpus)
    per_group = std = ci = None
    if mode == "per-prompt":
        if undefined.all():
            value = math.nan
            warnings.warn(f"{metric.name} is undefined for every prompt ({metric.undefined_reason}); "
                          "returning NaN.", UndefinedMetricWarning, stacklevel=3)
        else:
            if undefined.any():
                bad = [groups.keys[i] for i in np.flatnonzero(undefined)[:5]]
                warnings.warn(
                    f"{metric.name} is undefined for {int(undefined.sum())} of {len(values)} prompts "
                    f"({metric.undefined_reason}), e.g. {bad!r}; they are left out of the mean "
                    "(their per_group value is NaN).", UndefinedMetricWarning, stacklevel=3)
            defined = values[~undefined]
            value = float(defined.mean())
            std = float(defined.std(ddof=1)) if len(defined) > 1 else math.nan
        per_group = tuple(float(v) for v in values)
        details["n_undefined_groups"] = int(undefined.sum())
        if want_ci and (opts.ci or (~undefined).sum() >= 2):  # automatic CIs need 2 defined prompts
            ci = bootstrap_mean_ci(values[~undefined], level=opts.ci_level, n_resamples=opts.n_resamples,
                                   method=opts.ci_method, seed=opts.seed)
    else:
        value = float(values[0])
        if undefined[0]:
            warnings.warn(f"{metric.name} is undefined ({metric.undefined_reason}); returning NaN.",
                          UndefinedMetricWarning, stacklevel=3)
    fields: list[tuple[str, Any]] = list(metric.fields(corpus))
    if metric.uses_tokens:
        fields += [("tok", opts.tokenizer.spec), ("lc", opts.lowercase)]
    agg = {"single": "none", "per-prompt": "per-prompt-mean", "pooled": "pooled"}[mode]
    fields += [("agg", agg), ("k", _k_field(groups.sizes))]
    if ci is not None:
        fields += [("ci", f"{opts.ci_level:g}-{opts.ci_method}-{opts.n_resamples}"), ("seed", opts.seed)]
    return DiversityResult(
        metric=metric.name,
        value=value,
        higher_is_more_diverse=metric.higher_is_more_diverse,
        signature=format_signature(metric.name, fields),
        n_samples=groups.n_samples,
        n_groups=len(groups.sets),
        per_group=per_group,
        groups=tuple(groups.keys) if mode == "per-prompt" else None,
        std=std,
        ci=ci,
        details=details,
    )
