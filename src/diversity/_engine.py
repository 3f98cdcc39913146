"""The machinery shared by every metric: preparing a corpus once, computing
per-prompt values, aggregating over prompts, CIs and signatures."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Hashable, Iterable, Literal, Sequence, Union

import numpy as np

from ._ngrams import NgramTotals, TokenizedTexts, ngram_codes, ngram_totals, select_keys, tokenize_texts
from ._errors import InvalidParameterError, UndefinedMetricWarning, warn
from ._result import DiversityResult, format_signature
from ._stats import bootstrap_mean_ci, canonical_order
from ._validate import Groups, as_groups, check_choice, check_int, check_real
from .tokenize import Tokenizer, get_tokenizer

Aggregate = Literal["per-prompt", "pooled"]
AGGREGATES = ("per-prompt", "pooled")
CI_METHODS = ("percentile", "BCa", "basic")


class Corpus:
    """Completions grouped into sets, with tokenization and n-gram counts
    computed once and shared by every metric that needs them."""

    def __init__(self, sets: Sequence[Sequence[str]], tokenizer: Tokenizer, lowercase: bool, *,
                 keys: Sequence[Hashable] | None = None, has_texts: bool = True,
                 embeddings: np.ndarray | None = None, embedder: Any = None,
                 kernels: Sequence[np.ndarray] | None = None) -> None:
        self.sets = [tuple(s) for s in sets]
        self.keys = tuple(keys) if keys is not None else tuple(range(len(self.sets)))
        self.has_texts = has_texts
        self._embeddings = embeddings
        self._embedder = embedder
        self.kernels = kernels
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
        if not self.has_texts:
            raise ValueError("token-level metrics need the texts; only embeddings or kernels were given.")
        return tokenize_texts(self.texts, self.tokenizer, self.lowercase)

    @cached_property
    def offsets(self) -> np.ndarray:
        """Start of each group's rows in ``texts``/``embeddings`` (length n_groups + 1)."""
        return np.concatenate(([0], np.cumsum(self.sizes))).astype(np.int64)

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from .embed import SentenceTransformerEmbedder

            self._embedder = SentenceTransformerEmbedder()
        return self._embedder

    @property
    def embedding_fields(self) -> list[tuple[str, Any]]:
        if self._embeddings is not None:
            return [("emb", "precomputed")]
        e = self.embedder
        fields: list[tuple[str, Any]] = [("emb", f"{e.model_id}@{e.revision}")]
        maxlen = getattr(e, "max_seq_length", None)
        if maxlen:
            fields.append(("maxlen", maxlen))
        return fields

    @cached_property
    def embeddings(self) -> np.ndarray:
        """One float64 row per completion (computed once, shared by every semantic metric)."""
        if self._embeddings is None:
            if not self.has_texts:  # pragma: no cover - guarded by evaluate
                raise ValueError("no texts to embed")
            x = np.asarray(self.embedder.encode(self.texts), dtype=np.float64)
            check_embedding_rows(x, self.keys, self.offsets, "the embedder's output")
            return x
        return self._embeddings

    @cached_property
    def unit_embeddings(self) -> np.ndarray:
        """Rows scaled to unit length; a zero row has no direction and is an error."""
        x = self.embeddings
        # scale each row by its largest magnitude first, so squaring cannot overflow (rows of 1e300)
        # or underflow (rows of 1e-300)
        scale = np.abs(x).max(axis=1) if x.size else np.zeros(len(x))
        safe = np.where(scale > 0, scale, 1.0)
        x = x / safe[:, None]
        norms = np.linalg.norm(x, axis=1)
        zero = np.flatnonzero(scale == 0)
        if len(zero):
            g = int(np.searchsorted(self.offsets, zero[0], side="right") - 1)
            raise ValueError(f"embedding {zero[0] - self.offsets[g]} of prompt {self.keys[g]!r} is a zero vector: "
                             "cosine similarity is undefined for it.")
        return x / norms[:, None]

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

    def group_rows(self, x: np.ndarray, g: int) -> np.ndarray:
        return x[self.offsets[g]:self.offsets[g + 1]]

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
    uses_embeddings: bool = False
    per_completion_details: bool = False  # details["per_completion"] holds one value per completion
    undefined_reason: str = "the metric is undefined on this input"

    def fields(self, corpus: Corpus) -> list[tuple[str, Any]]:
        """Metric-specific signature fields (before tokenizer and aggregation)."""
        return []

    def group_values(self, corpus: Corpus) -> np.ndarray:
        """One value per group of ``corpus`` (NaN where undefined)."""
        raise NotImplementedError

    def details(self, corpus: Corpus) -> dict[str, Any]:
        return corpus.length_details() if self.uses_tokens and corpus.has_texts else {}

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
        raise InvalidParameterError(f"The 'lowercase' parameter of {func} must be a bool. Got {lowercase!r} instead.")
    if aggregate is not None:
        check_choice(aggregate, "aggregate", func, AGGREGATES)
    if ci is not None and not isinstance(ci, bool):
        raise InvalidParameterError(f"The 'ci' parameter of {func} must be a bool or None. Got {ci!r} instead.")
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


