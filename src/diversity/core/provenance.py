"""Provenance of a :class:`~diversity.core.state.State`: the embedder that made its vectors, and the
checks that refuse merging statistics that must not be added (see the State docstring)."""

from __future__ import annotations

from typing import Any

__all__ = ["embedder_identity", "describe_identity", "PickledEmbedder", "check_mergeable"]


def embedder_identity(embedder: Any) -> tuple[tuple[str, Any], ...] | None:
    """What makes an embedder's vectors: ``(("name", ...), ("revision", ...), ("backend", ...), ("device", ...))``.

    ``None`` for no embedder. The name is the embedder's ``model_id`` (else
    its class); revision, backend and device are its attributes of those
    names (``None`` when it has none).
    """
    if embedder is None:
        return None
    name = getattr(embedder, "model_id", None) or f"{type(embedder).__module__}.{type(embedder).__qualname__}"
    device = getattr(embedder, "device", None)
    return (("name", str(name)), ("revision", getattr(embedder, "revision", None)),
            ("backend", getattr(embedder, "backend", None)), ("device", None if device is None else str(device)))


def describe_identity(identity: tuple[tuple[str, Any], ...] | None) -> str:
    if identity is None:
        return "no embedder"
    return ", ".join(f"{k} {v}" for k, v in identity if v is not None)


class PickledEmbedder:
    """A state's embedder pickled once, with the state (see ``State.__getstate__``)."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob


def check_mergeable(a: Any, b: Any) -> None:
    """Raise ``ValueError`` when states ``a`` and ``b`` must not be merged (see ``State.merge``)."""
    if b is a:
        raise ValueError("cannot merge a state with itself: its data would be counted twice. Merge states "
                         "that saw different data.")
    if [m.spec for m in a.metrics] != [m.spec for m in b.metrics] or a.mode != b.mode or \
            a.options.tokenizer.spec != b.options.tokenizer.spec or \
            a.options.lowercase != b.options.lowercase or a.context_fields != b.context_fields:
        raise ValueError("cannot merge states of different metrics, modes or settings")
    if a.embedder_identity is not None and b.embedder_identity is not None and \
            a.embedder_identity != b.embedder_identity:
        raise ValueError(f"cannot merge states embedded by different embedders "
                         f"({describe_identity(a.embedder_identity)} vs "
                         f"{describe_identity(b.embedder_identity)}): their vectors are not comparable. "
                         "Score both with one embedder.")
    if a.embedding_fields and b.embedding_fields and list(a.embedding_fields) != list(b.embedding_fields):
        show = lambda f: "|".join(f"{k}:{v}" for k, v in f)  # noqa: E731
        raise ValueError(f"cannot merge states whose vectors come from different embedders "
                         f"({show(a.embedding_fields)} vs {show(b.embedding_fields)}). Score both with one "
                         "embedder.")
    both = a.chunks.keys() & b.chunks.keys()
    if both:
        d = next(iter(both))
        raise ValueError(f"cannot merge: both states hold the same chunk of data (first prompt "
                         f"{a.chunks[d]!r}, chunk {d[:12]}); merging would count its completions twice. Was "
                         "a state merged twice, or with a copy of itself?")
