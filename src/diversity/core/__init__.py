"""The core: input model, corpus views, the metric protocol and its registry,
evaluation (in memory and streaming through the same mergeable state),
signatures, results and validation.

The core imports nothing from ``embed``, ``io``, ``report``, ``compare`` or
``generation`` (a test checks the import graph): metrics and entry points
bring those in where they are used.
"""
