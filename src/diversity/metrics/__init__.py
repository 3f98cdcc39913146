"""The built-in metrics, grouped by what they read: n-gram counts
(:mod:`.lexical`), whole texts (:mod:`.surface`), single-text richness
(:mod:`.richness`), overlap between completions (:mod:`.overlap`), embeddings
(:mod:`.semantic`, :mod:`.clusters`), quality-aware diversity and refusals
(:mod:`.effective`, :mod:`.refusal`), categorical values (:mod:`.categorical`)
and next-token distributions (:mod:`.model_based`). Importing this package
registers them all, in this order."""

from . import lexical, surface, richness, overlap, semantic, clusters, effective, refusal, categorical, model_based  # noqa: F401,I001,E501
from . import ngram_vendi, repetition, similarity  # noqa: F401,I001  (peers' metrics: n-gram Vendi, self-repetition, embedding homogenization)
