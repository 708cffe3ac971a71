"""cltool: training-ready contrastive-learning data from raw text pairs."""

__version__ = "0.1.0"
