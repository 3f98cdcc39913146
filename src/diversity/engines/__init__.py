"""Engines: where the data comes from and where the work runs, all through one protocol.

Every engine follows :class:`~diversity.engines.plan.Plan`: the input is split
into partitions, each partition becomes a :class:`~diversity.core.state.State`
(validated at the boundary by :func:`~diversity.core.prepare.prepare`, gates
decided, texts embedded once), states merge in any order or tree, and
:meth:`Plan.finish` turns the merged state into results. Prompt positions
travel inside the states, so results list prompts in input order whatever the
order of merges.

* :mod:`~diversity.engines.memory`: data in memory (``score()`` and every
  metric function), in batches of prompts, optionally over ``n_jobs`` processes;
* :mod:`~diversity.engines.files`: a sample file read in chunks (``score_file``,
  ``diversity score``);
* :mod:`~diversity.engines.dask_engine`: a Dask cluster (``score_dask``).

Only the first is imported by ``import diversity``; a new engine (Ray, Spark)
needs a way to make partitions and to merge, and nothing else.
"""
