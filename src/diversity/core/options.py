"""Options shared by every public function, declared once.

Text options (tokenizer, lowercase), aggregation over prompts, and the
bootstrap (confidence level, resamples, method, seed; named as in
``scipy.stats.bootstrap``) are one :class:`Options` object inside the
library. Public functions keep them as explicit keyword arguments: the
:func:`with_options` decorator adds the declared parameters to a function's
signature and its numpydoc "Parameters" section (at the ``<<SHARED>>`` line)
from this single source, validates them, and passes one :class:`Options`.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, replace
from typing import Any, Callable, Literal

from ..text.tokenize import Tokenizer, get_tokenizer
from .errors import InvalidParameterError
from .params import Bool, Choice, Int, Optional, Param, Real, describe_all

__all__ = ["Options", "BootstrapOptions", "with_options", "SHARED_PARAMS"]

Aggregate = Literal["per-prompt", "pooled"]
CI_METHODS = ("percentile", "BCa", "basic")


@dataclass(frozen=True)
class BootstrapOptions:
    """The bootstrap over prompts (``scipy.stats.bootstrap`` names)."""

    confidence_level: float = 0.95
    n_resamples: int = 10_000
    method: str = "percentile"
    seed: int = 0

    def field(self) -> str:
        return f"{self.confidence_level:g}-{self.method}-{self.n_resamples}"


@dataclass(frozen=True)
class Options:
    """Everything a public function passes down besides the metric's own parameters."""

    tokenizer: Tokenizer
    lowercase: bool = False
    aggregate: Aggregate | None = None
    ci: bool | None = None
    bootstrap: BootstrapOptions = BootstrapOptions()
    func: str = "score"

    @classmethod
    def default(cls, func: str = "score") -> "Options":
        return cls(get_tokenizer("unicode"), func=func)

    def but(self, **changes: Any) -> "Options":
        return replace(self, **changes)


class _Tokenizer:  # a constraint for the tokenizer option: a registry name or a Tokenizer
    def accepts(self, value):
        return isinstance(value, (str, Tokenizer))

    def describe(self):
        return "a tokenizer name or a Tokenizer"

    def normalize(self, value):
        return value


TEXT_PARAMS = (
    Param("tokenizer", _Tokenizer(), "unicode",  # type: ignore[arg-type]
          "Tokenizer name (see :mod:`diversity.text.tokenize`) or object; recorded as ``tok:``."),
    Param("lowercase", Bool(), False, "Lowercase before tokenizing; recorded as ``lc:``."),
)
AGGREGATE_PARAMS = (
    Param("aggregate", Optional(Choice(("per-prompt", "pooled"))), None,
          "For grouped samples: the mean of per-prompt values (default) or one pooled set. Ignored for a "
          "single set (``agg:none``)."),
)
CI_PARAMS = (
    Param("ci", Optional(Bool()), None,
          "Bootstrap CI over prompts. Default: on for per-prompt aggregation over 2+ prompts, off otherwise; "
          "a CI for a single or pooled set is an error."),
    Param("ci_level", Real(0.0, 1.0, low_open=True, high_open=True), 0.95, "Confidence level."),
    Param("n_resamples", Int(1), 10_000, "Bootstrap resamples."),
    Param("ci_method", Choice(CI_METHODS), "percentile", "``scipy.stats.bootstrap`` method."),
    Param("seed", Int(0), 0, "Seed of the bootstrap (recorded as ``seed:``)."),
)
SHARED_PARAMS = {"text": TEXT_PARAMS, "aggregate": AGGREGATE_PARAMS, "ci": CI_PARAMS}

# documentation of inputs that several public functions share (``<<NAME>>`` lines in their docstrings)
SHARED_DOCS = {
    "EMBED": """    samples : sequence of str, or mapping/sequence of sequences of str, optional
        Texts to embed (with ``embedder``); empty or whitespace-only completions are left out.
    embeddings : array (n, d), or mapping/sequence of arrays, optional
        Precomputed embeddings instead of (or aligned with) ``samples``;
        recorded as ``emb:precomputed``.
    embedder : Embedder or None
        Default: :class:`~diversity.embed.SentenceTransformerEmbedder` with
        all-MiniLM-L6-v2 (``emb:<model>@<weights hash>|maxlen:256``).""",
}


def build_options(func: str, values: dict[str, Any]) -> Options:
    """Validate shared option values (by name) into an :class:`Options`."""
    tok = values.get("tokenizer", "unicode")
    if not isinstance(tok, (str, Tokenizer)):
        raise InvalidParameterError(f"The 'tokenizer' parameter of {func} must be a tokenizer name or a Tokenizer. "
                                    f"Got {tok!r} instead.")
    checked = {p.name: p.check(values.get(p.name, p.default), func)
               for group in (TEXT_PARAMS[1:], AGGREGATE_PARAMS, CI_PARAMS) for p in group}
    return Options(
        tokenizer=get_tokenizer(tok), lowercase=checked["lowercase"], aggregate=checked["aggregate"],
        ci=checked["ci"], func=func,
        bootstrap=BootstrapOptions(checked["ci_level"], checked["n_resamples"], checked["ci_method"],
                                   checked["seed"]))


def with_options(*groups: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the shared parameters of ``groups`` ("text", "aggregate", "ci") to a
    public function: keyword-only, with their defaults and documentation. The
    function itself takes ``options`` (an :class:`Options`) instead."""
    params = [p for g in groups for p in SHARED_PARAMS[g]]
    names = {p.name for p in params}

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func)
        own = [p for p in sig.parameters.values() if p.name != "options"]
        extra = [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default) for p in params]
        new_sig = sig.replace(parameters=own + extra)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                bound = new_sig.bind(*args, **kwargs)
            except TypeError as e:
                raise TypeError(f"{func.__name__}() {e}") from None
            shared = {k: bound.arguments.pop(k) for k in list(bound.arguments) if k in names}
            opts = build_options(func.__name__, shared)
            return func(*bound.args, **bound.kwargs, options=opts)

        wrapper.__signature__ = new_sig  # type: ignore[attr-defined]
        doc = func.__doc__ or ""
        for name, text in SHARED_DOCS.items():
            doc = doc.replace(f"    <<{name}>>", text)
        wrapper.__doc__ = doc.replace("    <<SHARED>>", describe_all(params))
        return wrapper

    return deco
