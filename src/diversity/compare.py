"""Base vs aligned: paired comparison of two models over the same prompts.

``compare(a, b, metrics)`` scores both sides per prompt and, for every
metric, reports each side's value with a bootstrap CI over prompts, the
paired difference (b − a) with its CI, a paired test over prompts (sign-flip
permutation test by default, Wilcoxon signed-rank as an option), Cohen's d_z
and Holm-corrected p-values across the metrics compared.

Fairness by default: both sides are cut to the same number of completions
per prompt (seeded subsampling without replacement; every metric depends on
k), and optionally to the same token budget per completion, because length
drives lexical metrics; a warning is raised when mean lengths differ by more
than 1.5x.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Hashable, Mapping, Sequence, Union

import numpy as np

from ._citations import bibtex
from ._errors import InvalidParameterError
from ._engine import Metric
from ._result import ConfidenceInterval, DiversityResult, _jsonable, format_signature
from ._stats import bootstrap_mean_ci, canonical_order, key_rng, text_order
from ._validate import as_groups, check_choice, check_int, check_real
from .score import resolve_metric, score
from .tokenize import Tokenizer, get_tokenizer

__all__ = ["compare", "compare_many", "compare_results", "Comparison", "MetricComparison", "LengthMismatchWarning",
           "DEFAULT_COMPARE_METRICS"]

DEFAULT_COMPARE_METRICS = ("distinct-1", "distinct-2", "ngram-entropy-2", "self-bleu", "unique-fraction",
                           "compression-ratio")


class LengthMismatchWarning(UserWarning):
    """The two sides' completions differ much in length, which moves lexical metrics."""


@dataclass(frozen=True)
class MetricComparison:
    """One metric, both sides, and their paired difference over prompts."""

    metric: str
    higher_is_more_diverse: bool
    a: DiversityResult
    b: DiversityResult
    n_prompts: int
    diff: float
    diff_ci: ConfidenceInterval | None
    effect_size: float
    p_value: float
    p_holm: float
    test: str
    reason: str | None = None  # why the paired statistics are undefined (None when they are defined)

    def verdict(self, alpha: float = 0.05) -> str:
        """``"less diverse"``, ``"more diverse"`` (b relative to a), ``"no significant difference"``,
        or ``"undefined"`` (see :attr:`reason`)."""
        if self.reason is not None:
            return "undefined"
        if not (self.p_holm < alpha) or self.diff == 0 or math.isnan(self.diff):
            return "no significant difference"
        more = (self.diff > 0) == self.higher_is_more_diverse
        return "more diverse" if more else "less diverse"

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "higher_is_more_diverse": self.higher_is_more_diverse,
            "a": self.a.to_dict(), "b": self.b.to_dict(), "n_prompts": self.n_prompts,
            "diff": _jsonable(self.diff), "diff_ci": self.diff_ci.to_dict() if self.diff_ci else None,
            "effect_size_dz": _jsonable(self.effect_size), "p_value": _jsonable(self.p_value),
            "p_holm": _jsonable(self.p_holm), "test": self.test, "verdict": self.verdict(),
            "reason": self.reason,
        }


