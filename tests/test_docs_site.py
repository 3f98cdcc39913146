"""The documentation site as a reader sees it.

Fast checks: the navigation lists every page, every registered metric has a card, the API pages
cover ``diversity.__all__``, the docstring converter, CITATION.cff, the tutorial source, and the
build wiring (Makefile, .ci/run).

Slow checks (one ``mkdocs build --strict`` per session, about 20-60 s; the tutorial is executed
by the build): every public name and metric is on the site, every internal link and anchor
resolves and nothing loads from another host, and headless Chromium (Debian's ``chromium``
driven by Playwright, never a downloaded browser) opens the home page, a metric card and the
tutorial from a server on 127.0.0.1: formulas are typeset by MathJax, the navigation leads from
page to page, the tutorial's figures load. Screenshots go to ``build/docs-screenshots/``.
"""

from __future__ import annotations

import functools
import html.parser
import importlib.util
import inspect
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import diversity
from diversity.core.registry import metric_classes

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCREENSHOTS = ROOT / "build" / "docs-screenshots"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")

yaml = pytest.importorskip("yaml", reason="the docs tests need PyYAML (installed with mkdocs: pip install -e '.[docs]')")


def _hooks():
    spec = importlib.util.spec_from_file_location("diversity_docs_hooks", DOCS / "gen" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mkdocs_config() -> dict:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # !ENV and friends
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)


# ---- fast: structure and wiring -------------------------------------------------------------------------------

def test_the_navigation_lists_every_page_and_card():
    hooks = _hooks()
    nav = hooks.nav_files(_mkdocs_config()["nav"])
    generated = {p for p, _, _ in hooks.API_PAGES if p != "api/other.md"} | {
        "api/index.md", "api/helpers.md", "metrics/index.md", "citing.md"}
    assert all((DOCS / p).exists() or p in generated for p in nav), nav
    assert nav[0] == "index.md" and len(nav) == len(set(nav))
    cards = {f"metrics/{p.name}" for p in (DOCS / "metrics").glob("*.md")}
    assert cards | generated | {"tutorial.ipynb", "changelog.md", "confounds.md", "architecture.md",
                                "performance.md", "signatures.md", "concepts.md"} <= set(nav)
    # a page that mkdocs.yml does not list yet still gets a place in the nav (under "More")
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if "gen" not in p.relative_to(DOCS).parts}
    assert pages <= set(hooks.nav_files(hooks.complete_nav(_mkdocs_config()["nav"], DOCS)))


def test_every_registered_metric_has_a_card(caplog):
    with caplog.at_level(logging.WARNING):
        cards = _hooks().metric_cards(DOCS)
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    documented = [cls for classes in cards.values() for cls in classes]
    assert sorted(c.name for c in documented) == sorted(c.name for c in metric_classes())
    assert cards["vendi.md"] == [diversity.VendiScore]


def test_the_api_pages_cover_every_public_name_once():
    layout = _hooks().api_layout()
    names = [n for page in layout.values() for n in page]
    assert sorted(names) == sorted(n for n in diversity.__all__ if n != "__version__")
    assert not layout["api/other.md"], "give these a page in docs/gen/hooks.py: " + ", ".join(layout["api/other.md"])
    assert layout["api/metrics.md"][:2] == ["distinct_n", "ead"]


def test_docstring_rest_becomes_markdown_with_math_and_links():
    from importlib import import_module

    sys.path.insert(0, str(DOCS / "gen"))
    try:
        rst = import_module("griffe_rst")
    finally:
        sys.path.remove(str(DOCS / "gen"))
    doc = inspect.cleandoc("""Summary.

        .. math::

            \\mathrm{VS}_1 = \\exp\\Big(-\\sum_i \\lambda_i \\ln \\lambda_i\\Big)

        with :math:`\\lambda_i` the eigenvalues; see :func:`ead`, :class:`~diversity.embed.Cache` and
        :meth:`Signature.parse <diversity.Signature.parse>`. Written as::

            vendi|q:1
        """)
    md = rst.rst_to_markdown(doc)
    assert "$$\n\\mathrm{VS}_1 = \\exp\\Big(-\\sum_i \\lambda_i \\ln \\lambda_i\\Big)\n$$" in md
    assert "$\\lambda_i$" in md and ".. math" not in md and ":math:" not in md
    assert "[`ead`][diversity.ead]" in md and "`Cache`" in md and "`Signature.parse`" in md
    assert "Written as:\n" in md and "::" not in md


