"""MkDocs hooks: the pages and sections of the site that are generated from the code.

At build time (``make docs``, ``mkdocs build --strict``):

* ``api/*.md``: the API reference, one ``::: diversity.<name>`` per name of
  ``diversity.__all__`` (grouped by role), plus the helpers the tutorial uses;
* ``metrics/index.md``: every registered metric with its card, function, class,
  direction and input; every card gets a generated section "From the code":
  the formula from the function's docstring, the example signature and its
  keys, and any BibTeX of the metric's references that the card does not show;
* ``signatures.md``: its key table is replaced by ``keys_table()`` (a warning,
  so a failed ``--strict`` build, if the page was stale);
* ``citing.md``: ``CITATION.cff`` and the output of ``diversity cite --all``;
* ``tutorial.ipynb``: executed top to bottom with nbclient (a cell error fails
  the build), cached in ``build/docs-cache`` by the hash of the notebook and the
  library's sources, and rendered with its outputs by mkdocs-jupyter;
* ``assets/mathjax/tex-svg.js``: MathJax 3 from the ``django-static-mathjax``
  wheel, so formulas render without a network.

Every problem is logged as a warning: with ``--strict`` the build fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import io
import logging
import os
import re
import sys
import time
import warnings
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))
from griffe_rst import rst_to_markdown  # noqa: E402

log = logging.getLogger("mkdocs.hooks.diversity")
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "build" / "docs-cache"
TUTORIAL = "tutorial.ipynb"

# metrics whose default instance cannot score the example data (a setting without a default)
EXAMPLE_SPECS = {"ead-{n}": "ead-2?vocab_size=32000"}

API_PAGES = [  # (file, title, intro)
    ("api/metrics.md", "Metric functions",
     "One function per metric family: sample data positional, every option keyword-only. Each returns a "
     "[`DiversityResult`][diversity.DiversityResult]. The [metric cards](../metrics/index.md) give the "
     "definitions in full."),
    ("api/metric-classes.md", "Metric classes",
     "The registered metric classes behind the functions and the spec strings "
     "(`diversity.from_spec(\"vendi?q=2\")`); see [Architecture](../architecture.md#adding-a-metric)."),
    ("api/scoring.md", "Scoring many metrics",
     "Several metrics in one pass (tokenizing and embedding once), the registry, streaming."),
    ("api/compare.md", "Comparing models",
     "Paired comparisons of two (or more) models over the same prompts; see [Comparing models](../comparison.md)."),
    ("api/results.md", "Results, signatures and errors",
     "What every metric returns, the signature, and the exceptions and warnings of the "
     "[error contract](../errors.md)."),
    ("api/io.md", "Loading samples", "Files and data frames into the input model of [Concepts](../concepts.md)."),
    ("api/text.md", "Tokenizers and statistics", "See [Tokenizers](../tokenizers.md)."),
    ("api/other.md", "Other public names", "Public names that fit none of the other pages."),
]
# helpers outside diversity.__all__ that the tutorial and the report use: (object path, heading)
EXTRA_API = [
    "diversity.io.datasets.load_example",
    "diversity.report.plots.plot_forest",
    "diversity.report.plots.plot_per_prompt",
    "diversity.report.plots.plot_embeddings",
    "diversity.report.plots.save_figure",
    "diversity.report.folder.write_report",
    "diversity.report.citations.bibtex",
    "diversity.distributed.score_dask",
    "diversity.report.paper_plots.plot_attribute_histograms",
    "diversity.report.paper_plots.plot_position_profiles",
    "diversity.report.paper_plots.plot_attractor_curves",
    "diversity.generation.personas.sample_personas",
    "diversity.generation.personas.persona_table",
    "diversity.generation.perturb.perturbed_prompts",
    "diversity.metrics.clusters.semantic_cluster_labels",
]


# ---- what the code declares ------------------------------------------------------------------------------

def _diversity():
    import diversity

    return diversity


def _metric_classes():
    from diversity.core.registry import metric_classes

    return list(metric_classes())


def _api_page(name: str, obj) -> str:
    from diversity.core.registry import metric_classes

    classes = set(metric_classes())
    funcs = {c.func for c in classes}
    module = getattr(obj, "__module__", "") or ""
    if name in funcs or (module == "diversity.metrics.attractor" and not isinstance(obj, type)):
        return "api/metrics.md"  # attractor_strength compares two sets per prompt: not a registered metric
    if module == "diversity.metrics.attractor":
        return "api/results.md"
    if obj in classes:
        return "api/metric-classes.md"
    if module.startswith(("diversity.core.evaluate", "diversity.core.registry", "diversity.core.metric",
                          "diversity.core.progress", "diversity.streaming")):
        return "api/scoring.md"
    if module.startswith("diversity.compare"):
        return "api/compare.md"
    if module.startswith(("diversity.core.result", "diversity.core.signature", "diversity.core.errors",
                          "diversity.embed")):
        return "api/results.md"
    if module.startswith("diversity.io"):
        return "api/io.md"
    if module.startswith(("diversity.text", "diversity.stats")):
        return "api/text.md"
    return "api/other.md"


def api_layout() -> dict[str, list[str]]:
    """Page -> public names on it, every name of ``diversity.__all__`` (but ``__version__``) exactly once."""
    d = _diversity()
    pages: dict[str, list[str]] = {p: [] for p, _, _ in API_PAGES}
    order = {c.func: i for i, c in enumerate(_metric_classes())}
    for name in d.__all__:
        if name != "__version__":
            pages[_api_page(name, getattr(d, name))].append(name)
    pages["api/metrics.md"].sort(key=lambda n: order.get(n, len(order)))
    return pages


def card_of(cls, cards: dict[str, str]) -> str | None:
    """The card (file name in docs/metrics) that documents a registered metric class."""
    word = re.compile(rf"(?<![\w.])(?:diversity\.)?{re.escape(cls.func)}\b")
    hits = [name for name, text in cards.items() if word.search(text)]
    if len(hits) > 1:  # prefer the card whose header line names the function
        hits = [n for n in hits if word.search("\n".join(cards[n].splitlines()[:4]))] or hits
    return hits[0] if len(hits) == 1 else None


def metric_cards(docs_dir: Path) -> dict[str, list]:
    """Card file name -> the registered metric classes it documents (a warning for any without a card)."""
    cards = {p.name: p.read_text(encoding="utf-8") for p in sorted((docs_dir / "metrics").glob("*.md"))
             if p.name != "index.md"}
    out: dict[str, list] = {name: [] for name in cards}
    for cls in _metric_classes():
        card = card_of(cls, cards)
        if card is None:
            log.warning("registered metric %r (diversity.%s) has no metric card in docs/metrics", cls.name, cls.func)
        else:
            out[card].append(cls)
    return out


def _example_data(cls) -> list[dict]:
    import numpy as np

    texts = {"fox": ["once upon a time a fox lived in the woods", "once upon a time a fox lived by the river",
                     "a robot learned to paint at night"],
             "sea": ["the sea is calm today", "the sea is calm and grey today", "waves crash on the rocks"]}
    vectors = {"samples": {"p1": ["a", "b", "c"], "p2": ["d", "e", "f"]},
               "embeddings": {"p1": np.eye(3), "p2": np.array([[1.0, 0, 0], [1, 1, 0], [0, 1, 1]])}}
    if cls.input == "texts":
        return [{"samples": texts}]
    if cls.input == "vectors":
        return [vectors, dict(vectors, quality={"p1": [0.9, 0.2, 0.7], "p2": [0.6, 0.6, 0.1]})]
    if cls.input == "values":
        return [{"values": {"p1": ["US", "US", "CN"], "p2": ["MX", "IN", "IN"]}}]
    return [{"logprobs": {"p1": [[[-0.1, -2.0, -3.0, -4.0, -5.0]] * 3], "p2": [[[-1.0, -1.1, -2.0, -3.0, -3.5]] * 2]}}]


def example_signature(cls) -> str | None:
    """The signature of the metric's default spec on a tiny example (precomputed embeddings)."""
    d = _diversity()
    spec = EXAMPLE_SPECS.get(cls.name) or cls().spec
    error = None
    for data in _example_data(cls):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return str(d.score(metrics=[spec], ci=False, **data)[spec].signature)
        except Exception as e:  # noqa: BLE001 - reported below
            error = e
    log.warning("no example signature for %r (add it to EXAMPLE_SPECS in docs/gen/hooks.py): %s", spec, error)
    return None