def check_embedding_rows(x: np.ndarray, keys: Sequence[Hashable], offsets: np.ndarray, what: str) -> None:
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1)) if x.size else np.empty(0, np.int64)
    if len(bad):
        g = int(np.searchsorted(offsets, bad[0], side="right") - 1)
        raise ValueError(f"{what}: row {bad[0] - offsets[g]} of prompt {keys[g]!r} contains NaN or infinity.")


def as_array_groups(arrays: Any, name: str, *, square: bool = False) -> tuple[Groups, list[np.ndarray]]:
    """Validate embeddings (``square=False``) or kernels: one 2-D array, a
    mapping prompt -> array, or a sequence of arrays."""
    if isinstance(arrays, dict) or hasattr(arrays, "keys"):
        keys, items, grouped = tuple(arrays.keys()), [arrays[k] for k in arrays.keys()], True
    elif isinstance(arrays, np.ndarray) or (isinstance(arrays, (list, tuple)) and arrays and
                                             not hasattr(arrays[0], "shape") and not isinstance(arrays[0], list)):
        keys, items, grouped = (0,), [arrays], False
    elif isinstance(arrays, (list, tuple)) and arrays and isinstance(arrays[0], np.ndarray):
        keys, items, grouped = tuple(range(len(arrays))), list(arrays), True
    else:
        keys, items, grouped = (0,), [arrays], False
    if len(items) == 0:
        raise ValueError(f"{name} is empty.")
    out = []
    dim = None
    for k, a in zip(keys, items):
        where = f"{name}[{k!r}]" if grouped else name
        if np.iscomplexobj(a):
            raise TypeError(f"{where} is complex; embeddings and kernels must be real (np.real would silently "
                            "drop the imaginary part, so it is not done for you).")
        try:
            a = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{where} must be a numeric 2-D array: {e}") from None
        if a.ndim != 2:
            raise ValueError(f"{where} must be a 2-D array (one row per completion), got shape {a.shape}.")
        if a.shape[0] == 0 or a.shape[1] == 0:
            raise ValueError(f"{where} is empty (shape {a.shape}).")
        if square:
            if a.shape[0] != a.shape[1]:
                raise ValueError(f"{where} must be a square kernel matrix, got shape {a.shape}.")
            if not np.allclose(a, a.T, rtol=1e-6, atol=1e-8):
                raise ValueError(f"{where} is not symmetric.")
            if not np.allclose(np.diag(a), 1.0, atol=1e-6):
                raise ValueError(f"{where} must have a unit diagonal (k(x, x) = 1), as the Vendi score requires.")
            if np.isfinite(a).all():
                lam = np.linalg.eigvalsh(a)
                tol = 1e-8 * max(1.0, float(np.abs(lam).max()))
                if lam.min() < -tol:
                    raise ValueError(f"{where} is not positive semi-definite (smallest eigenvalue {lam.min():.3g}): "
                                     "a similarity kernel must be, or its Vendi score is meaningless.")
        elif dim is not None and a.shape[1] != dim:
            raise ValueError(f"{where} has dimension {a.shape[1]} but earlier embeddings have {dim}.")
        dim = a.shape[1]
        if not np.isfinite(a).all():
            row = int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0])
            raise ValueError(f"{where}: row {row} contains NaN or infinity.")
        out.append(a)
    groups = Groups(keys=keys, sets=tuple(("",) * len(a) for a in out), grouped=grouped)
    return groups, out


