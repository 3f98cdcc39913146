"""Input and output of sample sets: one reader for JSONL/CSV/TSV (plain or
gzip) and Parquet files (:mod:`diversity.io.reader`, shared by every path),
loaders for files and pandas frames with errors that name file and line, and
the bundled example data sets (:mod:`diversity.io.datasets`)."""

from ..core.data import register_samples_adapter
from .columns import load_column
from .hf_datasets import dataset_samples, is_hf_dataset
from .loaders import SampleFileError, load_records, load_samples

# a Hugging Face dataset passed straight to score(), compare(), ... is read by its default columns
register_samples_adapter(is_hf_dataset, dataset_samples)

__all__ = ["load_samples", "load_records", "load_column", "SampleFileError"]
