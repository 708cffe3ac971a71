"""`cltool inspect`: what a dataset is and how it was made (describe.py)."""

from cltool.inspect.describe import inspect_dataset, score_statistics

__all__ = ["inspect_dataset", "score_statistics"]
