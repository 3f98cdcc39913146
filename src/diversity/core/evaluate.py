"""Evaluation: from user input to results, through one :class:`~diversity.core.state.State`.

``score()`` and every public metric function validate the input at the
boundary (:func:`prepare`), put it into a state as complete groups, and read
the results; streaming and the distributed engine feed the same state chunk
by chunk (:class:`Accumulator`).
"""

from __future__ import annotations

from typing import Any, Hashable, Mapping, Sequence, Union

from .data import as_array_groups, as_groups
from .errors import InvalidParameterError
from .metric import Metric
from .options import Options, with_options
from .registry import resolve_metric
from .result import DiversityResult
from .state import State

__all__ = ["score", "evaluate", "prepare", "Accumulator", "DEFAULT_METRICS"]

DEFAULT_METRICS = ("distinct-1", "distinct-2", "distinct-3", "ngram-entropy-1", "ngram-entropy-2",
                   "unique-fraction", "compression-ratio")


def prepare(func: str, metrics: Sequence[Metric], *, samples: Any = None, embeddings: Any = None,
            kernel: Any = None, values: Any = None, logprobs: Any = None, quality: Any = None, gate: Any = None
            ) -> tuple[bool, dict[Hashable, dict[str, list]]]:
    """Validate the input of ``metrics`` and return ``(grouped, {key: columns})``; with ``quality``
    (one value per completion) a ``scores`` column, with a ``gate`` a ``keep`` column."""
    grouped, columns = _prepare(func, metrics, samples=samples, embeddings=embeddings, kernel=kernel, values=values,
                                logprobs=logprobs)
    if quality is not None or gate is not None:
        from .quality_columns import add_quality_columns

        add_quality_columns(func, columns, grouped, quality, gate)
    return grouped, columns


def _prepare(func: str, metrics: Sequence[Metric], *, samples: Any = None, embeddings: Any = None,
             kernel: Any = None, values: Any = None, logprobs: Any = None
             ) -> tuple[bool, dict[Hashable, dict[str, list]]]:
    needs = {m.input for m in metrics}
    columns: dict[Hashable, dict[str, list]] = {}
    grouped = True
    if kernel is not None:
        if samples is not None or embeddings is not None:
            raise ValueError(f"{func}: pass either samples/embeddings or kernel, not both.")
        for m in metrics:
            if not m.accepts_kernel:
                raise ValueError(f"{func}: {m.spec} cannot be computed from a kernel matrix.")
        g, arrays = as_array_groups(kernel, "kernel", square=True)
        grouped = g.grouped
        return grouped, {k: {"kernels": [a]} for k, a in zip(g.keys, arrays)}
    if "values" in needs or "logprobs" in needs:
        if len(needs) > 1:
            raise ValueError(f"{func}: metrics of categorical values or log-probabilities cannot be scored together "
                             "with text metrics in one call.")
        from .inputs import as_logprob_groups, as_value_groups

        data = values if "values" in needs else logprobs
        name = "values" if "values" in needs else "logprobs"
        if data is None:
            raise InvalidParameterError(f"{func}: {metrics[0].spec} needs {name}=.")
        keys, sets, grouped = (as_value_groups if name == "values" else as_logprob_groups)(data, name)
        return grouped, {k: {name: list(s)} for k, s in zip(keys, sets)}
    if samples is None and embeddings is None:
        if "vectors" in needs:
            raise ValueError(f"{func}: pass samples (texts), or embeddings=" +
                             (" or kernel=." if any(m.accepts_kernel for m in metrics) else "."))
        raise TypeError(f"{func}: samples is None; pass the completions (a sequence of strings, or a mapping "
                        "prompt -> sequence of strings).")
    if samples is None and any(m.input == "texts" for m in metrics):
        m = next(m for m in metrics if m.input == "texts")
        raise ValueError(f"{func}: {m.spec} is computed from the texts; only embeddings or kernels were given.")
    text_groups = as_groups(samples) if samples is not None else None
    if embeddings is not None:
        g, arrays = as_array_groups(embeddings, "embeddings")
        if text_groups is not None:
            _check_aligned(func, text_groups, g)
            g = text_groups
        grouped = g.grouped
        for i, (k, a) in enumerate(zip(g.keys, arrays)):
            cols: dict[str, list] = {"embeddings": list(a)}
            if text_groups is not None:
                cols["texts"] = list(text_groups.sets[i])
            columns[k] = cols
        return grouped, columns
    return text_groups.grouped, {k: {"texts": list(s)} for k, s in zip(text_groups.keys, text_groups.sets)}


