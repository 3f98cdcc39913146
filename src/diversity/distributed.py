"""The Dask engine's public module: :func:`score_dask` (implemented in
:mod:`diversity.engines.dask_engine`; see ``docs/distributed.md``). Dask is an
optional extra (``pip install 'llm-diversity[dask]'``); ``import diversity``
never imports this module.
"""

from .engines.dask_engine import embedder_report as _embedder_report  # noqa: F401 (tests and client.run)
from .engines.dask_engine import score_dask

__all__ = ["score_dask"]