def _direction(cls) -> str:
    if not cls.diversity:
        return "a rate reported beside diversity"
    return "higher = more diverse" if cls.higher_is_more_diverse else "lower = more diverse"


_INPUT = {"texts": "texts", "vectors": "texts or embeddings", "values": "categorical values",
          "logprobs": "log-probabilities"}


def _input(cls) -> str:
    return _INPUT.get(cls.input, cls.input) + (", or a kernel" if cls.accepts_kernel else "")


def _description(doc: str) -> str:
    """The docstring's prose before its first numpydoc section, as Markdown."""
    lines = inspect.cleandoc(doc).splitlines()
    for i in range(len(lines) - 1):
        if lines[i + 1].strip() and set(lines[i + 1].strip()) == {"-"} and lines[i].strip():
            lines = lines[:i]
            break
    return rst_to_markdown("\n".join(lines)).strip()


# ---- generated pages ----------------------------------------------------------------------------------------

def _shadows_subpackage(name: str, obj) -> bool:
    """A public name that is also the name of a subpackage of diversity (and is not that subpackage)."""
    return not inspect.ismodule(obj) and (ROOT / "src" / "diversity" / name / "__init__.py").exists()


def api_pages() -> dict[str, str]:
    d = _diversity()
    layout = api_layout()
    pages = {}
    for path, title, intro in API_PAGES:
        names = layout[path]
        if not names:
            continue
        body = [f"# {title}", "", intro, ""]
        for name in names:
            obj = getattr(d, name)
            if _shadows_subpackage(name, obj):
                # `diversity.compare` is a function and a subpackage: mkdocstrings would render the package;
                # render the function from its module, with an autorefs anchor under the public name
                body += [f"[](){{#diversity.{name}}}", "", f"::: {obj.__module__}.{name}", ""]
            else:
                body += [f"::: diversity.{name}", ""]
        pages[path] = "\n".join(body)
    extras = ["# Helpers beyond the top level", "",
              "Functions of the subpackages that the [tutorial](../tutorial.ipynb), the report folder and "
              "[distributed scoring](../distributed.md) use; import them from their modules "
              "(`diversity.score_dask` is also importable from the top level; it imports dask on first use).", ""]
    for path in EXTRA_API:
        extras += [f"::: {path}", "    options:", "      show_root_full_path: true", ""]
    pages["api/helpers.md"] = "\n".join(extras)

    rows = ["| name | kind | page | summary |", "|---|---|---|---|"]
    titles = {p: t for p, t, _ in API_PAGES}
    for name in d.__all__:
        if name == "__version__":
            continue
        obj = getattr(d, name)
        kind = "class" if inspect.isclass(obj) else "function"
        page = next(p for p, names in layout.items() if name in names)
        summary = rst_to_markdown((inspect.getdoc(obj) or "").split("\n\n")[0].replace("\n", " ")).replace("|", "\\|")
        rows.append(f"| [`{name}`][diversity.{name}] | {kind} | [{titles[page]}]({Path(page).name}) | {summary} |")
    index = ["# API reference", "",
             "Generated from the docstrings (numpydoc) at build time. Every public name is importable from the "
             "top level (`diversity.__all__`); the layout of the implementation is on the "
             "[Architecture](../architecture.md) page.", "",
             f"`diversity.__version__`: the library version, `{d.__version__}` when this site was built; "
             "every signature ends with it (`v:`).", "", *rows, "",
             "Also documented: [helpers beyond the top level](helpers.md) (bundled data, figures, report folder, "
             "BibTeX).", ""]
    pages["api/index.md"] = "\n".join(index)
    return pages


