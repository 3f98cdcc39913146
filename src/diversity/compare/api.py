"""Base vs aligned: paired comparison of two (or more) models over the same prompts.

``compare(a, b, metrics)`` scores both sides per prompt and, for every
metric, reports each side's value with a bootstrap CI over prompts, the
paired difference (b − a) with its CI, a paired test over prompts (sign-flip
permutation test by default, Wilcoxon signed-rank as an option), Cohen's d_z
and Holm-corrected p-values across the metrics compared.

Fairness by default: both sides are cut to the same number of completions
per prompt (seeded subsampling without replacement; every metric depends on
k), and optionally to the same token budget per completion, because length
drives lexical metrics; a warning is raised when mean lengths differ by more
than 1.5x. Subsampling and truncation are written into every metric's own
signature (``sub:``, ``len:``).
"""

from __future__ import annotations

import math
from typing import Any, Hashable, Mapping, Sequence, Union

import numpy as np

from ..core.data import as_groups
from ..core.errors import InvalidParameterError, warn
from ..core.evaluate import evaluate
from ..core.metric import Metric
from ..core.options import Options, with_options
from ..core.params import Choice, Int, Real, check
from ..core.registry import resolve_metric
from ..core.result import DiversityResult, format_signature
from ..stats.bootstrap import bootstrap_mean_ci
from ..stats.paired import holm, paired_test
from ..stats.seeding import canonical_order, key_rng, text_order
from ..text.tokenize import Tokenizer
from .result import Comparison, LengthMismatchWarning, MetricComparison

__all__ = ["compare", "compare_many", "compare_results", "DEFAULT_COMPARE_METRICS"]

_TESTS = Choice(("permutation", "wilcoxon"))
_ALPHA = Real(0.0, 1.0, low_open=True, high_open=True)

DEFAULT_COMPARE_METRICS = ("distinct-1", "distinct-2", "ngram-entropy-2", "self-bleu", "unique-fraction",
                           "compression-ratio")


def _as_prompt_map(x: Any, name: str) -> dict[Hashable, tuple[str, ...]]:
    g = as_groups(x, name=name)
    if not g.grouped:
        raise ValueError(f"{name} must be grouped by prompt (a mapping prompt -> completions) to be compared "
                         "prompt by prompt; got a single set.")
    return dict(zip(g.keys, g.sets))


def _truncate(texts: Sequence[str], budget: int, tokenizer: Tokenizer) -> list[str]:
    """Cut each text after its first ``budget`` tokens: a prefix of the original text
    (see :meth:`Tokenizer.truncate`), never tokens re-joined with spaces."""
    return [tokenizer.truncate(t, budget) for t in texts]


