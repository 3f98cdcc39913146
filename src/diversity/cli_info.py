"""The command line's informational subcommands: ``diversity metrics [NAME]``, ``diversity cite``
and ``diversity demo`` (split from :mod:`diversity.cli`, which builds the parser and runs the
scoring subcommands)."""

from __future__ import annotations

import argparse


def _plain(text: str) -> str:
    """A docstring's reST as plain terminal text (``code``, *emphasis*, :func:`name` and $math$ unmarked)."""
    import re

    text = re.sub(r":(?:py:)?\w+:`~?([^`]+)`", r"\1", text)
    return re.sub(r"``([^`]+)``|\*([^*\s][^*]*)\*", lambda m: m.group(1) or m.group(2), text)


def _metric_class(name: str):
    """The registered class a name means: a spec (``vendi``, ``distinct-2``), a name template
    (``distinct-<n>``), a card name (``distinct-n``) or a function (``distinct_n``)."""
    import re

    from .core.registry import from_spec, metric_classes

    wanted = name.strip().lower()
    for cls in metric_classes():
        template = cls.name.replace("{", "<").replace("}", ">")
        if wanted in (template, cls.func, cls.__name__.lower(), re.sub(r"\{(\w+)\}", r"\1", cls.name)):
            return cls
    return type(from_spec(name))  # a spec, or the registry's error with its "did you mean"


def _cmd_metrics(args: argparse.Namespace) -> int:
    import shutil
    import textwrap

    import diversity
    from .core.params import REQUIRED, Choice
    from .core.registry import metric_classes

    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))
    if args.name:
        cls = _metric_class(args.name)
        print(_metric_page(cls, width))
        return 0
    rows = []
    for cls in metric_classes():
        params = [f"{p.name}={p.constraint.format(p.default) if p.default is not REQUIRED else '?'}"
                  for p in cls.params if not p.in_name]
        params += [f"<{p.name}>: {'|'.join(p.constraint.options)}" for p in cls.params
                   if p.in_name and isinstance(p.constraint, Choice)]
        name = cls.name.replace("{", "<").replace("}", ">")
        direction = ("higher" if cls.higher_is_more_diverse else "lower") if cls.diversity else "(rate)"
        summary = _plain((getattr(diversity, cls.func).__doc__ or "").strip().split("\n\n")[0].replace("\n", " "))
        rows.append((name, direction, summary, "; ".join(params)))
    w = max(len(r[0]) for r in rows) + 2
    indent = " " * (w + 10)
    print(f"{'metric':<{w}} {'diverse':<8} summary (parameters)")
    print(f"{'-' * (w - 2):<{w}} {'-' * 7:<8} {'-' * (width - w - 10)}")
    for name, direction, summary, params in rows:
        lines = textwrap.wrap(summary, width - len(indent)) or [""]
        print(f"{name:<{w}} {direction:<8} {lines[0]}")
        for line in lines[1:]:
            print(indent + line)
        if params:
            print(textwrap.fill(f"({params})", width, initial_indent=indent, subsequent_indent=indent))
    print("\ndiverse: which way is more diverse ((rate): reported beside diversity). <n>: an integer in the name "
          "(distinct-2); other parameters go after '?' (ead-2?vocab_size=32000). `diversity metrics NAME` shows "
          "one metric.")
    return 0