def metrics_index(cards: dict[str, list]) -> str:
    card_of_class = {cls: card for card, classes in cards.items() for cls in classes}
    rows = ["| metric (spec name) | function | direction | computed from | card |", "|---|---|---|---|---|"]
    for cls in _metric_classes():  # registry order: lexical, overlap, semantic, quality, categorical, model-based
        card = card_of_class.get(cls)
        link = f"[{_card_title(card)}]({card})" if card else "(no card)"
        rows.append(f"| `{cls.name}` | [`{cls.func}`][diversity.{cls.func}] | {_direction(cls)} | {_input(cls)} | "
                    f"{link} |")
    for card, (func, _, _) in FUNCTION_CARDS.items():  # outside the registry: two sets per prompt
        name = card[:-3]
        rows.append(f"| `{name}` (not in the registry) | [`{func}`][diversity.{func}] | lower = more diverse | "
                    f"embeddings of two sets per prompt (unperturbed, perturbed) | [{_card_title(card)}]({card}) |")
    return "\n".join([
        "# Metric cards", "",
        "One card per metric (families that share a definition share a card), in one template: what it "
        "measures; when to use it, and when not; the definition, typeset once; parameters; the signature keys "
        "that this metric writes; known biases (length, sample size k, tokenizer, encoder truncation); "
        "references with BibTeX; a worked example with its output. The definition, parameters, keys, the "
        "biases the metric declares, the references and the example are generated from the library when the "
        "site is built, so a card cannot drift from the code. Not sure which metric to report? See "
        "[Choosing metrics](../choosing-metrics.md).", "",
        f"This table lists every registered metric ({sum(map(len, cards.values()))}, from "
        "`diversity.core.registry.metric_classes()`); `diversity metrics` prints the same from the shell.", "",
        *rows, ""])


_TITLES: dict[str, str] = {}
_CARDS: dict[str, list] = {}


def _card_title(card: str) -> str:
    return _TITLES.get(card, card[:-3])


# ---- metric cards: one template ---------------------------------------------------------------------------
#
# A card in docs/metrics/ holds what only a person can write, under these headings (## level):
# "What it measures", "When to use it, and when not", "Known biases" (optional), and any further sections
# (other implementations, undefined cases, tests and published values). The hook builds the page in the
# template's order and generates everything the code declares, so that it cannot drift from the code:
# the at-a-glance table, "Definition" (the docstring's formula, typeset once), "Parameters" (the declared
# parameters), "Signature keys" (the keys this metric writes, only those), the measured-bias bullets of
# "Known biases" (from the declared properties), "References" (BibTeX from the single citation source)
# and "Example" (code run at build time, with its output).

TEMPLATE_HAND = ("What it measures", "When to use it, and when not")
TEMPLATE = (*TEMPLATE_HAND, "Definition", "Parameters", "Signature keys", "Known biases", "References", "Example")
# keys every result or comparison carries: explained on the Signatures page, not on each card
COMMON_KEYS = ("agg", "k", "v", "ci", "seed", "len", "sub", "gate", "labels", "prompts", "test", "adj")
EMBEDDING_KEYS = ("emb", "maxlen", "long", "backend", "dev")


def card_sections(text: str) -> tuple[str, dict[str, str]]:
    """A card's text before its first ``## `` heading, and its ``## `` sections by title (in order)."""
    parts = re.split(r"^## +(.+?) *$", text, flags=re.M)
    head, sections = parts[0], {}
    for title, body in zip(parts[1::2], parts[2::2]):
        sections[title.strip()] = body.strip("\n")
    return head.rstrip("\n"), sections


def is_template_card(text: str) -> bool:
    return all(f"\n## {t}\n" in f"\n{text}\n" for t in TEMPLATE_HAND)