def test_docstring_lists_stay_lists_with_their_formulas():
    from importlib import import_module

    sys.path.insert(0, str(DOCS / "gen"))
    try:
        rst = import_module("griffe_rst")
    finally:
        sys.path.remove(str(DOCS / "gen"))
    md = rst.rst_to_markdown(inspect.cleandoc("""With k completions:
        - ``variant="pairs"``: the probability,

          .. math:: P = 1 - \\sum_c p_c^2,

          which does not grow;
        - ``variant="classes"``: the count.
        """))
    assert "With k completions:\n\n- ``variant" in md  # a blank line before the list
    assert "\n    $$\n    P = 1 - \\sum_c p_c^2,\n    $$\n" in md  # the formula inside the first item
    assert "which does not grow;\n\n- ``variant=\"classes\"``" in md


def test_a_template_card_has_every_section_in_order_and_generated_parts_from_the_code():
    hooks = _hooks()
    cards = hooks.metric_cards(DOCS)
    hooks._CARDS.update(cards)
    text = (DOCS / "metrics" / "distinct-n.md").read_text(encoding="utf-8")
    assert hooks.is_template_card(text)
    page = hooks.template_card(cards["distinct-n.md"], text)
    titles = re.findall(r"^## (.+)$", page, flags=re.M)
    assert [t for t in titles if t in hooks.TEMPLATE] == list(hooks.TEMPLATE)
    assert titles.index("Other implementations") < titles.index("References")
    assert "$$" in page.split("## Definition")[1].split("## Parameters")[0]  # the docstring's formula, once
    assert page.count("\\mathrm{distinct}_n") == 1
    keys = page.split("## Signature keys")[1].split("## Known biases")[0]
    assert "| `var` |" in keys and "| `tok` |" in keys and "| `emb` |" not in keys and "| `agg` |" not in keys
    assert "**Length.**" in page and "**Encoder.**" not in page  # lexical: no embedding boilerplate
    example = page.split("## Example")[1]
    assert "diversity.score(samples=samples, metrics=['distinct-2'], ci=False)" in example
    assert re.search(r"```text\n0\.\d{4}\ndistinct-2\|var:set\|", example)
    vendi = hooks.template_card(cards["vendi.md"], (DOCS / "metrics" / "vendi.md").read_text(encoding="utf-8"))
    assert "**Encoder.**" in vendi and "| `maxlen` |" in vendi and "| `q` |" in vendi
    assert "[Friedman and Dieng (2023)." in vendi and "(../references.md#friedman2023vendi)" in vendi


def test_the_concepts_page_lists_the_default_metrics_of_score_and_compare():
    from diversity.compare.api import DEFAULT_COMPARE_METRICS, SEMANTIC_DEFAULTS
    from diversity.core.evaluate import DEFAULT_METRICS

    text = (DOCS / "concepts.md").read_text(encoding="utf-8")
    section = text.split("## Default metrics")[1].split("\n## ")[0]
    score_part, compare_part = section.split("`diversity.compare(a, b)`")
    assert re.findall(r"`([a-z0-9-]+)`", score_part.split("DEFAULT_METRICS")[0])[-len(DEFAULT_METRICS):] == \
        list(DEFAULT_METRICS)
    listed = re.findall(r"`([a-z0-9-]+)`", compare_part.split("DEFAULT_COMPARE_METRICS")[0])
    assert listed[-len(DEFAULT_COMPARE_METRICS):] == list(DEFAULT_COMPARE_METRICS)
    assert all(f"`{m}`" in compare_part for m in SEMANTIC_DEFAULTS)


def test_template_cards_leave_to_the_code_what_the_code_declares():
    """A card in the template holds prose only: no definition, BibTeX or example of its own to drift."""
    hooks = _hooks()
    cards = {p.name: p.read_text(encoding="utf-8") for p in (DOCS / "metrics").glob("*.md")}
    template = {name for name, text in cards.items() if hooks.is_template_card(text)}
    generic = {"distinct-n.md", "ead.md", "ngram-entropy.md", "unique-fraction.md", "compression-ratio.md",
               "mattr.md", "self-bleu.md", "homogenization.md", "embedding-dispersion.md", "vendi.md",
               "semantic-clusters.md"}
    assert generic <= template
    classes = hooks.metric_cards(DOCS)
    for name in template:  # any card in the template: its BibTeX comes from the single source
        assert "```bibtex" not in cards[name], name
        if classes.get(name):
            page = hooks.template_card(classes[name], cards[name])
            assert page.count("\n## References\n") == 1 and "```bibtex" in page, name
    for name in generic:
        text = cards[name]
        assert "```bibtex" not in text and "**Definition.**" not in text and "**Example.**" not in text, name
        _, sections = hooks.card_sections(text)
        assert not set(sections) & {"Definition", "Parameters", "Signature keys", "References", "Example"}, name
        assert all(sections[t].strip() for t in hooks.TEMPLATE_HAND), name


