"""Command line: a thin layer over the library (same numbers, same signatures).

    diversity score FILE [--metrics ...] [--aggregate per-prompt|pooled] [--format table|json|csv|markdown|latex]
    diversity compare A B [--labels base aligned] [--metrics ...] [--plot forest.png] [--format ...]
    diversity metrics
    diversity cite [METRIC ...]
    diversity demo

Results go to stdout; progress bars (long embedding runs) to stderr, only on a
terminal and never with --quiet. Exit codes: 0 ok; 2 bad usage or bad input,
with a one-line message (naming file and line for malformed sample files).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import sys
import warnings
from typing import Any, Sequence

from ._version import __version__


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    return f"{x:.4f}"


def _score_table(results: dict, fmt: str, title: str | None = None) -> str:
    rows = []
    for key, r in results.items():
        rows.append({
            "metric": key, "value": r.value, "ci_low": r.ci.low if r.ci else None,
            "ci_high": r.ci.high if r.ci else None, "std": r.std, "n_samples": r.n_samples, "n_groups": r.n_groups,
            "more_diverse": "higher" if r.higher_is_more_diverse else "lower", "signature": r.signature,
        })
    if fmt == "json":
        return json.dumps({k: r.to_dict() for k, r in results.items()}, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return buf.getvalue().rstrip("\n")
    if fmt == "markdown":
        out = ["| metric | value | 95% CI | more diverse | signature |", "|---|---:|---:|---|---|"]
        for row in rows:
            ci = f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]" if row["ci_low"] is not None else ""
            out.append(f"| {row['metric']} | {_fmt(row['value'])} | {ci} | {row['more_diverse']} | "
                       f"`{row['signature']}` |")
        return "\n".join(out)
    if fmt == "latex":
        out = ["\\begin{tabular}{lrrl}", "\\toprule", "Metric & Value & 95\\% CI & More diverse \\\\", "\\midrule"]
        for row in rows:
            ci = f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]" if row["ci_low"] is not None else ""
            out.append(f"{row['metric']} & {_fmt(row['value'])} & {ci} & {row['more_diverse']} \\\\")
        out += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(out)
    lines = [title] if title else []
    lines.append(f"{'metric':<24} {'value':>9}  {'95% CI':>19}  {'dir':<6} signature")
    for row in rows:
        ci = f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]" if row["ci_low"] is not None else ""
        lines.append(f"{row['metric']:<24} {_fmt(row['value']):>9}  {ci:>19}  {row['more_diverse']:<6} "
                     f"{row['signature']}")
    lines.append("(dir: which way is more diverse)")
    return "\n".join(lines)


def _embedder(args: argparse.Namespace, metrics: Sequence[str]):
    from .score import resolve_metric

    if not any(getattr(resolve_metric(m), "uses_embeddings", False) for m in metrics):
        return None
    from .embed import SentenceTransformerEmbedder

    cache = False if getattr(args, "no_cache", False) else (getattr(args, "cache_dir", None) or True)
    return SentenceTransformerEmbedder(args.model, cache=cache, progress=False if args.quiet else None)


def _load(path: str, args: argparse.Namespace):
    from .io import load_samples

    samples = load_samples(path, prompt_field=None if args.no_prompt else args.prompt_field,
                           completion_field=args.completion_field, format=args.format_in,
                           encoding=args.encoding)
    return samples[None] if args.no_prompt else samples


def _cmd_score(args: argparse.Namespace) -> int:
    from .score import DEFAULT_METRICS, score

    samples = _load(args.file, args)
    metrics = args.metrics or list(DEFAULT_METRICS)
    with _warnings_to_stderr(args.quiet):
        results = score(samples, metrics, tokenizer=args.tokenizer, lowercase=args.lowercase,
                        aggregate=args.aggregate, seed=args.seed, embedder=_embedder(args, metrics))
    print(_score_table(results, args.format))
    return 0


@contextlib.contextmanager
def _warnings_to_stderr(quiet: bool):
    """Warnings become one line each on stderr (no source lines), or nothing with --quiet."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if not quiet:
        seen = set()
        for w in caught:
            text = str(w.message)
            if text not in seen:
                seen.add(text)
                print(f"diversity: warning: {text}", file=sys.stderr)


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import DEFAULT_COMPARE_METRICS, compare

    a, b = _load(args.a, args), _load(args.b, args)
    metrics = args.metrics or list(DEFAULT_COMPARE_METRICS)
    with _warnings_to_stderr(args.quiet):
        c = compare(a, b, metrics, labels=tuple(args.labels), k=args.k, max_tokens=args.max_tokens, test=args.test,
                    tokenizer=args.tokenizer, lowercase=args.lowercase, seed=args.seed,
                    embedder=_embedder(args, metrics))
    if args.plot:
        from .plot import plot_forest

        plot_forest(c).savefig(args.plot, dpi=200)
    if args.format == "json":
        print(c.to_json(indent=2))
    elif args.format == "csv":
        buf = io.StringIO()
        rows = [r.to_dict() for r in c.rows]
        la, lb = c.labels
        fields = ["metric", "more_diverse", la, f"{la}_ci_low", f"{la}_ci_high", lb, f"{lb}_ci_low", f"{lb}_ci_high",
                  "diff", "diff_ci_low", "diff_ci_high", "effect_size_dz", "p_value", "p_holm", "verdict",
                  "n_prompts", "signature"]
        w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for r, d in zip(c.rows, rows):
            w.writerow({
                "metric": r.metric, "more_diverse": "higher" if r.higher_is_more_diverse else "lower",
                la: r.a.value, f"{la}_ci_low": r.a.ci.low if r.a.ci else "", f"{la}_ci_high": r.a.ci.high if r.a.ci else "",
                lb: r.b.value, f"{lb}_ci_low": r.b.ci.low if r.b.ci else "", f"{lb}_ci_high": r.b.ci.high if r.b.ci else "",
                "diff": r.diff, "diff_ci_low": r.diff_ci.low if r.diff_ci else "",
                "diff_ci_high": r.diff_ci.high if r.diff_ci else "", "effect_size_dz": r.effect_size,
                "p_value": r.p_value, "p_holm": r.p_holm, "verdict": d["verdict"], "n_prompts": r.n_prompts,
                "signature": r.a.signature})
        print(buf.getvalue().rstrip("\n"))
    elif args.format == "markdown":
        print(c.to_markdown())
    elif args.format == "latex":
        print(c.to_latex())
    else:
        print(c.to_markdown())
        print()
        print(c.summary())
    return 0