def evaluate(metrics: Sequence[Metric], samples: Any, opts: Options, func: str, *, embeddings: Any = None,
             embedder: Any = None, kernel: Any = None, texts_are_data: bool = True) -> list[DiversityResult]:
    """Compute ``metrics`` on ``samples`` (and/or precomputed embeddings or
    kernels); tokenization, counts and embeddings are computed once and shared."""
    arrays = None
    if kernel is not None:
        if samples is not None or embeddings is not None:
            raise ValueError(f"{func}: pass either samples/embeddings or kernel, not both.")
        groups, arrays = as_array_groups(kernel, "kernel", square=True)
    elif embeddings is not None:
        groups, arrays = as_array_groups(embeddings, "embeddings")
        if samples is not None:
            text_groups = as_groups(samples)
            if text_groups.grouped and groups.grouped and text_groups.keys != groups.keys:
                only_t = [k for k in text_groups.keys if k not in groups.keys][:3]
                only_e = [k for k in groups.keys if k not in text_groups.keys][:3]
                raise ValueError(f"{func}: samples and embeddings have different prompt keys (only in samples: "
                                 f"{only_t!r}, only in embeddings: {only_e!r}"
                                 + ("; same keys in another order" if not only_t and not only_e else "") + ").")
            if text_groups.sizes != groups.sizes:
                bad = next(i for i, (a, b) in enumerate(zip(text_groups.sizes, groups.sizes)) if a != b) \
                    if len(text_groups.sizes) == len(groups.sizes) else None
                where = (f"prompt {text_groups.keys[bad]!r} has {text_groups.sizes[bad]} completions but "
                         f"{groups.sizes[bad]} embedding rows") if bad is not None else \
                    f"{len(text_groups.sizes)} prompts of samples vs {len(groups.sizes)} of embeddings"
                raise ValueError(f"{func}: samples and embeddings do not match: {where}.")
            groups = text_groups
    elif samples is None:
        if any(m.uses_embeddings for m in metrics):
            raise ValueError(f"{func}: pass samples (texts), or embeddings=" +
                             (" or kernel=." if any(getattr(m, "accepts_kernel", False) for m in metrics) else "."))
        raise TypeError(f"{func}: samples is None; pass the completions (a sequence of strings, or a mapping "
                        "prompt -> sequence of strings).")
    else:
        groups = as_groups(samples)
    has_texts = samples is not None
    for m in metrics:
        if m.uses_tokens and not has_texts:
            raise ValueError(f"{func}: {m.name} is computed from the texts; only embeddings or kernels were given.")
        if kernel is not None and not getattr(m, "accepts_kernel", False):
            raise ValueError(f"{func}: {m.name} cannot be computed from a kernel matrix.")
    if not groups.grouped:
        mode = "single"
    else:
        mode = opts.aggregate or "per-prompt"
    if kernel is not None and mode == "pooled":
        raise ValueError(f"{func}: kernels of separate prompts cannot be pooled; pass embeddings instead.")
    want_ci = opts.ci if opts.ci is not None else (mode == "per-prompt" and len(groups.sets) >= 2)
    if want_ci and mode != "per-prompt":
        what = "a single set" if mode == "single" else "a pooled set"
        raise ValueError(
            f"{func}: no confidence interval for {what}. CIs come from a bootstrap over prompts: pass "
            "samples grouped by prompt with aggregate='per-prompt' (resampling completions, or prompts "
            "into a pooled set, duplicates completions and biases diversity downward)."
        )
    emb = np.concatenate(arrays) if (arrays is not None and kernel is None) else None
    if mode == "pooled":
        sets, keys = [[c for s in groups.sets for c in s]], ("pooled",)
    else:
        sets, keys = groups.sets, groups.keys
    blank = None
    if texts_are_data and has_texts:
        sets, keys, emb, blank, kept = _drop_blank(sets, keys, emb)
    else:
        kept = np.arange(len(sets))
    n_all = len(groups.sets) if mode != "pooled" else 1
    corpus = Corpus(sets, opts.tokenizer, opts.lowercase, keys=keys, has_texts=has_texts, embeddings=emb,
                    embedder=embedder, kernels=arrays if kernel is not None else None)
    results = []
    for metric in metrics:
        values = np.full(n_all, np.nan)
        details: dict[str, Any] = {}
        if len(kept):
            values[kept] = np.asarray(metric.group_values(corpus), dtype=np.float64)
            details = metric.details(corpus)
        elif metric.per_completion_details:
            details = {"per_completion": ()}
        if blank is not None:
            details = _expand_details(details, blank, corpus)
            details["n_blank"] = int(blank.sum())
        results.append(_aggregate(metric, values, details, corpus, groups, mode, want_ci, opts, func,
                                  n_all - len(kept)))
    return results


