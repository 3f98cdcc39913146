"""One switch for everything the library prints while it works.

Progress bars are the only output of the library itself (results are returned,
problems are warnings or errors). :func:`set_progress` decides for all of them:

- ``None`` (the default, "auto"): a bar only for long jobs (more than 1,000 texts to
  embed, a sampling run) *and* only when standard error is a terminal; so a notebook
  or a log file stays quiet. Third-party bars (transformers' "Loading weights",
  Hugging Face Hub) are silenced while the library loads a model.
- ``True``: every bar of the library, and third-party bars left as their libraries
  set them.
- ``False``: nothing, third-party bars included.

A component's own ``progress=`` argument (``SentenceTransformerEmbedder(progress=...)``,
``sample_to_jsonl(progress=...)``), when given, wins over the switch. The command line's
``--quiet`` is ``set_progress(False)`` for one command.

>>> import diversity
>>> diversity.set_progress(False)
>>> diversity.get_progress()
False
>>> diversity.set_progress(None)
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

from .errors import InvalidParameterError

__all__ = ["set_progress", "get_progress", "show_progress", "quiet_model_loading"]

_SWITCH: dict[str, bool | None] = {"progress": None}
LONG_JOB = 1000  # texts: what "long" means for the automatic setting


def set_progress(enabled: bool | None) -> None:
    """Turn the library's progress output on (``True``), off (``False``) or automatic (``None``).

    Parameters
    ----------
    enabled : bool or None
        ``None`` (default at import): bars only for long jobs on a terminal,
        third-party model-loading bars silenced. ``True``: all bars. ``False``:
        none.
    """
    if enabled is not None and not isinstance(enabled, bool):
        raise InvalidParameterError("The 'enabled' parameter of set_progress must be True, False or None. "
                                    f"Got {enabled!r} instead.")
    _SWITCH["progress"] = enabled


def get_progress() -> bool | None:
    """The current setting of :func:`set_progress` (``None`` = automatic)."""
    return _SWITCH["progress"]


def _stderr_is_terminal() -> bool:
    try:
        return os.isatty(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):  # a notebook's stream has no file descriptor
        return False


def show_progress(n_items: int | None = None, *, own: bool | None = None) -> bool:
    """Whether a bar over ``n_items`` items should be drawn: ``own`` (a component's
    ``progress=`` argument) when given, else the switch; automatic means more than
    ``LONG_JOB`` items (or an unknown number) on a terminal."""
    if own is not None:
        return bool(own)
    setting = _SWITCH["progress"]
    if setting is not None:
        return setting
    return (n_items is None or n_items > LONG_JOB) and _stderr_is_terminal()


@contextlib.contextmanager
def quiet_model_loading() -> Iterator[None]:
    """Silence transformers' and the Hugging Face Hub's progress bars while a model
    loads, unless the switch is ``True``; their previous state is restored after."""
    if _SWITCH["progress"] is True:
        yield
        return
    restore = []
    try:
        import transformers.utils.logging as tlog  # noqa: F401  (only when the caller loads a model anyway)
    except Exception:  # noqa: BLE001 - transformers absent or broken: nothing to silence
        tlog = None
    if tlog is not None and tlog.is_progress_bar_enabled():
        tlog.disable_progress_bar()
        restore.append(tlog.enable_progress_bar)
    else:
        try:
            import huggingface_hub.utils as hub
        except Exception:  # noqa: BLE001
            hub = None
        if hub is not None and not hub.are_progress_bars_disabled():
            hub.disable_progress_bars()
            restore.append(hub.enable_progress_bars)
    try:
        yield
    finally:
        for undo in restore:
            undo()
