"""Vectors for tests that build embeddings to order.

A plain module, not a fixture: tests/test_calibration.py parametrises over `unit` (a cosine scale),
and parametrisation happens at collection time, before any fixture exists."""

import numpy as np


def unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)