def _spec_names(cls) -> str:
    from diversity.core.registry import available_metrics

    pattern = re.compile(_name_regex(cls))
    names = [n for n in available_metrics() if pattern.fullmatch(n)]
    return ", ".join(f"`{n}`" for n in names or [cls.name])


def _name_regex(cls) -> str:
    return "".join(re.escape(p) if not re.fullmatch(r"\{\w+\}", p) else r"[^?&]+"
                   for p in re.split(r"(\{\w+\})", cls.name))


_STATISTICS = {"ngrams": "count table of its n-grams", "distinct": "digests of distinct texts", "unit": "sum of unit vectors",
               "gram": "d x d matrix of unit vectors"}


def _pooled_state(cls) -> str:
    """What a pooled (or distributed) state keeps for the default metric: its declared statistics, or the items."""
    try:
        declared = cls().statistics() if not cls.per_completion else None
    except Exception:  # a metric with required parameters: described by its items
        declared = None
    if not declared:
        return "the items"
    return ", ".join(_STATISTICS[d.split("-")[0]] for d in declared)


def at_a_glance(classes: list) -> str:
    rows = ["| spec | function (class) | direction | computed from | length-sensitive | a pooled state keeps |",
            "|---|---|---|---|---|---|"]
    for cls in classes:
        rows.append(f"| {_spec_names(cls)} | [`diversity.{cls.func}`][diversity.{cls.func}] "
                    f"([`{cls.__name__}`][diversity.{cls.__name__}]) | {_direction(cls)} | {_input(cls)} | "
                    f"{'yes' if cls.length_sensitive else 'no'} | {_pooled_state(cls)} |")
    return "\n".join(rows)


def definition_section(classes: list) -> str:
    d = _diversity()
    out, done = [], set()
    for cls in classes:
        if cls.func in done:
            continue
        done.add(cls.func)
        if len(classes) > 1:
            out += [f"**`diversity.{cls.func}`**", ""]
        out += [_description(getattr(d, cls.func).__doc__), ""]
    shown = " and ".join(f"`help(diversity.{f})`" for f in done)
    out.append(f"*From the docstring: {shown} shows the same.*")
    return "\n".join(out)


def _spec_example(cls, p) -> str:
    """How a parameter is written in a spec: in the name (``distinct-<n>``) or after ``?``."""
    if p.in_name:
        return "`" + cls.name.replace("{" + p.name + "}", f"<{p.name}>") + "`"
    defaults = {q.name: q.default for q in cls.params}
    name = re.sub(r"\{(\w+)\}", lambda m: str(defaults[m.group(1)]), cls.name)
    return f"`{name}?{p.name}=…`"


def parameters_section(classes: list) -> str:
    from diversity.core.params import REQUIRED

    rows = ["| parameter | default | allowed | meaning | in a spec |", "|---|---|---|---|---|"]
    seen = 0
    for cls in classes:
        for p in cls.params:
            seen += 1
            default = "(required)" if p.default is REQUIRED else f"`{p.constraint.format(p.default)}`"
            doc = (p.doc or "").replace("|", "\\|").replace("\n", " ")
            allowed = p.constraint.describe().replace("|", "\\|")
            rows.append(f"| `{p.name}` | {default} | {allowed} | {doc} | {_spec_example(cls, p)} |")
    if not seen:
        return ("No parameters of its own: the metric is defined by its input alone (the shared options of every "
                "metric, `aggregate=`, `ci=` and the rest, are on the [Concepts](../concepts.md) page).")
    return "\n".join(rows + ["", "The options every metric shares (`aggregate=`, `ci=`, `ci_level=`, "
                              "`n_resamples=`, `seed=`) are on the [Concepts](../concepts.md) page."])


def signature_section(classes: list) -> str:
    from diversity.core.signature import KEYS

    out, keys = [], []
    for cls in classes:
        sig = example_signature(cls)
        if sig:
            out += ["```text", sig, "```", ""]
            for k in (f.split(":", 1)[0] for f in sig.split("|")[1:]):
                if k not in keys and k not in COMMON_KEYS and k not in EMBEDDING_KEYS:
                    keys.append(k)
    rows = ["| key | records |", "|---|---|"] + [f"| `{k}` | {KEYS.get(k, '(undeclared)')} |" for k in keys]
    if any(c.input == "vectors" for c in classes):
        rows += [f"| `{k}` | {KEYS[k]} |" for k in EMBEDDING_KEYS if k in KEYS]
    intro = ("The signature of the default spec on the example below, and the keys that this metric writes. "
             "The keys every result carries (`agg`, `k`, `v`, and `ci`, `seed` with a confidence interval; "
             "`len`, `sub`, `gate` in comparisons) are on the [Signatures](../signatures.md) page.")
    if any(c.input == "vectors" for c in classes):
        intro += (" With embeddings given (`emb:precomputed`) there is no model to record; with a model, `emb:` "
                  "names it and the hash of its weights, and `maxlen:` its input limit.")
    return "\n".join([intro, "", *out, *rows])


