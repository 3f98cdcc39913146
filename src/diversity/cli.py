"""Command line: a thin layer over the library (same numbers, same signatures).

    diversity score FILE [--metrics distinct-2 ...] [--aggregate per-prompt|pooled] [--format table|json]
    diversity metrics
    diversity demo
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from ._version import __version__


def _table(results: dict, title: str | None = None) -> str:
    lines = [title] if title else []
    lines.append(f"{'metric':<22} {'value':>9}  {'95% CI':>19}  {'dir':<6} signature")
    for key, r in results.items():
        ci = f"[{r.ci.low:.4f}, {r.ci.high:.4f}]" if r.ci else ""
        direction = "higher" if r.higher_is_more_diverse else "lower"
        lines.append(f"{key:<22} {r.value:>9.4f}  {ci:>19}  {direction:<6} {r.signature}")
    lines.append("(dir: which way is more diverse)")
    return "\n".join(lines)


def _cmd_score(args: argparse.Namespace) -> int:
    from .io import load_samples
    from .score import DEFAULT_METRICS, score

    samples = load_samples(args.file, prompt_field=None if args.no_prompt else args.prompt_field,
                           completion_field=args.completion_field)
    if args.no_prompt:
        samples = samples[None]
    results = score(samples, args.metrics or DEFAULT_METRICS, tokenizer=args.tokenizer,
                    lowercase=args.lowercase, aggregate=args.aggregate, seed=args.seed)
    if args.format == "json":
        print(json.dumps({k: r.to_dict() for k, r in results.items()}, indent=2))
    else:
        print(_table(results))
    return 0


def _cmd_metrics(args: argparse.Namespace) -> int:
    from .score import available_metrics

    for name in available_metrics():
        print(name)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .datasets import load_handwritten
    from .score import score

    metrics = ["distinct-1", "distinct-2", "ngram-entropy-2", "unique-fraction", "compression-ratio"]
    print("Demo on the bundled HAND-WRITTEN stand-in sets (not model output; see "
          "src/diversity/datasets/data/README.md).\n")
    for side in ("base", "aligned"):
        samples = load_handwritten(side)
        res = score(samples, metrics)
        print(_table(res, f"== {side}: {len(samples)} prompts x {len(next(iter(samples.values())))} completions"))
        print()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="diversity", description="Output-diversity metrics for LM completions.")
    p.add_argument("--version", action="version", version=f"diversity {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("score", help="score a JSONL/CSV sample file")
    s.add_argument("file")
    s.add_argument("--metrics", nargs="+", default=None)
    s.add_argument("--tokenizer", default="unicode")
    s.add_argument("--lowercase", action="store_true")
    s.add_argument("--aggregate", choices=["per-prompt", "pooled"], default=None)
    s.add_argument("--prompt-field", default="prompt")
    s.add_argument("--completion-field", default="completion")
    s.add_argument("--no-prompt", action="store_true", help="treat the file as one set")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--format", choices=["table", "json"], default="table")
    s.set_defaults(func=_cmd_score)

    m = sub.add_parser("metrics", help="list metric names")
    m.set_defaults(func=_cmd_metrics)

    d = sub.add_parser("demo", help="score the bundled example sets")
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as e:
        print(f"diversity: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
