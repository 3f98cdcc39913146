"""Docstrings for the site: the reST the library's numpydoc docstrings use, as Markdown.

The docstrings follow numpydoc, whose prose is reStructuredText: ``.. math::``
blocks, ``:math:`...``` and cross-reference roles (``:func:`ead```). mkdocstrings
reads prose as Markdown, so this griffe extension rewrites those constructs
before the numpydoc sections are parsed:

* ``.. math::`` blocks -> ``$$ ... $$`` and ``:math:`x``` -> ``$x$``
  (pymdownx.arithmatex; MathJax typesets them in the browser);
* ``:func:`name``` and the other Python roles -> an autorefs link
  ``[`name`][diversity.name]`` when ``name`` is public (``diversity.__all__``,
  so the API reference renders it), plain code otherwise;
* a paragraph ending in ``::`` (a literal block follows) -> ``:``;
* bullet lists get the blank line before them and the 4-space continuation
  indent that Python-Markdown needs (reST needs neither).

Functions wrapped by ``diversity.core.options.with_options`` get their
docstring and signature at import time (the shared options and their
documentation are filled in); for those the runtime ones replace what the
static analysis of the source found.

The same function renders the formulas on the metric cards (``hooks.py``).
The docstrings themselves stay reST, readable with ``help()``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from functools import lru_cache

import griffe

_ROLE = re.compile(r":(?:py:)?(func|class|meth|attr|data|mod|obj|exc|const):`([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<rest>.*)$")


@lru_cache(maxsize=1)
def _public() -> frozenset[str]:
    import diversity

    return frozenset(diversity.__all__)


def _role(match: re.Match) -> str:
    text = match.group(2).strip()
    title = None
    explicit = re.fullmatch(r"(.*?)\s*<([^>]+)>", text)
    if explicit:
        title, text = explicit.group(1), explicit.group(2)
    short = text.startswith("~")
    target = text.lstrip("~").lstrip(".")
    shown = title or (target.rsplit(".", 1)[-1] if short else target)
    name = target[len("diversity."):] if target.startswith("diversity.") else target
    if name in _public():
        return f"[`{shown}`][diversity.{name}]"
    return f"`{shown}`"


def _math_blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _MATH_DIRECTIVE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = m.group("indent")
        body = [m.group("rest")] if m.group("rest").strip() else []
        i += 1
        while i < len(lines) and (not lines[i].strip() or
                                  len(lines[i]) - len(lines[i].lstrip()) > len(indent)):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():
            body.pop()
        while body and not body[0].strip():
            body.pop(0)
        deepest = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
        if out and out[-1].strip():
            out.append("")
        out.append(f"{indent}$$")
        out += [indent + b[deepest:] if b.strip() else "" for b in body]
        out.append(f"{indent}$$")
        if i < len(lines) and lines[i].strip():
            out.append("")
    return out


_BULLET = re.compile(r"^(?P<indent>[ \t]*)[-*] \S")


def _lists(lines: list[str]) -> list[str]:
    """reST bullet lists as Python-Markdown reads them: a blank line before the list, and each item's
    continuation (reST indents it by 2, under the item's text) indented by 4, so that a paragraph or a
    formula inside an item stays in it."""
    out: list[str] = []
    item: int | None = None  # indent of the current item's bullet
    for line in lines:
        m = _BULLET.match(line)
        indent = len(line) - len(line.lstrip())
        if m:
            # a blank line before the list, and before an item that follows a continued (multi-line) one
            if out and out[-1].strip() and (item is None or not _BULLET.match(out[-1])):
                out.append("")
            item = indent
            out.append(line)
        elif item is not None and (not line.strip() or indent >= item + 2):
            out.append(" " * (item + 4) + line[item + 2:] if line.strip() else line)
        else:
            item = None
            out.append(line)
    return out


def rst_to_markdown(text: str) -> str:
    """The reST constructs of the library's docstrings, rewritten as Markdown (see the module doc)."""
    lines = _lists(_math_blocks(text.splitlines()))
    out = []
    for line in lines:
        if line.strip() == "::":
            line = ""
        elif line.rstrip().endswith("::") and not line.lstrip().startswith(("$", ">>>", "...")):
            line = line.rstrip()[:-1]
        out.append(line)
    text = "\n".join(out)
    text = _MATH_ROLE.sub(lambda m: f"${m.group(1).strip()}$", text)
    return _ROLE.sub(_role, text)


def _runtime_wrapper(obj: griffe.Object):
    """The runtime object of a function that a decorator wrapped (``__wrapped__``), else None."""
    try:
        target = importlib.import_module(obj.module.path)
        for part in obj.path[len(obj.module.path) + 1:].split("."):
            target = getattr(target, part)
    except Exception:  # noqa: BLE001 - not importable: keep what static analysis found
        return None
    return target if getattr(target, "__wrapped__", None) is not None else None


def _use_runtime(obj: griffe.Function) -> None:
    target = _runtime_wrapper(obj)
    if target is None:
        return
    doc = inspect.cleandoc(target.__doc__ or "")
    if obj.docstring is None:
        obj.docstring = griffe.Docstring(doc, parent=obj)
    else:
        obj.docstring.value = doc
    params = []
    for p in inspect.signature(target).parameters.values():
        default = None if p.default is inspect.Parameter.empty else repr(p.default)
        params.append(griffe.Parameter(p.name, kind=griffe.ParameterKind(p.kind.description), default=default))
    obj.parameters = griffe.Parameters(*params)


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring the handler loads (see :func:`rst_to_markdown`)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:  # noqa: D102
        if isinstance(obj, griffe.Function):
            _use_runtime(obj)
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