def bias_bullets(classes: list) -> list[str]:
    """What the declared properties say about length, k, tokenizer, encoder and order."""
    out = []
    sensitive = [c for c in classes if c.length_sensitive]
    if sensitive:
        out.append("**Length.** The value moves with completion length (declared `length_sensitive`): aligned "
                   "answers are often 2-4 times longer than base ones, so compare at matched lengths "
                   "(`compare(..., length=\"match\")`, recorded as `len:`) or report lengths beside it; see "
                   "[Confounds](../confounds.md#length).")
    else:
        out.append("**Length.** Declared not length-sensitive: its value does not move with completion length "
                   "by construction (a test holds every metric to its declaration).")
    if any(c.diversity for c in classes):
        out.append("**Sample size k.** A set's diversity depends on how many completions it holds: compare at "
                   "equal k per prompt (`compare` subsamples to the smallest k, recorded as `k:` and `sub:`).")
    if any(c.uses_tokens for c in classes):
        out.append("**Tokenizer and case.** Computed over tokens: the tokenizer and lowercasing change the value "
                   "(recorded as `tok:` and `lc:`); see [Tokenizers](../tokenizers.md).")
    if any(c.input == "vectors" for c in classes):
        out.append("**Encoder.** Values are not comparable across embedding models (recorded as `emb:`), and the "
                   "default model reads only the first 256 word pieces of a text (`maxlen:`): a long answer is "
                   "embedded by its start unless long texts are embedded in windows (`long:`); see "
                   "[Embeddings](../embeddings.md).")
    if any(c.input == "logprobs" for c in classes):
        out.append("**Candidates.** Computed from the log-probabilities the sampler returned: how many candidates "
                   "per position (top-k or the full distribution) changes the value and is recorded.")
    if any(bool(c.order_dependent) is True for c in classes):
        out.append("**Order.** Reads completions in the order given (as sampled), recorded as `order:`.")
    return [f"- {b}" for b in out]


def references_section(classes: list, extra: tuple[str, ...] = ()) -> str:
    from diversity.report.citations import CITATIONS

    refs = list(dict.fromkeys([k for cls in classes for k in cls.references] + list(extra)))
    out = [f"- [{reference_text(k)}](../references.md#{k})" for k in refs] + [""]
    name = classes[0].name.replace("{n}", "2").replace("{measure}", "entropy") if classes and hasattr(
        classes[0], "name") else None
    if name:
        out += [f"`diversity cite {name}` prints this BibTeX:", ""]
    out += ["```bibtex", "\n\n".join(CITATIONS[k] for k in refs), "```"]
    return "\n".join(out)


def reference_text(key: str) -> str:
    from diversity.report.citations import reference_line

    return reference_line(key)


def _literal(value) -> str:
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r})"
    if isinstance(value, dict):
        inner = ",\n".join(f"    {k!r}: {_literal(v)}" for k, v in value.items())
        return "{\n" + inner + ",\n}"
    return repr(value)


def example_section(cls) -> str:
    """Code that scores the metric's default spec on a small example, run now, with what it printed."""
    spec = EXAMPLE_SPECS.get(cls.name) or cls().spec
    error = None
    for data in _example_data(cls):
        lines = ["import diversity", *(["import numpy as np"] if "embeddings" in data else []), ""]
        for key, value in data.items():
            lines.append(f"{key} = {_literal(value)}")
        args = ", ".join(f"{k}={k}" for k in data)
        lines += [f"result = diversity.score({args}, metrics=[{spec!r}], ci=False)[{spec!r}]",
                  "print(f\"{result.value:.4f}\")", "print(result.signature)"]
        code = "\n".join(lines)
        buf = io.StringIO()
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(buf):
                warnings.simplefilter("ignore")
                exec(compile(code, f"<example {spec}>", "exec"), {})  # noqa: S102 - our own generated code
        except Exception as e:  # noqa: BLE001 - reported below
            error = e
            continue
        return "\n".join(["Run when this site was built:", "", "```python", code, "```", "", "Output:", "",
                          "```text", buf.getvalue().rstrip(), "```"])
    log.warning("no example for %r (add it to EXAMPLE_SPECS in docs/gen/hooks.py): %s", spec, error)
    return "(no example)"


def template_card(classes: list, text: str) -> str:
    """A card in the template's order: hand-written sections and generated ones (see above)."""
    head, hand = card_sections(text)
    generated = {"Definition": definition_section(classes), "Parameters": parameters_section(classes),
                 "Signature keys": signature_section(classes), "References": references_section(classes),
                 "Example": "\n\n".join(example_section(c) for c in classes[:1])}
    biases = "\n".join(bias_bullets(classes))
    hand_biases = hand.pop("Known biases", "")
    generated["Known biases"] = biases + ("\n\n" + hand_biases if hand_biases else "")
    out = [head, "", at_a_glance(classes), ""]
    for title in TEMPLATE:
        if title == "References":  # further hand-written sections go before the references
            for extra, body in hand.items():
                if extra not in TEMPLATE:
                    out += [f"## {extra}", "", body, ""]
        if title in hand and title not in TEMPLATE_HAND and title != "Definition":
            body = hand[title] + "\n\n" + generated[title]  # the card's words first, then what the code says
        else:
            body = hand.get(title) or generated[title]
        out += [f"## {title}", "", body, ""]
    return "\n".join(out)