def _cmd_metrics(args: argparse.Namespace) -> int:
    from .score import METRIC_INFO, available_metrics

    for name in available_metrics():
        direction, text = METRIC_INFO.get(name, ("?", ""))
        print(f"{name:<24} {direction:<7} {text}")
    print("\n(second column: which way is more diverse; <n> is the n-gram order)")
    return 0


def _cmd_cite(args: argparse.Namespace) -> int:
    from ._citations import CITATIONS, bibtex, references_for
    from .score import available_metrics, resolve_metric

    for name in args.metrics:
        resolve_metric(name)  # an unknown metric is an error (exit 2), not an empty answer
        if not references_for(name.partition("?")[0]):
            raise ValueError(f"no reference is recorded for {name!r}.")
    names = args.metrics or [m.replace("-<n>", "-1") for m in available_metrics()]
    print(bibtex(names) + "\n\n" + CITATIONS["mohammadi2024creativity"])
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .compare import compare
    from .datasets import load_example

    metrics = ["distinct-1", "distinct-2", "ngram-entropy-2", "self-bleu", "unique-fraction", "compression-ratio",
               "mean-pairwise-distance", "vendi", "semantic-clusters"]
    print("Demo: the bundled sample set, 40 open-ended prompts x 8 completions sampled at temperature 1.0 from\n"
          "gemma-3-270m (base) and SmolLM2-135M-Instruct (aligned); semantic metrics use all-MiniLM-L6-v2.\n"
          "The two models differ in family and size as well as alignment "
          "(see src/diversity/datasets/data/README.md).\n")
    base, aligned = load_example("base"), load_example("aligned")
    with _warnings_to_stderr(args.quiet):
        c = compare(base, aligned, metrics, labels=("base", "aligned"), embedder=_embedder(args, metrics))
    print(c.to_markdown())
    print()
    print(c.summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="diversity", description="Output-diversity metrics for LM completions.")
    p.add_argument("--version", action="version", version=f"diversity {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def common(s: argparse.ArgumentParser) -> None:
        s.add_argument("--metrics", nargs="+", default=None, help="metric names (see `diversity metrics`)")
        s.add_argument("--tokenizer", default="unicode")
        s.add_argument("--lowercase", action="store_true")
        s.add_argument("--prompt-field", default="prompt")
        s.add_argument("--completion-field", default="completion")
        s.add_argument("--no-prompt", action="store_true", help="treat each file as one set")
        s.add_argument("--format-in", choices=["jsonl", "csv", "tsv"], default=None,
                       help="input format, for files whose name does not tell (default: from the suffix)")
        s.add_argument("--encoding", default="utf-8", help="text encoding of the input files (default utf-8; "
                       "a byte-order mark overrides it)")
        s.add_argument("--model", default=None, help="sentence-transformers model folder (default all-MiniLM-L6-v2)")
        s.add_argument("--cache-dir", default=None, help="embedding cache folder (default: $DIVERSITY_CACHE_DIR, "
                       "else ~/.cache/diversity)")
        s.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--quiet", action="store_true", help="no progress bars or warnings on stderr")
        s.add_argument("--format", choices=["table", "json", "csv", "markdown", "latex"], default="table")

    s = sub.add_parser("score", help="score a JSONL/CSV sample file")
    s.add_argument("file")
    s.add_argument("--aggregate", choices=["per-prompt", "pooled"], default=None)
    common(s)
    s.set_defaults(func=_cmd_score)

    c = sub.add_parser("compare", help="compare two sample files prompt by prompt (b against a)")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--labels", nargs=2, default=["base", "aligned"])
    c.add_argument("--k", type=int, default=None, help="completions per prompt (default: the smallest)")
    c.add_argument("--max-tokens", type=int, default=None, help="cut completions to this many tokens")
    c.add_argument("--test", choices=["permutation", "wilcoxon"], default="permutation")
    c.add_argument("--plot", default=None, help="write a forest plot (PNG/PDF) of the differences")
    common(c)
    c.set_defaults(func=_cmd_compare)

    m = sub.add_parser("metrics", help="list metrics with direction and definition")
    m.set_defaults(func=_cmd_metrics)

    ci = sub.add_parser("cite", help="print BibTeX for metrics (default: all)")
    ci.add_argument("metrics", nargs="*")
    ci.set_defaults(func=_cmd_cite)

    d = sub.add_parser("demo", help="compare the bundled base and aligned sample sets")
    d.add_argument("--model", default=None, help=argparse.SUPPRESS)
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("diversity: interrupted (embedding chunks already finished are kept in the cache)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, TypeError, OSError, ImportError, KeyError, MemoryError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"diversity: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
