"""Many models at once: :func:`compare_many`, the same design, scoring and analysis as
:func:`~diversity.compare.compare` for every model (equal k within every prompt across all
models; gate and quality decided on the full completions), with one Holm family over the
diversity tests of every pair."""

from __future__ import annotations

from typing import Any, Mapping, Sequence, Union

from ..core.errors import InvalidParameterError, warn
from ..core.metric import Metric
from ..core.options import Options, with_options
from ..core.params import Choice, check
from ..stats.paired import auto_resamples
from .api import (_ALPHA, _PERMUTATIONS, _TESTS, _embed_tables, _length_notes, _resolve, _table_settings,
                  _truncation, score_with, split_encoders)
from .encoders import agreement_of
from .design import Design, Table, build_design
from .fairness import LENGTH_RATIO, parse_length
from .gating import gate_note, pass_rate_result
from .homogeneity import cross_model_homogeneity
from .multi import MultiComparison
from .paired import _assemble, families, holm_by_family, paired_rows
from .result import Comparison, LengthMismatchWarning
from .scoring import EmbeddingStore

__all__ = ["compare_many"]


@with_options("text", "ci")
def compare_many(models: Mapping[str, Any], reference: str | None = None,
                 metrics: Sequence[Union[str, Metric]] | None = None, *, pairs: str = "reference",
                 k: int | None = None, length: str = "full", max_tokens: int | None = None, test: str = "permutation",
                 permutations: int | None = None, alpha: float = 0.05, embedder: Any = None, gate: Any = None,
                 quality: Any = None, options: Options) -> MultiComparison:
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
    metrics, k, length, max_tokens, test, permutations, alpha, embedder, gate, quality
        As in :func:`compare`: one design for every model (equal k within
        every prompt across all models; with a gate, each comparison's
        ``gated`` holds the comparison on the completions that pass, with
        pass-rate rows, corrected over every pair as one family). With two
        embedders (``embedder=[e1, e2]``) every comparison's ``encoders``
        holds its comparison under ``e2`` (the semantic metrics scored again,
        everything else shared, one Holm family over every pair as under
        ``e1``) and the encoder agreement.
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
    check(permutations, "permutations", "compare_many", _PERMUTATIONS)
    objs = _resolve(metrics)
    embedder, second = split_encoders(embedder, objs, "compare_many")
    mode, n = parse_length(length, max_tokens, "compare_many")
    design = build_design(dict(models), k=k, mode=mode, n=n, options=options, func="compare_many",
                          quality=quality, gate=gate)
    labels = list(design.labels)
    if pairs == "reference":
        pair_list = [(reference, lab) for lab in labels if lab != reference]
    else:
        pair_list = [(x, y) for i, x in enumerate(labels) for y in labels[i + 1:]]
    store = _embed_tables([design.all, design.gated], objs, embedder)
    b = options.bootstrap
    n_div = sum(m.is_diversity for m in objs)
    n_tests = n_div * len(pair_list)
    permutations = permutations or auto_resamples(max(n_tests, 1), minimum=b.n_resamples)
    main = design.all
    mean_tok = main.mean_tokens(options.tokenizer, options.lowercase)
    out, results = _many(main, mean_tok, objs, design, pair_list, pairs, test, permutations, alpha, options, store)
    store2 = _embed_tables([design.all, design.gated], objs, second) if second is not None else None
    if second is not None:
        out2, _ = _many(main, mean_tok, objs, design, pair_list, pairs, test, permutations, alpha, options,
                        store2, reuse=results)
        out = {key: c.with_rows(c.rows, encoders=agreement_of(c, out2[key])) for key, c in out.items()}
    if any(max(mean_tok[x], mean_tok[y]) > LENGTH_RATIO * min(mean_tok[x], mean_tok[y]) for x, y in pair_list):
        warn("some models' completions differ in mean length by more than 1.5x "
             f"({', '.join(f'{lab} {mean_tok[lab]:.1f}' for lab in labels)} tokens); metrics whose classes declare "
             "them length-sensitive depend on length: compare with length='match' too.", LengthMismatchWarning)
    if design.gated is not None:
        g = design.gated
        tok = g.mean_tokens(options.tokenizer, options.lowercase)
        gated, res_g = _many(g, tok, objs, design, pair_list, pairs, test, permutations, alpha, options, store,
                             pass_rates=True)
        if store2 is not None:  # the second encoder on the gated table too
            gated2, _ = _many(g, tok, objs, design, pair_list, pairs, test, permutations, alpha, options, store2,
                              pass_rates=True, reuse=res_g)
            gated = {key: c.with_rows(c.rows, encoders=agreement_of(c, gated2[key])) for key, c in gated.items()}
        out = {key: c.with_rows(c.rows, gated=gated[key], gate_note=gate_note(c, gated[key], g.gate, alpha))
               for key, c in out.items()}
    return MultiComparison(reference=reference, comparisons=out, pairs=pairs, alpha=alpha, holm_family=n_tests,
                           mean_tokens=dict(mean_tok))