def card_section(classes: list, card_text: str) -> str:
    """The generated sections appended to a card that does not follow the template yet."""
    has_definition = "**Definition.**" in card_text or "\n## Definition" in card_text
    out = ["", "## At a glance", "", at_a_glance(classes), ""]
    if not has_definition:
        out += ["## Definition", "", definition_section(classes), ""]
    out += ["## Parameters", "", parameters_section(classes), "",
            "## Signature keys", "", signature_section(classes), "",
            "## Known biases", "", "\n".join(bias_bullets(classes)), "",
            "## References", "", references_section(classes), "",
            "## Example", "", example_section(classes[0]), ""]
    return "\n".join(out)


ATTRACTOR_EXAMPLE = """import diversity
import numpy as np

# one prompt: three unperturbed completions (two alike) and two perturbed continuations, as embeddings
unperturbed = {"x": np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]])}
perturbed = {"x": np.array([[1.0, 0.05], [-1.0, 0.0]])}
result = diversity.attractor_strength(embeddings=(unperturbed, perturbed), perturbation="prefix", position=0, size=8)
print(f"{result.value:.4f}")
print(result.signature)"""


def _attractor_example(d):
    space: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(ATTRACTOR_EXAMPLE, "<example attractor-strength>", "exec"), space)  # noqa: S102 - our own code
    return space["result"]


# cards of public functions that are not registered metrics (they take two sets per prompt):
# card -> (function, citation keys, a small example that returns a result with a signature)
FUNCTION_CARDS = {"attractor-strength.md": ("attractor_strength", ("mohammadi2024creativity",), _attractor_example)}
FUNCTION_EXAMPLES = {"attractor-strength.md": ATTRACTOR_EXAMPLE}  # the example's code, shown with its output


def _numpydoc_parameters(doc: str) -> list[tuple[str, str, str]]:
    """(names, type, description) of a numpydoc "Parameters" section."""
    lines = inspect.cleandoc(doc).splitlines()
    try:
        start = next(i for i in range(len(lines) - 1) if lines[i].strip() == "Parameters"
                     and set(lines[i + 1].strip()) == {"-"}) + 2
    except StopIteration:
        return []
    out: list[tuple[str, str, str]] = []
    for line in lines[start:]:
        if line.strip() and not line.startswith(" ") and out and set(line.strip()) == {"-"}:
            out.pop()  # the heading of the next section
            break
        if line.strip() and not line.startswith(" "):
            names, _, kind = line.partition(" : ")
            out.append((names.strip(), kind.strip(), ""))
        elif line.strip() and out:
            n, k, d = out[-1]
            out[-1] = (n, k, (d + " " + line.strip()).strip())
    return out


def function_parameters_section(func_name: str) -> str:
    """The parameters of a function outside the registry, from its signature and numpydoc docstring."""
    d = _diversity()
    func = getattr(d, func_name)
    defaults = {n: p.default for n, p in inspect.signature(func).parameters.items()}
    rows = ["| parameter | default | type | meaning |", "|---|---|---|---|"]
    for names, kind, desc in _numpydoc_parameters(func.__doc__ or ""):
        first = names.split(",")[0].strip()
        default = defaults.get(first, inspect.Parameter.empty)
        shown = "(required)" if default is inspect.Parameter.empty else f"`{default!r}`"
        cell = rst_to_markdown(desc).replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {', '.join(f'`{n.strip()}`' for n in names.split(','))} | {shown} | "
                    f"{rst_to_markdown(kind).replace('|', chr(92) + '|')} | {cell} |")
    return "\n".join(rows + ["", f"*From the docstring: `help(diversity.{func_name})` shows the same.*"])


def function_example_section(card: str) -> str:
    code = FUNCTION_EXAMPLES[card]
    buf = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(buf):
        warnings.simplefilter("ignore")
        exec(compile(code, f"<example {card}>", "exec"), {})  # noqa: S102 - our own code
    return "\n".join(["Run when this site was built:", "", "```python", code, "```", "", "Output:", "",
                       "```text", buf.getvalue().rstrip(), "```"])


def function_card_parts(card: str) -> dict[str, str]:
    """The generated sections of a card that documents a function outside the registry: its definition
    (the docstring), the signature keys of a small example and the references with BibTeX."""
    from diversity.core.signature import KEYS
    from diversity.report.citations import CITATIONS

    d = _diversity()
    func, refs, example = FUNCTION_CARDS[card]
    sig = str(example(d).signature)
    keys = [k.split(":", 1)[0] for k in sig.split("|")[1:] if k.split(":", 1)[0] not in COMMON_KEYS]
    return {
        "Definition": _description(getattr(d, func).__doc__) + f"\n\n*From the docstring: `help(diversity.{func})` "
                      "shows the same.*",
        "Signature keys": "\n".join(
            ["The signature on a small example with precomputed embeddings, and the keys this function writes "
             "(the [Signatures](../signatures.md) page has the rest):", "", "```text", sig, "```", "",
             "| key | records |", "|---|---|"] + [f"| `{k}` | {KEYS.get(k, '(undeclared)')} |" for k in keys]),
        "References": "\n".join([*(f"- [{reference_text(k)}](../references.md#{k})" for k in refs), "",
                                  "```bibtex", "\n\n".join(CITATIONS[k] for k in refs), "```"]),
        "Parameters": function_parameters_section(func),
        **({"Example": function_example_section(card)} if card in FUNCTION_EXAMPLES else {}),
    }


