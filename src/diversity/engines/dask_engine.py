"""The Dask engine: :func:`score_dask` scores a dask DataFrame (or files) on any
Dask cluster, with the numbers of :func:`diversity.score`.

The engines' protocol (:class:`~diversity.engines.plan.Plan`) as a Dask graph:
a shuffle on the prompt column puts every row of a prompt in one partition
(rows carry their input position, which each prompt's state keeps as its
``first_rows``); a map task per partition validates, embeds (one embedder per
worker process) and computes its prompts into a ``State`` (a pooled run keeps
the declared compact statistics, not the texts, where the metrics allow:
:mod:`diversity.core.statistics`); states merge in a tree; the client calls
``Plan.finish``, which lists prompts in input order. See
``docs/distributed.md``. Dask is an optional extra (``pip install
'llm-diversity[dask]'``); ``import diversity`` never imports this module.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from typing import Any, Hashable, Sequence, Union

import numpy as np

from ..core.compute import one_thread_per_task
from ..core.errors import InvalidParameterError, warn
from ..core.metric import Metric
from ..core.options import Options, with_options
from ..core.params import Int, Optional, Param
from ..core.prepare import prepare
from ..core.registry import resolve_metric
from ..core.result import DiversityResult
from ..core.state import State
from .plan import Plan, embed_columns

__all__ = ["score_dask", "embedder_report"]

INSTALL = "pip install 'llm-diversity[dask]'"
SPLIT_EVERY = 8  # partition states merged per reduction task
PART, POS = "_diversity_partition", "_diversity_position"  # input partition and row within it
_NPARTITIONS = Param("npartitions", Optional(Int(1)), None, "Partitions after the shuffle by prompt.")


def _import_dask() -> tuple[Any, Any]:
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as e:
        raise ImportError(f"score_dask needs dask[distributed] and pyarrow: {INSTALL}") from e
    return dask, dd


@with_options("text", "aggregate", "ci")
def score_dask(data: Any, metrics: Sequence[Union[str, Metric]], *, prompt_field: str = "prompt",
               completion_field: str | None = "completion", embedding_field: str | None = None,
               quality_field: str | None = None, gate: Any = None, embedder: Any = None,
               npartitions: int | None = None, client: Any = None, options: Options) -> dict[str, DiversityResult]:
    """Compute several metrics over a dask DataFrame (or files) on a Dask cluster.

    The numbers of :func:`diversity.score` on the same data, to 1e-12 (per-prompt
    values, CIs and signatures included): prompts in order of first appearance,
    completions in row order, as :func:`diversity.load_samples` reads a file.

    Parameters
    ----------
    data : dask.dataframe.DataFrame, datasets.Dataset, or path, glob or list of paths
        One completion per row. Files: JSON lines (``.jsonl``, ``.ndjson``,
        ``.json``, optionally ``.gz``), ``.csv``/``.tsv`` (cells read as strings,
        exactly as written) or Parquet (``.parquet``, ``.pq`` or a folder). A
        Hugging Face ``Dataset`` (or a ``DatasetDict`` of one split, or an
        ``IterableDataset``) is read on the client (``Dataset.to_pandas()``)
        into ``npartitions`` partitions: a ``completion`` column, a
        ``completions`` list column (one row per completion after it), or chat
        rows in ``messages`` as :func:`diversity.from_dataset` reads them.
    metrics : sequence of str or Metric
        Metrics of texts or vectors (not categorical or log-probability ones).
    prompt_field, completion_field : str
        Columns of the prompt key (strings or integers) and of the completion;
        ``completion_field=None``: vector metrics on ``embedding_field`` only.
    embedding_field : str, optional
        Precomputed embeddings, a list or array of floats per row
        (``emb:precomputed``); otherwise texts are embedded on the workers.
    quality_field : str, optional
        Per-completion values (``quality=`` of ``score()``): scores of
        quality-aware metrics, and what a field gate tests.
    gate : str or Gate, optional
        Score only the completions that pass (``"no-refusal"``,
        ``"reward>=0.5"`` with ``quality_field="reward"``,
        ``"finish_reason=stop"``; see :mod:`diversity.quality.gates`), decided
        on the workers; ``gate:`` in every signature, as by ``score()``.
    embedder : Embedder or None
        Default: the metric's default model, built once per worker process and
        cached under the worker's ``DIVERSITY_CACHE_DIR``. A
        :class:`~diversity.embed.SentenceTransformerEmbedder` travels as its
        settings (paths must be valid on the workers); another embedder is
        pickled once, so it should load its model lazily.
    npartitions : int, optional
        Partitions after the shuffle by prompt (default: those of the input).
    client : distributed.Client, optional
        Default: the current Dask scheduler.
    <<SHARED>>

    Returns
    -------
    dict
        ``spec -> DiversityResult`` in the order asked.

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> df = pd.DataFrame({"prompt": ["p1", "p2", "p1", "p2"], "completion": ["a b c", "x y", "a b d", "z w"]})
    >>> res = score_dask(dd.from_pandas(df, npartitions=2), ["distinct-1", "unique-fraction"])
    >>> [(k, round(v.value, 3)) for k, v in res.items()]
    [('distinct-1', 0.833), ('unique-fraction', 1.0)]
    """
    dask, dd = _import_dask()
    objs = _resolve_metrics(metrics)
    func = options.func
    fields = {"prompt_field": prompt_field, "completion_field": completion_field,
              "embedding_field": embedding_field, "quality_field": quality_field}
    npartitions = _NPARTITIONS.check(npartitions, func)
    needs_texts = any(m.input == "texts" for m in objs)
    needs_vectors = any(m.input == "vectors" for m in objs)
    if completion_field is None and (needs_texts or embedding_field is None):
        m = next((m for m in objs if m.input == "texts"), objs[0])
        raise ValueError(f"{func}: {m.spec} needs the texts; pass completion_field=" +
                         ("." if needs_texts else " or embedding_field=."))
    if embedding_field is not None and embedder is not None:
        raise ValueError(f"{func}: pass embedder= (to embed the texts) or embedding_field= (precomputed "
                         "embeddings), not both.")
    from ..quality.gates import parse_gate

    gate = parse_gate(gate)
    if gate is not None and gate.needs is not None and quality_field is None:
        raise InvalidParameterError(f"The 'quality_field' parameter of {func} is needed by the gate {gate.spec!r}: "
                                    f"name the column holding each completion's {gate.needs!r}.")
    if gate is not None and completion_field is None:
        raise InvalidParameterError(f"The 'gate' parameter of {func} needs the texts; pass completion_field=.")
    frame = _as_frame(data, dask, dd, func, fields, npartitions)
    _check_columns(frame, fields, func)
    recipe = _recipe(embedder, objs) if needs_vectors and embedding_field is None else None
    job = _Job(objs, options, options.aggregate or "per-prompt", fields, recipe, gate)
    frame = frame[list(dict.fromkeys(c for c in fields.values() if c is not None))]
    frame = frame.map_partitions(_with_positions, embedding_field=embedding_field,
                                 meta=_with_positions(frame._meta, embedding_field))
    frame = frame.shuffle(on=prompt_field, npartitions=npartitions)
    shared = dask.delayed(job, pure=True, traverse=False)  # one copy in the graph, sent once to each worker
    level = [dask.delayed(_partition_state, pure=True)(part, shared) for part in frame.to_delayed()]
    while len(level) > 1:
        level = [dask.delayed(_merge, pure=True)(*level[i:i + SPLIT_EVERY])
                 for i in range(0, len(level), SPLIT_EVERY)]
    partial = client.compute(level[0]).result() if client is not None else dask.compute(level[0])[0]
    return dict(zip([m.spec for m in objs], job.finish(partial)))


def _resolve_metrics(metrics: Any) -> list[Metric]:
    if isinstance(metrics, (str, Metric)):
        metrics = [metrics]
    objs = [resolve_metric(m) for m in metrics]
    if not objs:
        raise InvalidParameterError("score_dask() needs at least one metric.")
    specs = [m.spec for m in objs]
    dup = sorted({s for s in specs if specs.count(s) > 1})
    if dup:
        raise InvalidParameterError(f"score_dask() got the same metric twice: {', '.join(dup)}.")
    for m in objs:
        if m.input not in ("texts", "vectors"):
            raise InvalidParameterError(f"score_dask scores texts and embeddings; {m.spec} is computed from "
                                        f"{m.input} (use diversity.score for it).")
    return objs


def _as_frame(data: Any, dask: Any, dd: Any, func: str, fields: dict[str, str | None],
              npartitions: int | None = None) -> Any:
    if isinstance(data, dd.DataFrame):
        return data
    from ..io.hf_datasets import is_hf_dataset

    if is_hf_dataset(data):
        from ..io.partitions import dataset_frame

        df = dataset_frame(data, func, fields)
        with dask.config.set({"dataframe.convert-string": False}):
            return dd.from_pandas(df, npartitions=npartitions or max(1, min(os.cpu_count() or 1, len(df) // 1000)),
                                  sort=False)
    if isinstance(data, (str, os.PathLike)) or (isinstance(data, (list, tuple)) and data and
                                               all(isinstance(p, (str, os.PathLike)) for p in data)):
        from ..io.partitions import read_files

        return read_files([data] if isinstance(data, (str, os.PathLike)) else list(data), dask, dd, func, fields)
    what = f"{type(data).__module__}.{type(data).__name__}"
    hint = (" (a pandas DataFrame: dask.dataframe.from_pandas(df, npartitions=...), or diversity.score for data "
            "that fits in memory)" if hasattr(data, "columns") and hasattr(data, "iloc") else "")
    raise TypeError(f"{func}: data must be a dask.dataframe.DataFrame or file paths (a path, a glob or a list of "
                    f"paths), or a datasets.Dataset; got {what}{hint}.")


def _check_columns(frame: Any, fields: dict[str, str | None], func: str) -> None:
    columns = list(frame.columns)
    missing = [(name, col) for name, col in fields.items() if col is not None and col not in columns]
    if missing:
        what = ", ".join(f"{col!r} ({name})" for name, col in missing)
        raise ValueError(f"{func}: no column {what} in the data; its columns: {', '.join(map(str, columns))}.")
    emb = fields["embedding_field"]
    dtype = str(frame.dtypes[emb]) if emb is not None else ""
    if "list" not in dtype and (dtype == "str" or "string" in dtype):
        raise TypeError(f"{func}: the embedding column {emb!r} holds strings, not lists of numbers. dask turns "
                        "object columns into strings by default: build the frame with a list dtype "
                        "(pd.ArrowDtype(pa.list_(pa.float64()))), inside dask.config.set({'dataframe.convert-string': "
                        "False}), or read Parquet.")


def _with_positions(df: Any, embedding_field: str | None = None, partition_info: dict | None = None) -> Any:
    """The rows with their input partition and position (the input's row order survives the shuffle);
    a pyarrow list column of embeddings as objects (arrays), which the peer-to-peer shuffle carries."""
    df = df.copy()
    if embedding_field is not None and "list" in str(df[embedding_field].dtype):
        df[embedding_field] = df[embedding_field].astype(object)
    df[PART] = np.int64(partition_info["number"] if partition_info else 0)
    df[POS] = np.arange(len(df), dtype=np.int64)
    return df


_EMBEDDERS: dict[Hashable, Any] = {}
_LOCKS: dict[Hashable, threading.Lock] = {}
_USES: dict[Hashable, int] = {}
_GUARD = threading.Lock()


class _Recipe:
    """How a worker builds the embedder (``key`` names it in the worker's cache)."""

    def __init__(self, key: Hashable, kind: str, payload: Any) -> None:
        self.key, self.kind, self.payload = key, kind, payload

    def make(self) -> Any:
        if self.kind == "default":
            return self.payload.default_embedder()
        if self.kind == "sentence-transformers":
            from ..embed import SentenceTransformerEmbedder

            return SentenceTransformerEmbedder(**self.payload)
        import cloudpickle

        return cloudpickle.loads(self.payload)  # the caller's embedder as it was on the client


def _recipe(embedder: Any, metrics: list[Metric]) -> _Recipe:
    if embedder is None:  # the metric's default, built on the worker (its cache: the worker's DIVERSITY_CACHE_DIR)
        m = next(m for m in metrics if m.input == "vectors")  # metrics sharing a default share the embedder
        return _Recipe(("default", m.default_embedder.__module__, m.default_embedder.__qualname__), "default", m)
    from ..embed import DEFAULT_MODEL_ID, SentenceTransformerEmbedder

    if isinstance(embedder, SentenceTransformerEmbedder):
        e = embedder
        model = None if e.model_id == DEFAULT_MODEL_ID and e.path.is_dir() else \
            (str(e.path) if e.path.exists() else e.model_id)
        cache = False if e.cache is None else str(e.cache.directory.parent.parent)
        payload = {"model": model, "device": e.device, "batch_size": e.batch_size, "chunk_size": e.chunk_size,
                   "cache": cache, "progress": False, "backend": e.backend}
        return _Recipe(("sentence-transformers", *sorted(payload.items())), "sentence-transformers", payload)
    import cloudpickle

    blob = cloudpickle.dumps(embedder)  # bytes: what a worker builds never depends on another worker's copy
    return _Recipe(("object", type(embedder).__qualname__, hashlib.sha256(blob).hexdigest()[:16]), "object", blob)


def _worker_embedder(recipe: _Recipe) -> tuple[Any, threading.Lock]:
    """This process's embedder for ``recipe`` (built on first use, then kept) and its lock."""
    with _GUARD:
        if recipe.key not in _EMBEDDERS:
            _EMBEDDERS[recipe.key] = recipe.make()
            _LOCKS[recipe.key] = threading.Lock()
        _USES[recipe.key] = _USES.get(recipe.key, 0) + 1
        return _EMBEDDERS[recipe.key], _LOCKS[recipe.key]


def embedder_report() -> dict[str, dict[str, Any]]:
    """This process's embedders: tasks that used each, model loaded, texts encoded (``client.run`` it)."""
    with _GUARD:
        return {repr(k): {"uses": _USES.get(k, 0), "loaded": getattr(e, "_model", True) is not None,
                          "n_encoded": getattr(e, "n_encoded", None)} for k, e in _EMBEDDERS.items()}


class _Job:
    """The settings every task needs (one copy in the graph): the plan (metrics, options, mode, gate), the
    embedder recipe and the columns (``prompt_field``, ``completion_field``, ``embedding_field``, ``quality_field``)."""

    def __init__(self, metrics: list[Metric], options: Options, mode: str, fields: dict[str, str | None],
                 recipe: _Recipe | None, gate: Any = None) -> None:
        self.recipe, self.gate = recipe, gate
        self.plan = Plan(metrics, options, mode, context_fields=(("gate", gate.spec),) if gate is not None else ())
        self.metrics, self.options, self.mode = self.plan.metrics, options, mode
        self.prompt_field, self.completion_field, self.embedding_field, self.quality_field = fields.values()

    def finish(self, partial: tuple) -> list[DiversityResult]:
        """On the client: warnings, checks across partitions, then ``Plan.finish`` (prompts in input order)."""
        func, (merged, widths, caught) = self.options.func, partial
        for (category, message) in caught:
            warn(message, category)
        if len(widths) > 1:
            (d1, k1), (d2, k2) = sorted(widths.items(), key=lambda x: x[1][0])[:2]
            raise ValueError(f"{func}: the embedding column {self.embedding_field!r} has rows of dimension {d1} "
                             f"(prompt {k1[1]!r}) and {d2} (prompt {k2[1]!r}).")
        if not merged.order:
            raise ValueError(f"{func}: the data has no rows.")
        return self.plan.finish(merged)


# A map or reduce task returns (state, {embedding width: (first row, a prompt that has it)},
# {(warning category, message): None} raised on the worker); prompts' first rows travel in the state.

def _partition_state(df: Any, job: _Job) -> tuple:
    with warnings.catch_warnings(record=True) as caught, one_thread_per_task():  # the cluster's threads are the cores
        warnings.simplefilter("always")
        state, widths = _build(df, job)
    return state, widths, {(w.category, str(w.message)): None for w in caught}


def _merge(*parts: tuple) -> tuple:
    states = [p[0] for p in parts]
    widths: dict = {}
    caught: dict = {}
    for _, w, c in parts:
        for d, at in w.items():
            if d not in widths or at < widths[d]:
                widths[d] = at
        caught.update(c)
    return Plan.merge(states), widths, caught


def _build(df: Any, job: _Job) -> tuple[State, dict]:
    """One partition (every row of its prompts) -> a state of its prompts, as ``score()`` would compute them."""
    import pandas as pd

    func = job.options.func
    state = job.plan.new_state()
    if len(df) == 0:
        return state, {}
    df = df.sort_values([PART, POS], kind="stable")  # input row order
    prompts = df[job.prompt_field]
    if prompts.isna().any():
        row = int(np.flatnonzero(prompts.isna().to_numpy())[0])
        raise ValueError(f"{func}: the prompt column {job.prompt_field!r} is missing in {int(prompts.isna().sum())} "
                         f"row(s) (e.g. row {int(df[POS].iloc[row])} of input partition {int(df[PART].iloc[row])}).")
    codes, uniques = pd.factorize(prompts.to_numpy(dtype=object))  # prompts in order of first appearance
    keys = [k.item() if isinstance(k, np.generic) else k for k in uniques]
    bad = next((k for k in keys if isinstance(k, (bool, float))), None)
    if bad is not None:
        raise TypeError(f"{func}: prompt key {bad!r} in column {job.prompt_field!r} is a {type(bad).__name__}; "
                        "prompt keys must be strings or integers (1.0 would be ambiguous).")
    groups = np.split(np.argsort(codes, kind="stable"), np.cumsum(np.bincount(codes))[:-1])  # rows per prompt
    part, pos = df[PART].to_numpy(), df[POS].to_numpy()
    first = {k: (int(part[idx[0]]), int(pos[idx[0]])) for k, idx in zip(keys, groups)}

    def column(name: str) -> list:
        values = df[name].tolist()
        return [[values[i] for i in idx] for idx in groups]

    samples = embeddings = quality = None
    if job.completion_field is not None:
        missing = df[job.completion_field].isna().to_numpy()
        if missing.any():
            g = int(codes[np.flatnonzero(missing)[0]])
            i = int(np.flatnonzero(missing[groups[g]])[0])
            raise ValueError(f"{func}: the completion column {job.completion_field!r} is missing in "
                             f"{int(missing.sum())} row(s), e.g. completion {i} of prompt {keys[g]!r}; an empty "
                             "completion is the empty string.")
        samples = dict(zip(keys, column(job.completion_field)))
    widths: dict[int, tuple] = {}
    if job.embedding_field is not None:
        embeddings = {k: _embedding_rows(cells, job.embedding_field, k, func)
                      for k, cells in zip(keys, column(job.embedding_field))}
        for k, a in embeddings.items():
            if a.shape[1] not in widths or first[k] < widths[a.shape[1]][0]:
                widths[a.shape[1]] = (first[k], k)
    if job.quality_field is not None:
        quality = dict(zip(keys, column(job.quality_field)))
    _, columns = prepare(func, job.metrics, samples=samples, embeddings=embeddings, quality=quality, gate=job.gate)
    if job.recipe is not None:
        embedder, lock = _worker_embedder(job.recipe)
        with lock:
            done = embed_columns(columns, embedder, job.options)
        if done is not None:
            state.embedding_fields, state.embedder_identity = done
    # per prompt: every prompt of the partition is complete; pooled: statistics (or items) of the pooled set
    job.plan.partition(columns, complete=True, first_rows=first, state=state)
    return state, widths


def _embedding_rows(cells: list, field: str, key: Hashable, func: str) -> np.ndarray:
    for i, c in enumerate(cells):
        if c is None or isinstance(c, (str, bytes)) or (isinstance(c, float) and np.isnan(c)):
            raise TypeError(f"{func}: the embedding column {field!r} holds {c!r} in completion {i} of prompt "
                            f"{key!r}; each row must be a list or array of numbers.")
    try:
        return np.asarray([np.asarray(c, dtype=np.float64) for c in cells], dtype=np.float64)
    except ValueError:
        sizes = sorted({len(c) for c in cells})
        raise ValueError(f"{func}: the embedding column {field!r} has rows of lengths {sizes} in prompt {key!r}; "
                         "every row must have the same dimension.") from None
