// Line-break opportunities in code that a reader would accept: after . / | , ? & = ( {, never inside a
// word (the style sheet turns off mid-word breaking) and never at the hyphen of "llm-diversity". In table cells, an interval
// "[0.12, 0.34]" and a signed number stay on one line. Runs on every page load (and on Material's
// instant navigation, when enabled). The inserted <wbr> elements add no characters to copied text.
(function () {
  const AFTER = /([/|,?&=({]|\.(?!\d))(?=[^\s./|,?&=(){}\]])/g;  // not inside a number (0.95)

  // a text node as pieces: runs of spaces, then segments cut after the AFTER characters; a segment
  // with a hyphen is kept whole (a browser would otherwise break "llm-diversity" after its hyphen)
  function pieces(text) {
    const out = [];
    for (const run of text.split(/(\s+)/)) {
      if (!run) continue;
      if (/^\s+$/.test(run)) { out.push({ text: run }); continue; }
      const parts = run.split(AFTER);  // [text, sep, text, sep, ..., text]
      let segment = "";
      for (let i = 0; i < parts.length; i++) {
        segment += parts[i];
        if (i % 2 === 1 || i === parts.length - 1) {
          if (segment) out.push({ text: segment, wbr: i % 2 === 1 });
          segment = "";
        }
      }
    }
    return out;
  }

  function breakable(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (/[./|,?&=({-]/.test(n.nodeValue)) nodes.push(n);
    }
    for (const node of nodes) {
      const frag = document.createDocumentFragment();
      for (const piece of pieces(node.nodeValue)) {
        if (/\S-\S/.test(piece.text)) {
          const span = document.createElement("span");
          span.className = "nobr";
          span.textContent = piece.text;
          frag.appendChild(span);
        } else {
          frag.appendChild(document.createTextNode(piece.text));
        }
        if (piece.wbr) frag.appendChild(document.createElement("wbr"));
      }
      // highlighted code splits a line into one text node per token: "InlineBackend" "." "print_figure"
      if (/[./|,?&=({]$/.test(node.nodeValue)) frag.appendChild(document.createElement("wbr"));
      node.parentNode.replaceChild(frag, node);
    }
  }

  function keepIntervals(cell) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const v = n.nodeValue.replace(/\[([^\]\s]+), ([^\]\s]+)\]/g, "[$1,\u00a0$2]").replace(/(^|\s)([−-]) (?=\d)/g, "$1$2\u00a0");
      if (v !== n.nodeValue) n.nodeValue = v;
    }
  }

  function run() {
    document.querySelectorAll("article code, article .jupyter-wrapper pre").forEach((code) => {
      if (!code.dataset.breaks) { code.dataset.breaks = "1"; breakable(code); }
    });
    document.querySelectorAll("article td").forEach(keepIntervals);
  }

  if (window.document$ && typeof window.document$.subscribe === "function") window.document$.subscribe(run);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