def function_card_section(card: str, card_text: str) -> str:
    """The generated sections appended to a function card that does not follow the template yet."""
    parts = function_card_parts(card)
    out = [""]
    if "**Definition.**" not in card_text and "\n## Definition" not in card_text:
        out += ["## Definition", "", parts["Definition"], ""]
    out += ["## Signature keys", "", parts["Signature keys"], "", "## References", "", parts["References"], ""]
    return "\n".join(out)


def template_function_card(card: str, text: str) -> str:
    """A function card in the template: the card's sections and the generated ones (the parameters from the
    signature and the numpydoc docstring, the example run at build time) in the template's order."""
    head, hand = card_sections(text)
    generated = function_card_parts(card)
    out = [head, ""]
    for title in TEMPLATE:
        if title == "References":
            for extra, body in hand.items():
                if extra not in TEMPLATE:
                    out += [f"## {extra}", "", body, ""]
        body = hand.get(title) if title in TEMPLATE_HAND or title == "Known biases" else generated.get(title)
        if body:
            out += [f"## {title}", "", body, ""]
    return "\n".join(out)


def citing_page() -> str:
    from diversity.cli import main
    from diversity.report.citations import library_bibtex

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["cite", "--all"])
    if rc:
        log.warning("`diversity cite --all` exited with %s", rc)
    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    return "\n".join([
        "# Citing", "",
        "Cite the papers of the metrics you report (each [metric card](metrics/index.md) gives their BibTeX) and "
        "the library version that every signature ends with (`v:`).", "",
        "## The library", "",
        "`diversity cite diversity` prints its BibTeX:", "",
        "```bibtex", library_bibtex(), "```", "",
        "`CITATION.cff` in the repository root says the same (GitHub shows it as \"Cite this repository\"):", "",
        "```yaml", cff.rstrip(), "```", "",
        "## The library and every metric: `diversity cite --all`", "",
        "The output of `diversity cite --all` when this site was built (the report folder of `diversity report` "
        "writes the entries of the metrics it used to `citations.bib`; `Comparison.cite()` returns them). "
        "`diversity cite METRIC ...` prints only the entries of the metrics named. All of them, with the works "
        "the site cites besides, are on the [References](references.md) page.", "",
        "```bibtex", buf.getvalue().rstrip(), "```", ""])


# ---- the tutorial -----------------------------------------------------------------------------------------------

def _sources_hash(nb_bytes: bytes) -> str:
    h = hashlib.sha256(nb_bytes)
    h.update(sys.version.encode())
    for p in sorted((ROOT / "src" / "diversity").rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(ROOT)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:20]


def execute_tutorial(src: Path) -> Path:
    """Run the notebook top to bottom (nbclient); the folder of the executed copy (cached by content)."""
    import shutil

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    raw = src.read_bytes()
    folder = CACHE / f"tutorial-{_sources_hash(raw)}"
    if (folder / TUTORIAL).exists() and not os.environ.get("DIVERSITY_DOCS_EXECUTE"):
        log.info("tutorial: executed copy from %s", folder.relative_to(ROOT))
        return folder
    nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    start = time.perf_counter()
    # tqdm warns at import when ipywidgets is missing (a Jupyter front end has it): not for the reader
    os.environ.setdefault("PYTHONWARNINGS", "ignore:IProgress not found")
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(ROOT)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])  # no transport notice in the log
    try:
        client.execute()
    except CellExecutionError as e:
        log.warning("tutorial.ipynb: a cell failed:\n%s", e)
        return src.parent
    for old in CACHE.glob("tutorial-*"):
        shutil.rmtree(old, ignore_errors=True)
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / TUTORIAL))
    log.info("tutorial: executed in %.1f s", time.perf_counter() - start)
    return folder


# ---- MkDocs events ----------------------------------------------------------------------------------------------

def nav_files(nav) -> list[str]:
    """Every file named in a nav (as in mkdocs.yml), in order."""
    out: list[str] = []
    for item in nav or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                out += nav_files(value) if isinstance(value, list) else [value]
    return out


def _nav_titles(nav) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for item in nav or []:
        if isinstance(item, dict):
            for title, value in item.items():
                out += _nav_titles(value) if isinstance(value, list) else [(title, value)]
    return out


def complete_nav(nav: list, docs_dir: Path) -> list:
    """The nav with every page of docs/ that it does not list under "More" (so each page is reachable)."""
    listed = set(nav_files(nav))
    missing = [p.relative_to(docs_dir).as_posix() for p in sorted(docs_dir.rglob("*.md"))
               if p.relative_to(docs_dir).parts[0] != "gen" and p.relative_to(docs_dir).as_posix() not in listed]
    if not missing:
        return nav
    more = []
    for path in missing:
        first = (docs_dir / path).read_text(encoding="utf-8").splitlines()[:1] or [path]
        more.append({first[0].lstrip("# ").strip() or path: path})
    log.info("pages not in the nav of mkdocs.yml, listed under More: %s", ", ".join(missing))
    cut = next((i for i, item in enumerate(nav) if isinstance(item, dict) and "Performance" in item), len(nav))
    return nav[:cut] + [{"More": more}] + nav[cut:]


class _Quiet(logging.Filter):
    """Drop build-log lines that tell a reader nothing (an optional formatter mkdocstrings could use)."""

    NOISE = ("Formatting signatures requires either Black or Ruff",)

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(n in record.getMessage() for n in self.NOISE)