def _stars(p: float) -> str:
    if math.isnan(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def _fmt_p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`: one :class:`MetricComparison` per metric."""

    labels: tuple[str, str]
    rows: tuple[MetricComparison, ...]
    prompts: tuple[Hashable, ...]
    missing: Mapping[str, tuple[Hashable, ...]]
    k: int
    mean_tokens: Mapping[str, float]
    signature: str
    alpha: float = 0.05
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, metric: str) -> MetricComparison:
        for r in self.rows:
            if r.metric == metric or r.a.metric == metric:
                return r
        raise KeyError(metric)

    @property
    def signatures(self) -> dict[str, str]:
        return {r.metric: r.a.signature for r in self.rows}

    def summary(self) -> str:
        """One sentence per metric, direction-aware."""
        a, b = self.labels
        lines = []
        for r in self.rows:
            v = r.verdict(self.alpha)
            if v == "undefined":
                lines.append(f"{r.metric}: undefined ({r.reason}).")
                continue
            ci = f" (95% CI {_fmt(r.diff_ci.low, 4)} to {_fmt(r.diff_ci.high, 4)})" if r.diff_ci else ""
            what = f"{b} is {v} than {a}" if v != "no significant difference" else f"no significant difference between {b} and {a}"
            lines.append(f"{r.metric}: {what}; difference {b} - {a} = {r.diff:+.4g}{ci}, "
                         f"d_z = {_fmt(r.effect_size, 2)}, p = {_fmt_p(r.p_value)} (Holm {_fmt_p(r.p_holm)}), "
                         f"over {r.n_prompts} prompts.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels), "k": self.k, "alpha": self.alpha, "signature": self.signature,
            "prompts": _jsonable(list(self.prompts)), "missing": _jsonable(dict(self.missing)),
            "mean_tokens": _jsonable(dict(self.mean_tokens)), "settings": _jsonable(dict(self.settings)),
            "metrics": [r.to_dict() for r in self.rows],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def to_frame(self):
        """A pandas DataFrame, one row per metric (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover
            raise ImportError("to_frame() needs pandas: pip install pandas") from e
        a, b = self.labels
        return pd.DataFrame([{
            "metric": r.metric, "higher_is_more_diverse": r.higher_is_more_diverse,
            a: r.a.value, f"{a}_ci_low": r.a.ci.low if r.a.ci else np.nan, f"{a}_ci_high": r.a.ci.high if r.a.ci else np.nan,
            b: r.b.value, f"{b}_ci_low": r.b.ci.low if r.b.ci else np.nan, f"{b}_ci_high": r.b.ci.high if r.b.ci else np.nan,
            "diff": r.diff, "diff_ci_low": r.diff_ci.low if r.diff_ci else np.nan,
            "diff_ci_high": r.diff_ci.high if r.diff_ci else np.nan, "effect_size_dz": r.effect_size,
            "p_value": r.p_value, "p_holm": r.p_holm, "verdict": r.verdict(self.alpha), "n_prompts": r.n_prompts,
            "signature": r.a.signature,
        } for r in self.rows]).set_index("metric")

    def _cells(self, r: MetricComparison, latex: bool):
        def val(res: DiversityResult) -> str:
            if res.ci is None:
                return _fmt(res.value)
            return f"{_fmt(res.value)} [{_fmt(res.ci.low)}, {_fmt(res.ci.high)}]"

        arrow = ("$\\uparrow$" if r.higher_is_more_diverse else "$\\downarrow$") if latex else \
            ("↑" if r.higher_is_more_diverse else "↓")
        diff = f"{r.diff:+.3f}"
        if r.diff_ci:
            diff += f" [{r.diff_ci.low:+.3f}, {r.diff_ci.high:+.3f}]"
        stars = _stars(r.p_holm)
        if latex and stars:
            stars = f"$^{{{stars}}}$"
        p_cell = "undefined" if r.reason is not None else _fmt_p(r.p_holm) + stars
        return [r.metric, arrow, val(r.a), val(r.b), diff, _fmt(r.effect_size, 2), p_cell]

    def to_markdown(self) -> str:
        """A Markdown table with CIs, effect sizes, Holm p-values and footnotes."""
        a, b = self.labels
        head = ["metric", "", f"{a} (95% CI)", f"{b} (95% CI)", f"{b} − {a} (95% CI)", "d_z", "p (Holm)"]
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 5) + "|"]
        for r in self.rows:
            lines.append("| " + " | ".join(self._cells(r, False)) + " |")
        lines.append("")
        lines.append(f"↑/↓: higher/lower is more diverse. {len(self.prompts)} prompts, k = {self.k} completions "
                     f"per prompt per side. CIs: bootstrap over prompts. p: {self.settings.get('test')} test over "
                     "prompts, Holm-corrected across metrics; * p<0.05, ** p<0.01, *** p<0.001.")
        lines.append(f"Mean tokens per completion: {a} {_fmt(self.mean_tokens[a], 1)}, "
                     f"{b} {_fmt(self.mean_tokens[b], 1)}.")
        lines.append("")
        lines.append(f"Comparison: `{self.signature}`")
        for r in self.rows:
            lines.append(f"- `{r.a.signature}`")
        return "\n".join(lines)

    def to_latex(self, caption: str | None = None, label: str | None = None) -> str:
        """A booktabs table (needs ``\\usepackage{booktabs}``)."""
        a, b = self.labels

        def esc(s: str) -> str:
            return re.sub(r"([_%&#])", r"\\\1", s)

        head = ["Metric", "", esc(a), esc(b), f"{esc(b)} $-$ {esc(a)}", "$d_z$", "$p_{\\mathrm{Holm}}$"]
        out = ["\\begin{table}[t]", "\\centering", "\\small", "\\begin{tabular}{llrrrrr}", "\\toprule",
               " & ".join(head) + " \\\\", "\\midrule"]
        for r in self.rows:
            cells = self._cells(r, True)
            cells[0] = esc(cells[0])
            cells[6] = cells[6].replace("<", "$<$")
            out.append(" & ".join(cells) + " \\\\")
        out += ["\\bottomrule", "\\end{tabular}"]
        note = (f"{len(self.prompts)} prompts, $k={self.k}$ completions per prompt per side; values with 95\\% "
                f"bootstrap CIs over prompts; $p$: {esc(str(self.settings.get('test')))} test over prompts, "
                "Holm-corrected; $^{*}p<0.05$, $^{**}p<0.01$, $^{***}p<0.001$. $\\uparrow$/$\\downarrow$: "
                "higher/lower is more diverse.")
        out.append(f"\\caption{{{esc(caption) + ' ' if caption else ''}{note}}}")
        if label:
            out.append(f"\\label{{{label}}}")
        out.append("\\end{table}")
        return "\n".join(out)

    def cite(self) -> str:
        """BibTeX for every metric compared (and for arXiv 2406.05587)."""
        from ._citations import CITATIONS

        return bibtex([r.metric for r in self.rows]) + "\n\n" + CITATIONS["mohammadi2024creativity"]

    def __repr__(self) -> str:
        return f"<Comparison {self.labels[1]} vs {self.labels[0]}: {len(self.rows)} metrics, " \
               f"{len(self.prompts)} prompts, k={self.k}>\n" + self.summary()


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN stays NaN)."""
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if len(ok) == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        out[idx] = running
    return out


def _paired_test(a: np.ndarray, b: np.ndarray, test: str, n_resamples: int, seed: int) -> float:
    """p-value of the paired test; ``a`` and ``b`` must be in canonical prompt order."""
    from scipy import stats

    d = b - a
    if len(d) < 2:
        return math.nan
    if np.all(d == 0):
        return 1.0
    if test == "wilcoxon":
        return float(stats.wilcoxon(b, a, zero_method="wilcox").pvalue)

    def mean_diff(x, y, axis):
        return np.mean(x - y, axis=axis)

    batch = max(1, min(n_resamples, (1 << 22) // len(d)))  # bounded memory, the same p-value
    res = stats.permutation_test((b, a), mean_diff, permutation_type="samples", vectorized=True,
                                 n_resamples=n_resamples, alternative="two-sided", rng=np.random.default_rng(seed),
                                 batch=batch)
    return float(res.pvalue)


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


def compare(a: Any, b: Any, metrics: Sequence[Union[str, Metric]] = DEFAULT_COMPARE_METRICS, *,
            labels: tuple[str, str] = ("base", "aligned"), k: int | None = None, max_tokens: int | None = None,
            test: str = "permutation", alpha: float = 0.05, embedder: Any = None,
            tokenizer: Union[str, Tokenizer] = "unicode", lowercase: bool = False, ci_level: float = 0.95,
            n_resamples: int = 10_000, seed: int = 0) -> Comparison:
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
        replacement, seeded (``k:<k>-sub-seed<s>`` in the signature).
    max_tokens : int or None
        Length control: cut every completion after this many tokens.
    test : {"permutation", "wilcoxon"}
        Paired test over prompts: sign-flip permutation test on the mean
        difference (exact for up to ~13 prompts), or scipy's Wilcoxon
        signed-rank test.
    alpha : float, default 0.05
        Level for the verdicts (on Holm-corrected p-values).
    embedder, tokenizer, lowercase, ci_level, n_resamples, seed
        As in :func:`diversity.score`; ``n_resamples`` also sets the
        permutation test's resamples.

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
    check_choice(test, "test", "compare", ("permutation", "wilcoxon"))
    check_real(alpha, "alpha", "compare", low=0.0, high=1.0, low_open=True, high_open=True)
    check_int(seed, "seed", "compare", low=0)
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
        warnings.warn(f"prompts missing on one side are left out: {len(missing[lb])} missing in {lb!r}, "
                      f"{len(missing[la])} missing in {la!r} (see Comparison.missing).", UserWarning, stacklevel=2)
    smallest = min(min(len(ma[p]), len(mb[p])) for p in common)
    if k is None:
        k = smallest
    else:
        check_int(k, "k", "compare")
        if k > smallest:
            raise InvalidParameterError(f"k={k} is larger than the smallest set ({smallest} completions); "
                             "every prompt needs k completions on both sides.")
    tok = get_tokenizer(tokenizer)

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
        check_int(max_tokens, "max_tokens", "compare")
    sa, sb = cut(ma, "a"), cut(mb, "b")
    mean_tokens = {}
    for lab, s in ((la, sa), (lb, sb)):
        lens = [len(tok(t.lower() if lowercase else t)) for ts in s.values() for t in ts]
        mean_tokens[lab] = float(np.mean(lens))
    lo, hi = sorted(mean_tokens.values())
    if lo > 0 and hi / lo > 1.5 and max_tokens is None:
        longer = max(mean_tokens, key=mean_tokens.get)
        warnings.warn(f"{longer!r} completions are {hi / lo:.1f}x longer on average ({mean_tokens[la]:.1f} vs "
                      f"{mean_tokens[lb]:.1f} tokens); lexical metrics depend on length. Consider max_tokens= "
                      "or length-adjusted metrics (EAD).", LengthMismatchWarning, stacklevel=2)
    objs = [resolve_metric(m) for m in metrics]
    if embedder is None and any(getattr(m, "uses_embeddings", False) for m in objs):
        from .embed import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()  # one model load for both sides
    common_kw = dict(embedder=embedder, tokenizer=tok, lowercase=lowercase, aggregate="per-prompt",
                     ci=None, ci_level=ci_level, n_resamples=n_resamples, seed=seed)
    ra = score(sa, objs, **common_kw)
    rb = score(sb, objs, **common_kw)
    return compare_results(ra, rb, labels=(la, lb), test=test, alpha=alpha, ci_level=ci_level,
                           n_resamples=n_resamples, seed=seed, k=k, mean_tokens=mean_tokens, missing=missing,
                           extra_fields=[("k", f"{k}-sub-seed{seed}"),
                                         ("len", f"trunc{max_tokens}" if max_tokens else "full")],
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
    check_choice(test, "test", "compare_results", ("permutation", "wilcoxon"))
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
        p = _paired_test(va, vb, test, n_resamples, seed) if reason is None else math.nan
        pvals.append(p)
        rows.append(dict(metric=key, higher_is_more_diverse=a_res.higher_is_more_diverse, a=a_res, b=b_res,
                         n_prompts=int(len(d)), diff=diff, diff_ci=diff_ci, effect_size=effect, p_value=p,
                         test=test, reason=reason))
    holm = _holm(np.array(pvals, dtype=float))
    out_rows = tuple(MetricComparison(p_holm=float(h), **r) for r, h in zip(rows, holm))
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
    if kwargs.get("embedder") is None and any(getattr(resolve_metric(m), "uses_embeddings", False) for m in metrics):
        from .embed import SentenceTransformerEmbedder

        kwargs["embedder"] = SentenceTransformerEmbedder()
    return {lab: compare(models[reference], m, metrics, labels=(reference, lab), **kwargs)
            for lab, m in models.items() if lab != reference}
