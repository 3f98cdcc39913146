"""Comparisons of models over the same prompts: fairness (equal k, length
control), paired statistics with one Holm family, cross-model homogeneity,
and the :class:`Comparison` / :class:`MultiComparison` results."""

from .api import DEFAULT_COMPARE_METRICS, compare, compare_many, compare_results, default_compare_metrics
from .multi import MultiComparison
from .result import (Comparison, EmbeddingTruncationWarning, LengthMismatchWarning, MetricComparison,
                     UnreachableSignificanceWarning)

__all__ = ["compare", "compare_many", "compare_results", "default_compare_metrics", "Comparison",
           "MultiComparison", "MetricComparison", "LengthMismatchWarning", "UnreachableSignificanceWarning",
           "EmbeddingTruncationWarning", "DEFAULT_COMPARE_METRICS"]