def _many(table: Table, mean_tok: Mapping[str, float], objs: Sequence[Metric], design: Design,
          pair_list: Sequence[tuple[str, str]], pairs: str, test: str, permutations: int, alpha: float,
          options: Options, store: EmbeddingStore | None, pass_rates: bool = False,
          reuse: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[dict[Any, Comparison], dict]:
    """Every pair's comparison on one table: one Holm family over the diversity tests of every pair,
    the rates in a family of their own; and the results scored (``reuse``: as in ``score_with``)."""
    results = score_with(table, objs, options, store, None, reuse)
    if pass_rates:
        for lab in design.labels:
            pr = pass_rate_result(design, lab, options)
            results[lab] = {**results[lab], pr.metric: pr}
    props = {m.spec: {"length_sensitive": m.length_sensitive, "diversity": m.is_diversity} for m in objs}
    props.update({key: {"length_sensitive": False, "diversity": False}
                  for key in results[design.labels[0]] if key.startswith("pass-rate?")})
    b = options.bootstrap
    raw = {pair: paired_rows(results[pair[0]], results[pair[1]], test, permutations, b, props) for pair in pair_list}
    all_rows = [r for rows, *_ in raw.values() for r in rows]
    fam = families(all_rows)
    p_all = holm_by_family([r["p_value"] for r in all_rows], fam)
    out, start = {}, 0
    notes = _length_notes(objs, results)
    for pair, (rows, prompts, any_exact, all_exact) in raw.items():
        p = p_all[start:start + len(rows)]
        local = {name: [i - start for i in idx if start <= i < start + len(rows)] for name, idx in fam.items()}
        start += len(rows)
        settings = _table_settings(design, table, mean_tok, pair, {
            **_truncation(store, table, pair, f"compare_many ({pair[1]} vs {pair[0]})"),
            "length_notes": {m: {lab: v for lab, v in per.items() if lab in pair} for m, per in notes.items()}})
        if table.gate is not None:
            settings["gate"] = table.gate
        c = _assemble(rows, p, local, prompts, any_exact, all_exact, labels=pair, test=test,
                      permutations=permutations, alpha=alpha, bootstrap=b, k_field=table.k_field(),
                      k=table.k_range[0], context=table.context(), missing=design.missing, mean_tokens=mean_tok,
                      settings=settings, holm_family=len(fam["diversity"]), rates_family=len(fam["rates"]),
                      what="compare_many", announce=pair == pair_list[0])
        c = c.with_rows(c.rows, length_warning=max(mean_tok[pair[0]], mean_tok[pair[1]])
                        > LENGTH_RATIO * min(mean_tok[pair[0]], mean_tok[pair[1]]))
        if store is not None:
            vec = {lab: {q: store.rows([t for t in table.texts[lab][q] if t.strip()]) for q in table.prompts}
                   for lab in pair}
            c = c.with_rows(c.rows, cross_model=cross_model_homogeneity(
                vec[pair[0]], vec[pair[1]], ci_level=b.confidence_level, n_resamples=b.n_resamples, seed=b.seed))
        out[pair[1] if pairs == "reference" else pair] = c
    return out, results