@with_options("text", "ci")
def compare(a: Any, b: Any, metrics: Sequence[Union[str, Metric]] = DEFAULT_COMPARE_METRICS, *,
            labels: tuple[str, str] = ("base", "aligned"), k: int | None = None, max_tokens: int | None = None,
            test: str = "permutation", alpha: float = 0.05, embedder: Any = None,
            options: Options) -> Comparison:
    """Compare the diversity of two models' completions over the same prompts.

    Parameters
    ----------
    a, b : mapping prompt -> sequence of str
        The two models' completions, matched by prompt key (e.g. from
        :func:`diversity.load_samples`). Prompts present on one side only are
        left out and reported in ``Comparison.missing`` (with a warning); no
        prompt in common is an error.
    metrics : sequence of str or Metric
        As in :func:`diversity.score`; semantic metrics share one embedder.
    labels : (str, str), default ("base", "aligned")
    k : int or None
        Completions per prompt on both sides. Default: the smallest count
        over all prompts and both sides. Larger sets are subsampled without
        replacement, from the completions in text order by a generator
        seeded by the seed and the prompt (``k:<k>-sub-seed<s>`` in the
        comparison's signature and ``sub:seed<s>`` in every metric's).
    max_tokens : int or None
        Length control: cut every completion after this many tokens
        (``len:trunc<n>`` in every metric's signature; ``len:full`` otherwise).
    test : {"permutation", "wilcoxon"}
        Paired test over prompts: sign-flip permutation test on the mean
        difference (exact for up to ~13 prompts), or scipy's Wilcoxon
        signed-rank test.
    alpha : float, default 0.05
        Level for the verdicts (on Holm-corrected p-values).
    embedder : Embedder or None
        As in :func:`diversity.score`; one model for both sides.
    <<SHARED>>
        ``n_resamples`` also sets the permutation test's resamples.

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
        raise InvalidParameterError(f"The 'labels' parameter of compare must be two different strings (labels must be "
                                    f"two different strings). Got {labels!r} instead.")
    check(test, "test", "compare", _TESTS)
    check(alpha, "alpha", "compare", _ALPHA)
    seed = options.bootstrap.seed
    la, lb = labels
    ma, mb = _as_prompt_map(a, "a"), _as_prompt_map(b, "b")
    common = [p for p in ma if p in mb]
    missing = {lb: tuple(p for p in ma if p not in mb), la: tuple(p for p in mb if p not in ma)}
    if not common:
        as_text = {str(p) for p in ma} & {str(p) for p in mb}
        hint = (" The keys agree as text but not in type (e.g. integer ids from JSONL against string ids from "
                "CSV): convert one side's keys." if as_text else "")
        raise ValueError(f"{la!r} and {lb!r} have no prompt in common; prompts are matched by key "
                         f"(e.g. {next(iter(ma))!r} vs {next(iter(mb))!r}).{hint}")
    if missing[la] or missing[lb]:
        warn(f"prompts missing on one side are left out: {len(missing[lb])} missing in {lb!r}, "
             f"{len(missing[la])} missing in {la!r} (see Comparison.missing).", UserWarning)
    smallest = min(min(len(ma[p]), len(mb[p])) for p in common)
    if k is None:
        k = smallest
    else:
        check(k, "k", "compare", Int(1))
        if k > smallest:
            raise InvalidParameterError(f"k={k} is larger than the smallest set ({smallest} completions); "
                             "every prompt needs k completions on both sides.")
    tok, lowercase = options.tokenizer, options.lowercase

    def cut(m: dict, side: str) -> dict:
        out = {}
        for p in common:
            texts = list(m[p])
            if len(texts) > k:
                # k of the completions in text order, drawn by a generator seeded by (seed, side, prompt key):
                # the same subset whatever the order in which prompts or completions are listed
                order = text_order(texts)
                pick = np.sort(key_rng(seed, p, f"subsample:{side}").choice(len(texts), size=k, replace=False))
                texts = [texts[i] for i in order[pick]]
            out[p] = _truncate(texts, max_tokens, tok) if max_tokens else texts
        return out

    if max_tokens is not None:
        check(max_tokens, "max_tokens", "compare", Int(1))
    sa, sb = cut(ma, "a"), cut(mb, "b")
    mean_tokens = {}
    for lab, s in ((la, sa), (lb, sb)):
        lens = [len(tok(t.lower() if lowercase else t)) for ts in s.values() for t in ts]
        mean_tokens[lab] = float(np.mean(lens))
    lo, hi = sorted(mean_tokens.values())
    if lo > 0 and hi / lo > 1.5 and max_tokens is None:
        longer = max(mean_tokens, key=mean_tokens.get)
        warn(f"{longer!r} completions are {hi / lo:.1f}x longer on average ({mean_tokens[la]:.1f} vs "
             f"{mean_tokens[lb]:.1f} tokens); lexical metrics depend on length. Consider max_tokens= "
             "or length-adjusted metrics (EAD).", LengthMismatchWarning)
    objs = [resolve_metric(m) for m in metrics]
    if embedder is None and any(m.input == "vectors" for m in objs):
        embedder = next(m for m in objs if m.input == "vectors").default_embedder()  # one model for both sides
    subsampled = any(len(m[p]) > k for m in (ma, mb) for p in common)
    context = [("len", f"trunc{max_tokens}" if max_tokens else "full")]
    if subsampled:
        context.append(("sub", f"seed{seed}"))
    opts = options.but(aggregate="per-prompt", func="compare")
    ra = dict(zip([m.spec for m in objs], evaluate(objs, opts, samples=sa, embedder=embedder, context_fields=context)))
    rb = dict(zip([m.spec for m in objs], evaluate(objs, opts, samples=sb, embedder=embedder, context_fields=context)))
    b = options.bootstrap
    return compare_results(ra, rb, labels=(la, lb), test=test, alpha=alpha, ci_level=b.confidence_level,
                           n_resamples=b.n_resamples, seed=seed, k=k, mean_tokens=mean_tokens, missing=missing,
                           extra_fields=[("k", f"{k}-sub-seed{seed}" if subsampled else k), *context],
                           settings={"max_tokens": max_tokens})


def compare_results(ra: Mapping[str, DiversityResult], rb: Mapping[str, DiversityResult], *,
                    labels: tuple[str, str] = ("base", "aligned"), test: str = "permutation", alpha: float = 0.05,
                    ci_level: float = 0.95, n_resamples: int = 10_000, seed: int = 0, k: int | None = None,
                    mean_tokens: Mapping[str, float] | None = None,
                    missing: Mapping[str, tuple] | None = None, extra_fields: Sequence[tuple[str, Any]] = (),
                    settings: Mapping[str, Any] | None = None) -> Comparison:
    """Paired comparison of already computed per-prompt results (e.g. from
    :func:`diversity.score`, :func:`diversity.token_entropy` or
    :func:`diversity.attribute_diversity` on both sides).

    ``ra[name]`` and ``rb[name]`` must be per-prompt results; prompts are
    matched by their ``groups`` keys (a prompt missing on one side, or
    undefined on either, is left out of that metric's paired statistics).
    Holm's correction runs across the metrics given.
    """
    check(test, "test", "compare_results", _TESTS)
    la, lb = labels
    if set(ra) != set(rb):
        raise ValueError(f"both sides need the same metrics: {sorted(ra)} vs {sorted(rb)}")
    rows, pvals, prompt_keys = [], [], None
    for key in ra:
        a_res, b_res = ra[key], rb[key]
        if a_res.per_group is None or b_res.per_group is None:
            raise ValueError(f"{key}: paired statistics need per-prompt results (aggregate='per-prompt').")
        pos_b = {g: i for i, g in enumerate(b_res.groups)}
        shared = [g for g in a_res.groups if g in pos_b]
        if prompt_keys is None:
            prompt_keys = tuple(shared)
        shared = [shared[i] for i in canonical_order(shared)]  # statistics never depend on the listing order
        pos_a = {g: i for i, g in enumerate(a_res.groups)}
        va = np.array([a_res.per_group[pos_a[g]] for g in shared], dtype=float)
        vb = np.array([b_res.per_group[pos_b[g]] for g in shared], dtype=float)
        ok = ~(np.isnan(va) | np.isnan(vb))
        va, vb = va[ok], vb[ok]
        d = vb - va
        diff = float(d.mean()) if len(d) else math.nan
        reason = None
        if len(d) < 2:
            reason = (f"defined on {len(d)} of {len(shared)} shared prompts on both sides; paired statistics "
                      "need at least 2")
        diff_ci = None
        if reason is None:
            diff_ci = bootstrap_mean_ci(d, level=ci_level, n_resamples=n_resamples, method="percentile", seed=seed)
        sd = float(d.std(ddof=1)) if len(d) >= 2 else math.nan
        effect = 0.0 if (len(d) >= 2 and sd == 0 and diff == 0) else (diff / sd if sd and sd > 0 else math.nan)
        p = paired_test(va, vb, test, n_resamples, seed) if reason is None else math.nan
        pvals.append(p)
        rows.append(dict(metric=key, higher_is_more_diverse=a_res.higher_is_more_diverse, a=a_res, b=b_res,
                         n_prompts=int(len(d)), diff=diff, diff_ci=diff_ci, effect_size=effect, p_value=p,
                         test=test, reason=reason))
    adjusted = holm(np.array(pvals, dtype=float))
    out_rows = tuple(MetricComparison(p_holm=float(h), **r) for r, h in zip(rows, adjusted))
    test_field = f"{test}-{n_resamples}" if test == "permutation" else test
    sig = format_signature("compare", [("labels", f"{la},{lb}"), ("prompts", len(prompt_keys or ())),
                                       *extra_fields, ("test", test_field), ("adj", "holm"),
                                       ("ci", f"{ci_level:g}-percentile-{n_resamples}")])
    if k is None:
        sizes = [r.a.n_samples // max(r.a.n_groups, 1) for r in out_rows]
        k = min(sizes) if sizes else 0
    return Comparison(labels=(la, lb), rows=out_rows, prompts=prompt_keys or (),
                      missing=dict(missing or {la: (), lb: ()}), k=k,
                      mean_tokens=dict(mean_tokens or {la: math.nan, lb: math.nan}), signature=sig, alpha=alpha,
                      settings={"test": test, "seed": seed, "n_resamples": n_resamples, "ci_level": ci_level,
                                **(settings or {})})


def compare_many(models: Mapping[str, Any], reference: str, metrics: Sequence[Union[str, Metric]] =
                 DEFAULT_COMPARE_METRICS, **kwargs: Any) -> dict[str, Comparison]:
    """Compare several models (e.g. base, SFT, DPO, RLHF) each against ``reference``.

    Every comparison uses the same settings and the same k (the smallest
    over all models), so the rows are comparable across models. Holm's
    correction is applied within each comparison (across its metrics).

    Returns
    -------
    dict
        ``label -> Comparison`` of that model against the reference.
    """
    if reference not in models:
        raise InvalidParameterError(f"reference {reference!r} is not among the models {list(models)!r}.")
    if len(models) < 2:
        raise ValueError("compare_many needs the reference and at least one other model.")
    if kwargs.get("k") is None:
        maps = {lab: _as_prompt_map(m, lab) for lab, m in models.items()}
        common = [p for p in maps[reference] if all(p in m for m in maps.values())]
        if not common:
            raise ValueError("the models have no prompt in common.")
        kwargs["k"] = min(len(m[p]) for m in maps.values() for p in common)
    objs = [resolve_metric(m) for m in metrics]
    if kwargs.get("embedder") is None and any(m.input == "vectors" for m in objs):
        kwargs["embedder"] = next(m for m in objs if m.input == "vectors").default_embedder()
    return {lab: compare(models[reference], m, metrics, labels=(reference, lab), **kwargs)
            for lab, m in models.items() if lab != reference}