def test_choosing_metrics_states_the_length_declarations_of_the_metrics():
    text = (DOCS / "choosing-metrics.md").read_text(encoding="utf-8")
    assert "No text metric in this library is length-robust" in text
    for cls in metric_classes():  # what the page says, checked against every declaration
        if cls.input in ("texts", "vectors", "logprobs") and cls.diversity:
            assert cls.length_sensitive, cls.name
        if cls.input == "values" or not cls.diversity:
            assert not cls.length_sensitive, cls.name
    for link in re.findall(r"\]\((metrics/[\w-]+\.md)", text):
        assert (DOCS / link).exists() or link == "metrics/index.md", link  # the index is generated


def test_citation_cff_describes_this_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert str(cff["version"]) == diversity.__version__
    assert cff["license"] == "MIT" and cff["authors"] and cff["title"].startswith("diversity")
    assert "diversity cite --all" in cff["message"]


def test_the_tutorial_is_a_clean_notebook_that_loads_scores_compares_plots_and_cites():
    nbformat = pytest.importorskip("nbformat", reason="nbformat is in the docs and test extras")
    nb = nbformat.read(str(DOCS / "tutorial.ipynb"), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit the notebook without outputs"
    source = "\n".join(c.source for c in code)
    for step in ("load_example(", "diversity.score(", "diversity.compare(", "plot_forest(", "plot_embeddings(",
                 ".cite()"):
        assert step in source, step
    headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if line.startswith("## ")]
    assert headings == ["## 1. Load", "## 2. Score", "## 3. Compare", "## 4. Plot", "## 5. Cite"]


def test_make_docs_and_ci_build_the_site_strictly():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^\.PHONY:.*\bdocs\b", makefile, re.M)
    assert re.search(r"^docs: .*\n\t.*mkdocs build --strict", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.index("apt-get install -y -qq chromium") < ci.index("make test") < ci.index("make docs")
    assert _mkdocs_config()["strict"] is True


# ---- slow: the built site -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("mkdocs", reason="the docs build needs the docs extra: pip install -e '.[docs]'")
    if os.environ.get("DIVERSITY_DOCS_SITE"):  # a site already built from this checkout (to rerun the browser tests)
        return Path(os.environ["DIVERSITY_DOCS_SITE"])
    out = tmp_path_factory.mktemp("site")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert not re.search(r"^(WARNING|ERROR)\b", log, re.M), log[-6000:]
    print(f"mkdocs build --strict: {time.perf_counter() - start:.1f} s")
    return out


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_public_name_and_metric_is_on_the_site(site):
    api = "".join(_text(p) for p in (site / "api").rglob("index.html"))
    for name in diversity.__all__:
        if name == "__version__":
            assert "diversity.__version__" in api
        else:
            assert f'id="diversity.{name}"' in api, name
    for path in _hooks().EXTRA_API:
        assert f'id="{path}"' in api, path
    for leftover in (":func:", ":class:", ":math:", ".. math::", "&lt;&lt;SHARED&gt;&gt;", "&lt;&lt;EMBED&gt;&gt;"):
        assert leftover not in api, leftover  # reST that the docstring converter missed
    index = _text(site / "metrics" / "index.html")
    for cls in metric_classes():
        assert f"<code>{cls.name}</code>" in index, cls.name
    cards = _hooks().metric_cards(DOCS)
    for card, classes in cards.items():
        page = _text(site / "metrics" / card[:-3] / "index.html")
        assert 'id="signature-keys"' in page and 'id="references"' in page
        for cls in classes:  # the at-a-glance table names every spec of the card's metrics, and their functions
            spec = cls.name.split("{")[0].rstrip("-")
            assert f"<code>{spec}" in page and f"diversity.{cls.func}" in page, (card, cls.name)
    signatures = _text(site / "signatures" / "index.html")
    assert "<code>emb</code>" in signatures and "<code>gate</code>" in signatures
    citing = _text(site / "citing" / "index.html")
    assert "li2016diversity" in citing and "cff-version" in citing
    home = re.sub(r"<[^>]+>", "", _text(site / "index.html"))
    assert "pip install llm-diversity" in home and "make demo" in home
    references = _text(site / "references" / "index.html")
    assert 'id="li2016diversity"' in references and 'id="diversity"' in references


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        rel = dict(attrs).get("rel") or ""
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)
            if tag == "link" and rel in ("canonical", "alternate"):
                continue  # not loaded by the browser
            if value and ((key == "href" and tag in ("a", "link")) or (key == "src" and tag in ("script", "img"))):
                self.links.append((tag, key, value))


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(_text(path))
    return parser


