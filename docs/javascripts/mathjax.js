// MathJax 3 for pymdownx.arithmatex (generic mode): only the formulas it marked are typeset.
// Loaded before assets/mathjax/tex-svg.js (copied from the django-static-mathjax wheel at build time).
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
  svg: { fontCache: "global" },
};