def _metric_page(cls, width: int) -> str:
    """One metric for the terminal: what the metric card's generated sections say."""
    import inspect
    import re
    import textwrap

    import diversity
    from .core.params import REQUIRED
    from .report.citations import reference_line

    doc = inspect.cleandoc(getattr(diversity, cls.func).__doc__ or "")
    prose = doc.split("\nParameters\n")[0].strip()
    name = cls.name.replace("{", "<").replace("}", ">")
    direction = ("higher = more diverse" if cls.higher_is_more_diverse else "lower = more diverse") \
        if cls.diversity else "a rate reported beside diversity"
    out = [name, "=" * len(name), "",
           f"function   diversity.{cls.func}", f"class      diversity.{cls.__name__}",
           f"direction  {direction}", f"input      {cls.input}",
           f"length     {'moves with completion length' if cls.length_sensitive else 'not length-sensitive'}", ""]
    for para in _plain(prose).split("\n\n"):
        if not para.strip():
            continue
        lines = para.splitlines()
        if any(line.startswith((" ", "-")) for line in lines[1:]) or para.lstrip().startswith(".. math"):
            para = para.replace(".. math::", "").rstrip("\n ")
            out += [para.strip("\n"), ""] if para.strip() else []  # formulas and lists as written
        else:
            out += [textwrap.fill(" ".join(x.strip() for x in lines), width), ""]
    if cls.params:
        out += ["Parameters", "----------"]
        pw = max(len(p.name) for p in cls.params) + 2
        for p in cls.params:
            default = "required" if p.default is REQUIRED else p.constraint.format(p.default)
            defaults = {q.name: q.default for q in cls.params}
            where = "in the name" if p.in_name else \
                re.sub(r"\{(\w+)\}", lambda m: str(defaults[m.group(1)]), cls.name) + f"?{p.name}=..."
            out.append(f"{p.name:<{pw}}default {default}; {p.constraint.describe()}; {where}")
            if p.doc:
                out.append(textwrap.fill(_plain(p.doc), width, initial_indent=" " * pw, subsequent_indent=" " * pw))
        out.append("")
    out += ["References", "----------"] + [textwrap.fill(reference_line(k), width, subsequent_indent="  ")
                                            for k in cls.references]
    spec = name.replace("<n>", "2").replace("<measure>", "entropy")
    out += ["", f"BibTeX: diversity cite {spec}. Card: docs/metrics/ on the documentation site."]
    return "\n".join(out)


def _cmd_cite(args: argparse.Namespace) -> int:
    from .core.registry import available_metrics, resolve_metric
    from .report.citations import LIBRARY_KEY, bibtex_for, library_bibtex

    asked = [m for m in args.metrics if m != LIBRARY_KEY]
    for name in asked:
        resolve_metric(name)  # an unknown metric is an error (exit 2), not an empty answer
    if args.all or not args.metrics:  # the library and every metric
        entries = [library_bibtex(), bibtex_for([m.replace("<n>", "2") for m in available_metrics()])]
    else:  # exactly what was asked, in order
        entries = [library_bibtex()] if LIBRARY_KEY in args.metrics else []
        entries.append(bibtex_for(asked))
    print("\n\n".join(e for e in entries if e))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .cli import _embedder, _metrics, _quiet_output
    from .compare import compare
    from .io.datasets import example_path, load_example

    if args.save_samples is not None:  # only copy the bundled files, to try the other commands on
        import shutil
        from pathlib import Path

        out = Path(args.save_samples)
        out.mkdir(parents=True, exist_ok=True)
        for side in ("base", "aligned"):
            src = example_path(side)
            for suffix in ("", ".meta.json"):
                target = out / f"{side}.jsonl{suffix}"
                shutil.copyfile(f"{src}{suffix}", target)
            print(out / f"{side}.jsonl")
        return 0
    metrics = _metrics(["distinct-1", "distinct-2", "ngram-entropy-2", "self-bleu", "unique-fraction",
                        "compression-ratio", "mean-pairwise-distance", "vendi", "semantic-clusters"], ())
    print("Demo: the bundled sample set, 40 open-ended prompts x 8 completions sampled at temperature 1.0 from\n"
          "gemma-3-270m (base) and SmolLM2-135M-Instruct (aligned); semantic metrics use all-MiniLM-L6-v2.\n"
          "The two models differ in family and size as well as alignment "
          "(see src/diversity/io/data/README.md).\n")
    base, aligned = load_example("base"), load_example("aligned")
    with _quiet_output(args.quiet):
        c = compare(base, aligned, metrics, labels=("base", "aligned"), embedder=_embedder(args, metrics))
    print(c.to_markdown())
    print()
    print(c.summary())
    return 0
