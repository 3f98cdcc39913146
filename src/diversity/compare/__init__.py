"""Comparisons of models over the same prompts: fairness (equal k, length
control), paired statistics, and the :class:`Comparison` result."""

from .api import DEFAULT_COMPARE_METRICS, compare, compare_many, compare_results
from .result import Comparison, LengthMismatchWarning, MetricComparison

__all__ = ["compare", "compare_many", "compare_results", "Comparison", "MetricComparison", "LengthMismatchWarning",
           "DEFAULT_COMPARE_METRICS"]
