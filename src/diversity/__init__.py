"""diversity: exact, fast, citable output-diversity metrics for language-model completions.

>>> import diversity
>>> diversity.distinct_n(["the cat sat", "the cat ran"], n=1).value
0.6666666666666666
"""

from ._errors import InvalidParameterError, MemoryLimitError, UndefinedMetricWarning
from ._result import ConfidenceInterval, DiversityResult
from ._version import __version__
from .attributes import attribute_diversity, hill_number
from .bleu import Homogenization, SelfBLEU, homogenization, self_bleu
from .compare import (Comparison, LengthMismatchWarning, MetricComparison, compare, compare_many,
                      compare_results)
from .embed import EmbeddingCacheWarning
from .io import SampleFileError, load_records, load_samples
from .lexical import (
    EAD,
    CompressionRatio,
    Distinct,
    NgramEntropy,
    UniqueFraction,
    compression_ratio,
    distinct_n,
    ead,
    ngram_entropy,
    unique_fraction,
)
from .score import available_metrics, score
from .semantic import (
    CentroidDistance,
    Chamfer,
    MeanPairwiseDistance,
    RemoteClique,
    SemanticClusters,
    SemanticEntropy,
    VendiScore,
    centroid_distance,
    chamfer,
    mean_pairwise_distance,
    remote_clique,
    semantic_clusters,
    semantic_entropy,
    vendi_score,
)
from .streaming import NgramCounts
from .tokenize import Tokenizer, get_tokenizer
from .tokens import token_entropy

__all__ = [
    "__version__",
    "DiversityResult", "ConfidenceInterval", "UndefinedMetricWarning", "InvalidParameterError", "MemoryLimitError",
    "load_samples", "load_records", "SampleFileError", "EmbeddingCacheWarning",
    "distinct_n", "ead", "ngram_entropy", "unique_fraction", "compression_ratio",
    "Distinct", "EAD", "NgramEntropy", "UniqueFraction", "CompressionRatio",
    "self_bleu", "homogenization", "SelfBLEU", "Homogenization",
    "mean_pairwise_distance", "centroid_distance", "remote_clique", "chamfer", "vendi_score",
    "semantic_clusters", "semantic_entropy",
    "MeanPairwiseDistance", "CentroidDistance", "RemoteClique", "Chamfer", "VendiScore",
    "SemanticClusters", "SemanticEntropy",
    "score", "available_metrics",
    "compare", "compare_many", "compare_results", "Comparison", "MetricComparison", "LengthMismatchWarning",
    "NgramCounts",
    "attribute_diversity", "hill_number", "token_entropy",
    "Tokenizer", "get_tokenizer",
]
