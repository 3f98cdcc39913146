// Line-break opportunities in code that a reader would accept: after . / | , ? & = ( and before [,
// never inside a word (the style sheet turns off mid-word breaking). In table cells, an interval
// "[0.12, 0.34]" and a signed number stay on one line. Runs on every page load (and on Material's
// instant navigation, when enabled). The inserted <wbr> elements add no characters to copied text.
(function () {
  const AFTER = /([./|,?&=(])(?=[^\s./|,?&=()\]])/g;

  function breakable(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.nodeValue.length > 12 && AFTER.test(n.nodeValue)) nodes.push(n);
      AFTER.lastIndex = 0;
    }
    for (const node of nodes) {
      const parts = node.nodeValue.split(AFTER);
      const frag = document.createDocumentFragment();
      // split() with one capture group: [text, sep, text, sep, ..., text]
      for (let i = 0; i < parts.length; i++) {
        if (!parts[i]) continue;
        frag.appendChild(document.createTextNode(parts[i]));
        if (i % 2 === 1) frag.appendChild(document.createElement("wbr"));
      }
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
    document.querySelectorAll("article code").forEach((code) => {
      if (!code.dataset.breaks) { code.dataset.breaks = "1"; breakable(code); }
    });
    document.querySelectorAll("article td").forEach(keepIntervals);
  }

  if (window.document$ && typeof window.document$.subscribe === "function") window.document$.subscribe(run);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