@pytest.mark.slow
def test_no_page_has_a_broken_link_and_nothing_loads_from_another_host(site):
    # 404.html is served for any missing URL, so its links are absolute (site_url): not checked here
    pages = {p: _parse(p) for p in site.rglob("*.html") if p.name != "404.html"}
    broken, remote = [], []
    for page, parsed in pages.items():
        for tag, attr, value in parsed.links:
            parts = urlsplit(value)
            if parts.scheme in ("http", "https") or value.startswith("//"):
                if tag != "a":  # a script, style sheet or image from the network: the site must work offline
                    remote.append(f"{page.relative_to(site)}: {value}")
                continue
            if parts.scheme in ("data", "mailto", "javascript"):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {value}")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: {value} (no such anchor)")
    assert not broken, "\n".join(broken[:40])
    assert not remote, "\n".join(remote[:40])


def _chromium() -> str | None:
    found = os.environ.get("DIVERSITY_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    return next((c for c in CHROMIUM_CANDIDATES if os.access(c, os.X_OK)), None)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D102
        pass


@pytest.fixture(scope="module")
def served(site):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium found (apt-get install chromium; or set DIVERSITY_CHROMIUM to its path)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (it is in the docs and test extras)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


class _Reader:
    """A browser tab that records what went wrong: script errors, failed or non-local requests."""

    def __init__(self, browser, base: str, width: int = 1280):
        self.base = base
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        self.page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]|data:|blob:).*"), self._outside)

    def _outside(self, route):
        self.problems.append(f"request to another host: {route.request.url}")
        route.abort()

    def open(self, path: str):
        self.page.goto(self.base + path, wait_until="load")
        return self.page

    def shot(self, name: str, whole_article: bool = False, settle: bool = True) -> Path:
        """The window, or the whole article (without the sticky header and sidebars)."""
        path = SCREENSHOTS / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if settle:
            self.page.wait_for_timeout(300)  # let the header's title transition settle
        if whole_article:
            self.page.add_style_tag(content=".md-header { display: none !important; }")
            self.page.locator("article").first.screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path))
        return path


def _typeset(page, timeout_ms: int = 30000) -> tuple[int, int]:
    """Wait for MathJax to finish; (formulas marked by arithmatex, formulas rendered as MathJax SVG)."""
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=timeout_ms)
    page.evaluate("() => MathJax.startup.promise")
    return page.evaluate("""() => [document.querySelectorAll('.arithmatex').length,
        document.querySelectorAll('.arithmatex mjx-container svg').length]""")


def _pages(site: Path) -> list[str]:
    """The URL path of every page of the site (not the search index or the 404 page)."""
    out = []
    for p in sorted(site.rglob("index.html")):
        rel = p.parent.relative_to(site).as_posix()
        if rel.split("/")[0] not in ("search", "assets"):
            out.append("/" if rel == "." else f"/{rel}/")
    return out


def _png_dpi(path: Path) -> float:
    """The resolution a PNG was saved at (its pHYs chunk; matplotlib writes it), else 100 (matplotlib's default)."""
    import struct

    data = path.read_bytes()
    at = data.find(b"pHYs")
    if at < 0:
        return 100.0
    x, _, unit = struct.unpack(">IIB", data[at + 4:at + 13])
    return x * 0.0254 if unit == 1 else 100.0


# the smallest text of a figure is taken to be matplotlib's default tick label, 10 pt; shown at
# (dpi / 72) * (displayed width / natural width) px per pt, it must come out at 8 px or more
FIGURE_TEXT_PT, READABLE_PX = 10, 8.0
WIDTHS = {"desktop": 1400, "phone": 390}
# pages looked at whole (the article, long screenshot) at desktop width
READ_WHOLE = {"/": "home", "/tutorial/": "tutorial", "/metrics/distinct-n/": "card-distinct-n",
              "/metrics/vendi/": "card-vendi", "/metrics/self-bleu/": "card-self-bleu",
              "/api/compare/": "api-compare", "/examples/creativity-left-the-chat/report/": "worked-example",
              "/choosing-metrics/": "choosing-metrics", "/references/": "references"}