def on_config(config):
    for handler in logging.getLogger("mkdocs").handlers:
        if not any(isinstance(f, _Quiet) for f in handler.filters):
            handler.addFilter(_Quiet())
    config["nav"] = complete_nav(config["nav"], Path(config["docs_dir"]))
    return config


@event_priority(50)  # before mkdocs-jupyter, which turns the (executed) notebook into a page
def on_files(files: Files, config) -> Files:
    docs_dir = Path(config["docs_dir"])
    cards = metric_cards(docs_dir)
    nav_titles = {path: title for title, path in _nav_titles(config["nav"])}
    for card in cards:
        first = (docs_dir / "metrics" / card).read_text(encoding="utf-8").splitlines()[0]
        _TITLES[card] = nav_titles.get(f"metrics/{card}") or first.lstrip("# ").strip()
    generated = dict(api_pages())
    generated["metrics/index.md"] = metrics_index(cards)
    generated["citing.md"] = citing_page()
    for path, content in generated.items():
        if files.get_file_from_path(path) is not None:
            log.warning("docs/%s exists but is generated at build time: remove it", path)
            continue
        files.append(File.generated(config, path, content=content))

    spec = importlib.util.find_spec("mathjax")
    mathjax = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5" / "tex-svg.js" \
        if spec and spec.submodule_search_locations else None
    if mathjax is None or not mathjax.is_file():
        log.warning("MathJax not found: pip install django-static-mathjax (in the docs and test extras)")
    else:
        files.append(File.generated(config, "assets/mathjax/tex-svg.js", abs_src_path=str(mathjax)))

    nb = files.get_file_from_path(TUTORIAL)
    if nb is None:
        log.warning("docs/%s is missing", TUTORIAL)
    else:
        folder = execute_tutorial(Path(nb.abs_src_path))
        files.remove(nb)  # a plain File (not File.generated), so that mkdocs-jupyter can wrap it
        files.append(File(TUTORIAL, src_dir=str(folder), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    _CARDS.clear()
    _CARDS.update(cards)
    return files


def references_page(markdown: str) -> str:
    """docs/references.md with the bibliography: every entry of the citation source, the library first,
    each with its anchor (``references.md#<key>``), the cards that cite it and its BibTeX."""
    from diversity.report.citations import CITATIONS, LIBRARY_KEY, library_bibtex, reference_line

    cited_by: dict[str, list[str]] = {}
    for card, classes in _CARDS.items():
        for key in dict.fromkeys(k for cls in classes for k in cls.references):
            cited_by.setdefault(key, []).append(card)
    for card, (_, refs, _) in FUNCTION_CARDS.items():
        for key in refs:
            cited_by.setdefault(key, []).append(card)
    out = [markdown.rstrip("\n"), ""]
    for key in [LIBRARY_KEY, *sorted(CITATIONS, key=lambda k: reference_line(k).lower())]:
        bib = library_bibtex() if key == LIBRARY_KEY else CITATIONS[key]
        arxiv = re.search(r"arXiv:(\d{4}\.\d{4,5})", bib)
        link = f" [arXiv:{arxiv.group(1)}](https://arxiv.org/abs/{arxiv.group(1)})" if arxiv else ""
        cards = ", ".join(f"[{_card_title(c)}](metrics/{c})" for c in cited_by.get(key, []))
        out += [f"**{reference_line(key)}**{link} `{key}`", "{: #" + key + " }", ""]
        if cards:
            out += [f"Metric cards: {cards}.", ""]
        out += ['??? quote "BibTeX"', "", "    ```bibtex", *("    " + line for line in bib.splitlines()),
                "    ```", ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:
    src = page.file.src_uri
    if src == "references.md":
        return references_page(markdown)
    if src == "signatures.md":
        from diversity.core.signature import keys_table

        table = keys_table()
        pattern = re.compile(r"^\| key \| records \|\n(?:\|.*\|\n?)+", re.M)
        if not pattern.search(markdown):
            log.warning("signatures.md: no key table found to generate")
            return markdown
        current = pattern.search(markdown).group(0).rstrip("\n")
        if current != table:
            log.warning("signatures.md: the key table differs from diversity.core.signature.keys_table(); "
                        "paste the generated one")
        return pattern.sub(lambda m: table + "\n", markdown, count=1)
    if src.startswith("metrics/") and src != "metrics/index.md":
        classes = _CARDS.get(Path(src).name, [])
        if classes and is_template_card(markdown):
            return template_card(classes, markdown)
        if classes:
            return markdown.rstrip("\n") + "\n" + card_section(classes, markdown)
        if Path(src).name in FUNCTION_CARDS and is_template_card(markdown):
            return template_function_card(Path(src).name, markdown)
        if Path(src).name in FUNCTION_CARDS:
            return markdown.rstrip("\n") + "\n" + function_card_section(Path(src).name, markdown)
    return markdown


_NB_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)


def on_page_content(html: str, page, config, files) -> str:
    if page.file.src_uri == TUTORIAL:
        # nbconvert adds MathJax 2 from a CDN; the site's own MathJax 3 (offline) typesets the page
        html = _NB_MATHJAX.sub("", html)
    return html