def _check_aligned(func: str, text_groups: Any, groups: Any) -> None:
    if text_groups.grouped and groups.grouped and text_groups.keys != groups.keys:
        only_t = [k for k in text_groups.keys if k not in groups.keys][:3]
        only_e = [k for k in groups.keys if k not in text_groups.keys][:3]
        raise ValueError(f"{func}: samples and embeddings have different prompt keys (only in samples: "
                         f"{only_t!r}, only in embeddings: {only_e!r}"
                         + ("; same keys in another order" if not only_t and not only_e else "") + ").")
    if text_groups.sizes != groups.sizes:
        if len(text_groups.sizes) == len(groups.sizes):
            bad = next(i for i, (a, b) in enumerate(zip(text_groups.sizes, groups.sizes)) if a != b)
            where = (f"prompt {text_groups.keys[bad]!r} has {text_groups.sizes[bad]} completions but "
                     f"{groups.sizes[bad]} embedding rows")
        else:
            where = f"{len(text_groups.sizes)} prompts of samples vs {len(groups.sizes)} of embeddings"
        raise ValueError(f"{func}: samples and embeddings do not match: {where}.")


def evaluate(metrics: Sequence[Metric], options: Options, *, samples: Any = None, embeddings: Any = None,
             embedder: Any = None, kernel: Any = None, values: Any = None, logprobs: Any = None,
             quality: Any = None, gate: Any = None, context_fields: Sequence[tuple[str, Any]] = (),
             embedding_fields: Sequence[tuple[str, Any]] | None = None) -> list[DiversityResult]:
    """Compute ``metrics`` on the input in one pass (tokenization, counts and
    embeddings computed once and shared)."""
    from ..quality.gates import parse_gate

    gate = parse_gate(gate)
    grouped, columns = prepare(options.func, metrics, samples=samples, embeddings=embeddings, kernel=kernel,
                               values=values, logprobs=logprobs, quality=quality, gate=gate)
    if gate is not None:
        context_fields = [*context_fields, ("gate", gate.spec)]
    mode = "single" if not grouped else (options.aggregate or "per-prompt")
    state = State(metrics, options, mode, embedder=embedder, context_fields=context_fields)
    if embedding_fields is not None:  # vectors computed by the caller with a known model
        state.embedding_fields = list(embedding_fields)
    if mode == "single":
        columns = {0: next(iter(columns.values()))}
    for batch in _batches(columns):  # bounded memory: tokens, counts and pairs of one batch of prompts at a time
        state.update(batch)
    return state.results()


BATCH_ITEMS = 200_000  # completions scored together (more prompts are scored batch by batch, same values)


def _batches(columns: dict[Hashable, dict[str, list]]):
    batch: dict[Hashable, dict[str, list]] = {}
    size = 0
    for key, cols in columns.items():
        batch[key] = cols
        size += len(next(iter(cols.values()))) if cols else 0
        if size >= BATCH_ITEMS:
            yield batch
            batch, size = {}, 0
    if batch:
        yield batch


