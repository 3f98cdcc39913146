"""The registry: every metric by its spec name, and the spec grammar.

A spec is a metric name, optionally followed by ``?`` and
``parameter=value`` pairs joined by ``&``::

    distinct-2                         ead-2?vocab_size=32000
    self-bleu?max_n=2&smoothing=exp    vendi?q=2
    homogenization-bleu?max_pairs=1000 attribute-hill?q=0

Parameters that are part of the name are written in it (``distinct-{n}``).
Values are read by each parameter's constraint (numbers, ``true``/``false``,
``none``, ``inf``). ``from_spec(m.spec) == m`` for every metric ``m``, and
every ``DiversityResult.metric`` is a spec.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import InvalidParameterError, warn
from .metric import Metric

__all__ = ["register", "from_spec", "resolve_metric", "available_metrics", "metric_classes"]

_CLASSES: list[type[Metric]] = []

# names that results of version 0.1 carried, mapped to specs (accepted with a DeprecationWarning)
_LEGACY = [
    (r"(distinct-\d+)\[per-completion\]", r"\1?variant=per-completion"),
    (r"(ngram-entropy-\d+)\[normalized\]", r"\1?normalize=true"),
    (r"vendi-q(.+)", r"vendi?q=\1"),
    (r"(mean-pairwise-distance|centroid-distance|chamfer|remote-clique)\[euclidean\]", r"\1?metric=euclidean"),
    (r"token-entropy-top(\d+)", r"token-entropy?top_k=\1"),
    (r"token-entropy-full", r"token-entropy?top_k=none"),
    (r"attribute-hill-q(.+)", r"attribute-hill?q=\1"),
]


def register(cls: type[Metric]) -> type[Metric]:
    """Class decorator: add a metric class to the registry (by its ``name`` template)."""
    if any(c.name == cls.name for c in _CLASSES):
        raise ValueError(f"a metric named {cls.name!r} is already registered")
    _CLASSES.append(cls)
    return cls


def metric_classes() -> list[type[Metric]]:
    _load_builtin()
    return list(_CLASSES)


def _load_builtin() -> None:
    from .. import metrics  # noqa: F401  (registers the built-in metrics)


def _name_pattern(cls: type[Metric]) -> str:
    parts = re.split(r"(\{\w+\})", cls.name)
    out = []
    for part in parts:
        m = re.fullmatch(r"\{(\w+)\}", part)
        out.append(f"(?P<{m.group(1)}>[^?&]+?)" if m else re.escape(part))
    return "".join(out)


def from_spec(spec: str) -> Metric:
    """The metric a spec names (see the module docstring for the grammar)."""
    if not isinstance(spec, str):
        raise InvalidParameterError(f"a metric must be a spec string or a Metric object, got {type(spec).__name__}.")
    _load_builtin()
    text = spec.strip()
    for pattern, repl in _LEGACY:
        if re.fullmatch(pattern, text):
            new = re.sub(pattern, repl, text)
            warn(f"the metric name {text!r} is deprecated; use the spec {new!r}.", DeprecationWarning)
            text = new
            break
    name, _, query = text.partition("?")
    for cls in _CLASSES:
        m = re.fullmatch(_name_pattern(cls), name)
        if not m:
            continue
        params = {p.name: p for p in cls.params}
        kwargs: dict[str, Any] = {k: params[k].constraint.parse(v) for k, v in m.groupdict().items()}
        allowed = [p.name for p in cls.params if not p.in_name]
        for item in filter(None, query.split("&")):
            key, eq, value = item.partition("=")
            if not eq or not key:
                raise InvalidParameterError(f"Malformed metric spec {spec!r}: expected name?parameter=value&..., "
                                            f"got {item!r}.")
            if key not in allowed:
                raise InvalidParameterError(f"Unknown parameter {key!r} in metric spec {spec!r}; {name} takes "
                                            f"{', '.join(allowed) or 'no parameters'}.")
            kwargs[key] = params[key].constraint.parse(value)
        return cls(**kwargs)
    import difflib

    known = available_metrics()
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6) or \
        difflib.get_close_matches(re.sub(r"\d+", "<n>", name), known, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise InvalidParameterError(f"Unknown metric {spec!r}.{hint} Known: {', '.join(known)}.")


def resolve_metric(metric: str | Metric) -> Metric:
    """A metric object from a spec (or the object itself)."""
    return metric if isinstance(metric, Metric) else from_spec(metric)


def available_metrics() -> list[str]:
    """Every registered metric name: in-name parameters with a fixed set of
    values are spelled out (``homogenization-rouge-l``, ``homogenization-bleu``);
    numeric ones stay as ``<n>``."""
    from .params import Choice

    _load_builtin()
    out = []
    for cls in _CLASSES:
        names = [cls.name]
        for p in cls.params:
            if p.in_name and isinstance(p.constraint, Choice):
                names = [n.replace("{" + p.name + "}", o) for n in names for o in p.constraint.options]
        out += [re.sub(r"\{(\w+)\}", r"<\1>", n) for n in names]
    return out