BLANK_REASON = "every completion is empty or whitespace"


def _drop_blank(sets, keys, emb):
    """Leave out completions without content (empty or whitespace only): they
    are non-answers, never "the most diverse" answers. Groups left empty are
    dropped here and come back as NaN (undefined) in the results."""
    flat = [t for s in sets for t in s]
    blank = np.fromiter((not t.strip() for t in flat), dtype=bool, count=len(flat))
    if not blank.any():
        return sets, keys, emb, blank, np.arange(len(sets))
    new_sets, kept, start = [], [], 0
    for g, s in enumerate(sets):
        keep = [t for t, b in zip(s, blank[start:start + len(s)]) if not b]
        start += len(s)
        if keep:
            new_sets.append(keep)
            kept.append(g)
    if emb is not None:
        emb = emb[~blank]
    return new_sets, tuple(keys[g] for g in kept), emb, blank, np.array(kept, dtype=np.int64)


def _expand_details(details: dict[str, Any], blank: np.ndarray, corpus: Corpus) -> dict[str, Any]:
    """Per-completion details come back aligned with the input (NaN for blank
    completions), and length statistics describe every completion given
    (a blank completion has no token)."""
    if "mean_tokens" in details and blank.any():
        lengths = np.zeros(len(blank))
        if len(corpus.texts):
            lengths[~blank] = corpus.tokens.lengths
        details = dict(details, mean_tokens=float(lengths.mean()),
                       std_tokens=float(lengths.std(ddof=1)) if len(lengths) > 1 else 0.0,
                       total_tokens=int(lengths.sum()))
    if "per_completion" in details:
        full = np.full(len(blank), np.nan)
        full[~blank] = np.asarray(details["per_completion"], dtype=np.float64)
        details = dict(details, per_completion=tuple(float(v) for v in full))
    return details


def _aggregate(metric: Metric, values: np.ndarray, details: dict[str, Any], corpus: Corpus, groups: Groups,
               mode: str, want_ci: bool, opts: Options, func: str, n_blank_groups: int) -> DiversityResult:
    undefined = np.isnan(values)
    reason = metric.undefined_reason
    if n_blank_groups:
        reason = f"{reason}; or {BLANK_REASON}" if n_blank_groups < undefined.sum() else BLANK_REASON
    per_group = std = ci = None
    if mode == "per-prompt":
        if undefined.all():
            value = math.nan
            warn(f"{metric.name} is undefined for every prompt ({reason}); "
                          "returning NaN.", UndefinedMetricWarning)
        else:
            if undefined.any():
                bad = [groups.keys[i] for i in np.flatnonzero(undefined)[:5]]
                warn(
                    f"{metric.name} is undefined for {int(undefined.sum())} of {len(values)} prompts "
                    f"({reason}), e.g. {bad!r}; they are left out of the mean "
                    "(their per_group value is NaN).", UndefinedMetricWarning)
            defined = values[~undefined]
            value = float(defined.mean())
            std = float(defined.std(ddof=1)) if len(defined) > 1 else math.nan
        per_group = tuple(float(v) for v in values)
        details["n_undefined_groups"] = int(undefined.sum())
        if want_ci and (opts.ci or (~undefined).sum() >= 2):  # automatic CIs need 2 defined prompts
            order = canonical_order(groups.keys)  # resampling must not depend on the order of the prompts
            ordered = values[order]
            ci = bootstrap_mean_ci(ordered[~np.isnan(ordered)], level=opts.ci_level, n_resamples=opts.n_resamples,
                                   method=opts.ci_method, seed=opts.seed)
    else:
        value = float(values[0])
        if undefined[0]:
            warn(f"{metric.name} is undefined ({reason}); returning NaN.", UndefinedMetricWarning)
    fields: list[tuple[str, Any]] = list(metric.fields(corpus))
    if metric.uses_tokens:
        fields += [("tok", opts.tokenizer.spec), ("lc", opts.lowercase)]
    if metric.uses_embeddings and corpus.kernels is None:
        fields += corpus.embedding_fields
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
