"""The public faces of evaluation: :func:`score` (several metrics, one pass) and :class:`Accumulator`
(a :class:`~diversity.core.state.State` fed chunk by chunk).

Both validate at the boundary (:func:`~diversity.core.prepare.prepare`); ``score()`` and every
metric function run the in-memory engine (:func:`diversity.engines.memory.evaluate`, re-exported
here with ``prepare``). See :mod:`diversity.engines` for the engines.
"""

from __future__ import annotations

from typing import Any, Hashable, Mapping, Sequence, Union

from ..engines.memory import evaluate
from .errors import InvalidParameterError
from .metric import Metric
from .options import Options, with_options
from .prepare import prepare
from .registry import resolve_metric
from .result import DiversityResult
from .state import State

__all__ = ["score", "evaluate", "prepare", "Accumulator", "DEFAULT_METRICS"]

DEFAULT_METRICS = ("distinct-1", "distinct-2", "distinct-3", "ngram-entropy-1", "ngram-entropy-2",
                   "unique-fraction", "compression-ratio")


@with_options("text", "aggregate", "ci")
def score(samples: Any = None, metrics: Sequence[Union[str, Metric]] = DEFAULT_METRICS, *, embeddings: Any = None,
          embedder: Any = None, kernel: Any = None, values: Any = None, logprobs: Any = None, quality: Any = None,
          gate: Any = None, n_jobs: int | None = None, options: Options) -> dict[str, DiversityResult]:
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
    n_jobs : int, optional
        Worker processes that score batches of about 200,000 / ``n_jobs``
        completions (default 1: this process; -1: every CPU). Texts are
        embedded once in this process; the numbers are those of ``n_jobs=1``.
        Processes start with ``spawn``: a script must guard its entry point
        with ``if __name__ == "__main__":``. Worth it from about half a
        million completions (1.3M on 2 cores: 139 s -> 99 s).
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
                       values=values, logprobs=logprobs, quality=quality, gate=gate, n_jobs=n_jobs)
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