@pytest.mark.slow
def test_every_page_reads_well_on_a_desktop_and_a_phone(browser, served, site):
    """Every page at 1400 px and 390 px: a heading and content; no clipped code or table, no raw TeX, no
    mid-identifier breaks; every card's sections in its table of contents; images at least 200 px wide with
    readable text. A screenshot of each (build/docs-screenshots/<width>/)."""
    audit = (DOCS / "gen" / "audit.js").read_text(encoding="utf-8")
    pages = _pages(site)
    problems: list[str] = []
    for kind, width in WIDTHS.items():
        reader = _Reader(browser, served, width=width)
        for path in pages:
            page = reader.open(path)
            if page.locator(".arithmatex").count():
                _typeset(page)
            found = page.evaluate(audit, width)
            if kind == "desktop":
                for src, shown, natural in page.evaluate("""() => Array.from(document.querySelectorAll('article img'))
                        .map(img => [img.src, img.getBoundingClientRect().width, img.naturalWidth])"""):
                    local = site / unquote(urlsplit(src).path).lstrip("/")
                    if natural and local.suffix == ".png" and local.exists():
                        px = FIGURE_TEXT_PT * _png_dpi(local) / 72 * shown / natural
                        if px < READABLE_PX:
                            found.append(f"unreadable figure text (~{px:.1f} px): {local.name}")
            problems += [f"{path} at {width} px: {p}" for p in found]
            name = path.strip("/").replace("/", "_") or "home"
            reader.shot(f"{kind}/{name}", settle=False)
            if kind == "desktop" and path in READ_WHOLE:
                reader.shot(f"whole/{READ_WHOLE[path]}", whole_article=True)
        reader.context.close()
        problems += [f"at {width} px: {p}" for p in reader.problems]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:80])
    assert len(pages) > 40 and "/references/" in pages and "/choosing-metrics/" in pages, pages


@pytest.mark.slow
def test_a_reader_opens_the_home_page_a_metric_card_and_the_tutorial(browser, served):
    reader = _Reader(browser, served)
    page = reader.open("/")
    text = page.inner_text("article")
    assert "pip install llm-diversity" in text and "make demo" in text
    reader.shot("home")

    # navigation: the sidebar leads to a metric card, whose formulas MathJax typesets
    page.locator("nav.md-nav--primary a", has_text="Vendi score").first.click()
    page.wait_for_url(re.compile(r".*/metrics/vendi/$"))
    assert page.locator("h1").first.inner_text().startswith("Vendi score")
    marked, rendered = _typeset(page)
    assert marked >= 1 and rendered == marked, (marked, rendered)
    assert page.locator("mjx-merror, [data-mjx-error]").count() == 0
    page.locator("#definition").scroll_into_view_if_needed()
    reader.shot("metric-card-vendi")
    reader.shot("metric-card-vendi-article", whole_article=True)

    # the metric index reaches every card; the API reference typesets its formulas too
    page = reader.open("/metrics/")
    cards = {a.get_attribute("href") for a in page.locator("article table a[href$='/']").all()}
    assert len(cards) == len(_hooks().metric_cards(DOCS))
    page = reader.open("/api/metrics/")
    marked, rendered = _typeset(page)
    assert marked >= 10 and rendered == marked, (marked, rendered)
    reader.shot("api-metric-functions")

    # the tutorial: executed outputs, figures that load
    page.locator("nav.md-nav--primary a", has_text="Tutorial").first.click()
    page.wait_for_url(re.compile(r".*/tutorial/$"))
    page.wait_for_load_state("load")
    images = page.evaluate("""() => Array.from(document.querySelectorAll('.jp-OutputArea-output img'))
        .map(img => [img.complete, img.naturalWidth, img.naturalHeight])""")
    assert len(images) >= 3 and all(ok and w > 100 and h > 100 for ok, w, h in images), images
    text = page.inner_text("article")
    assert "signature: distinct-2|" in text and "@article{friedman2023vendi" in text
    assert "Traceback" not in text
    page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
    reader.shot("tutorial-figure")
    reader.shot("tutorial-article", whole_article=True)
    reader.context.close()
    assert not reader.problems, "\n".join(reader.problems)