@with_options("text", "aggregate", "ci")
def score(samples: Any = None, metrics: Sequence[Union[str, Metric]] = DEFAULT_METRICS, *, embeddings: Any = None,
          embedder: Any = None, kernel: Any = None, values: Any = None, logprobs: Any = None, quality: Any = None,
          gate: Any = None, options: Options) -> dict[str, DiversityResult]:
    """Compute several metrics on the same samples.

    Tokenization and n-gram counts are computed once and shared, so
    ``score(x, ["distinct-1", ..., "ngram-entropy-4"])`` costs little more
    than the slowest single metric; texts are embedded once for all semantic
    metrics.

    Parameters
    ----------
    samples : sequence of str, or mapping/sequence of sequences of str
        One set of completions, or completions grouped by prompt.
    metrics : sequence of str or Metric
        Specs (see :func:`available_metrics`: a name with optional parameters,
        e.g. ``"ead-2?vocab_size=32000"``) or metric objects.
    embeddings, embedder, kernel
        For semantic metrics: precomputed embeddings aligned with ``samples``,
        the embedder (default all-MiniLM-L6-v2), or Vendi kernels.
    values
        Categorical values for ``attribute-*`` metrics.
    logprobs
        Per-position log-probabilities for ``token-entropy``.
    quality : mapping prompt -> sequence, sequence, or callable, optional
        One value per completion (aligned with ``samples``): quality scores or
        rewards for ``effective-semantic-diversity``, ``novelty-utility`` and
        score gates, or a field such as ``finish_reason`` for ``field=value``
        gates; a callable ``text -> score`` is applied to every completion.
    gate : str or Gate, optional
        Score only the completions that pass: ``"no-refusal"``,
        ``"reward>=0.5"``, ``"finish_reason=stop"`` (see
        :mod:`diversity.quality.gates`); recorded as ``gate:`` in every
        signature, with the completions each prompt kept in ``details``.
    <<SHARED>>

    Returns
    -------
    dict
        ``spec -> DiversityResult`` in the order asked.

    Examples
    --------
    >>> res = score({"p1": ["a b c", "a b d"], "p2": ["x y", "z w"]}, ["distinct-1", "unique-fraction"])
    >>> [(k, round(v.value, 3)) for k, v in res.items()]
    [('distinct-1', 0.833), ('unique-fraction', 1.0)]
    """
    if isinstance(metrics, (str, Metric)):
        metrics = [metrics]
    objs = [resolve_metric(m) for m in metrics]
    if not objs:
        raise InvalidParameterError("score() needs at least one metric.")
    specs = [m.spec for m in objs]
    dup = sorted({s for s in specs if specs.count(s) > 1})
    if dup:
        raise InvalidParameterError(f"score() got the same metric twice: {', '.join(dup)}.")
    results = evaluate(objs, options, samples=samples, embeddings=embeddings, embedder=embedder, kernel=kernel,
                       values=values, logprobs=logprobs, quality=quality, gate=gate)
    return dict(zip(specs, results))


class Accumulator:
    """Score data that arrives in chunks (a file read in pieces, partitions of a
    cluster), with the same numbers as one pass over all of it.

    >>> from diversity.core.options import Options
    >>> acc = Accumulator(["distinct-1"], Options.default())
    >>> acc.update({"p": ["a b"]}, complete=False).update({"p": ["a c"]}).results()["distinct-1"].value
    0.75
    """

    def __init__(self, metrics: Sequence[Union[str, Metric]], options: Options | None = None, *,
                 mode: str = "per-prompt", embedder: Any = None,
                 context_fields: Sequence[tuple[str, Any]] = ()) -> None:
        if options is None:  # the defaults of score()
            options = Options.default()
        self.metrics = [resolve_metric(m) for m in metrics]
        self.state = State(self.metrics, options, mode, embedder=embedder, context_fields=context_fields)

    def update(self, samples: Mapping[Hashable, Sequence[str]] | None = None, *, embeddings: Any = None,
               values: Any = None, logprobs: Any = None, complete: bool = True) -> "Accumulator":
        """Add a chunk grouped by prompt. ``complete=False``: these prompts may
        get more completions in a later chunk."""
        _, columns = prepare(self.state.options.func, self.metrics, samples=samples, embeddings=embeddings,
                             values=values, logprobs=logprobs)
        self.state.update(columns, complete=complete)
        return self

    def finish(self, keys: Sequence[Hashable] | None = None) -> "Accumulator":
        self.state.finish(keys)
        return self

    def merge(self, other: "Accumulator") -> "Accumulator":
        out = Accumulator.__new__(Accumulator)
        out.metrics = self.metrics
        out.state = self.state.merge(other.state)
        return out

    def results(self) -> dict[str, DiversityResult]:
        return dict(zip([m.spec for m in self.metrics], self.state.results()))

