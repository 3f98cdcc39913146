// What a reader would find wrong with the page now open in the browser (tests/test_docs_site.py).
// Called as `page.evaluate(source)` after MathJax has finished; returns a list of problems, one line each.
// width: the viewport width the page is read at (1400: a desktop; 390: a phone).
(width) => {
  const problems = [];
  const article = document.querySelector("article");
  if (!article) return ["no <article>"];
  const label = (el) => {
    const text = (el.innerText || el.textContent || "").trim().replace(/\s+/g, " ");
    return `<${el.tagName.toLowerCase()}> "${text.slice(0, 60)}"`;
  };

  // a heading, and something under it
  const h1 = article.querySelector("h1");
  if (!h1 || !h1.innerText.trim()) problems.push("no heading (h1)");
  const body = article.innerText.replace(h1 ? h1.innerText : "", "").trim();
  if (body.length < 200) problems.push(`an empty page (${body.length} characters under the heading)`);

  // TeX that MathJax did not typeset: raw $$ or \commands in the prose (code is left alone)
  const clone = article.cloneNode(true);
  clone.querySelectorAll("pre, code, mjx-container, script, .highlight, .jp-InputArea, .jp-OutputArea")
    .forEach((el) => el.remove());
  const prose = clone.textContent;
  if (prose.includes("$$")) problems.push("raw $$ in the text: " + prose.slice(prose.indexOf("$$"), prose.indexOf("$$") + 60));
  const tex = prose.match(/\\(?:mathrm|frac|sum|left|right|operatorname|mathbf|log|exp|lambda|sigma|cdot|le|ge|in|max|min|text)\b[^\n]{0,40}|\\[()[\]]/);
  if (tex) problems.push("untypeset TeX in the text: " + tex[0]);
  const marked = article.querySelectorAll(".arithmatex").length;
  const rendered = article.querySelectorAll(".arithmatex mjx-container").length;
  if (rendered < marked) problems.push(`${marked - rendered} of ${marked} formulas not typeset`);
  if (article.querySelector("mjx-merror, [data-mjx-error]")) problems.push("a formula with a MathJax error");

  // nothing cut off: the page itself never scrolls sideways
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) problems.push(`the page is ${doc.scrollWidth} px wide in a ${window.innerWidth} px window`);
  const right = article.getBoundingClientRect().right;
  // code blocks wrap (at every width); tables fit at desktop width, and may scroll inside their own box on a phone
  const boxes = article.querySelectorAll("pre, table, .md-typeset__scrollwrap, .jp-OutputArea-output, mjx-container[display]");
  for (const el of boxes) {
    if (el.closest(".md-typeset__scrollwrap") && el.tagName === "TABLE") continue;  // judged by its wrapper
    const over = el.scrollWidth - el.clientWidth;
    const isTable = el.matches("table, .md-typeset__scrollwrap") ||
      (el.matches(".jp-OutputArea-output") && el.querySelector("table") && !el.querySelector("pre"));
    const isMath = el.matches("mjx-container");
    if (over > 2 && !(isTable && width < 600) && !(isMath && width < 600)) {
      problems.push(`clipped by ${over} px: ${label(el)}`);
    }
    // on a phone Material lets code blocks bleed to the screen edge: out of the window is what counts
    const box = el.getBoundingClientRect();
    const limit = width < 600 ? window.innerWidth : right;
    if (box.width > 0 && box.right > limit + 2 && !el.closest(".md-typeset__scrollwrap")) {
      problems.push(`sticks out of the text column by ${Math.round(box.right - limit)} px: ${label(el)}`);
    }
  }
  // identifiers break only where a reader would break them (after . | / , ? &), never mid-word
  for (const code of article.querySelectorAll("code")) {
    const style = getComputedStyle(code);
    if (style.wordBreak === "break-all" || style.overflowWrap === "anywhere" ||
        style.wordBreak === "break-word" || style.overflowWrap === "break-word") {
      problems.push(`code may break mid-identifier (word-break: ${style.wordBreak}, overflow-wrap: ${style.overflowWrap}): ${label(code)}`);
      break;
    }
  }

  // images: loaded, at least 200 px wide
  for (const img of article.querySelectorAll("img")) {
    if (!img.complete || img.naturalWidth === 0) problems.push(`an image that did not load: ${img.src}`);
    else if (img.getBoundingClientRect().width < 200) problems.push(`an image ${Math.round(img.getBoundingClientRect().width)} px wide: ${img.src}`);
  }

  // a metric card: every section of the article is in the table of contents
  if (/\/metrics\/[^/]+\/$/.test(location.pathname)) {
    const toc = new Set(Array.from(document.querySelectorAll("nav.md-nav--secondary a.md-nav__link"))
      .map((a) => decodeURIComponent(a.getAttribute("href").split("#")[1] || "")));
    const sections = Array.from(article.querySelectorAll("h2[id]"));
    // every card: the generated sections; a card in the template: all of the template's sections
    const required = ["signature-keys", "references"];
    if (article.querySelector("h2#what-it-measures")) {
      required.push("when-to-use-it-and-when-not", "definition", "parameters", "known-biases", "example");
    }
    for (const id of required) if (!article.querySelector(`h2#${id}`)) problems.push(`a metric card without the section #${id}`);
    for (const h of sections) if (!toc.has(h.id)) problems.push(`section not in the table of contents: ${h.id}`);
  }
  return problems;
}
