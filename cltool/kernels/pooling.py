"""A static model's text vectors: the mean of each text's token vectors, straight from the token ids.

model2vec gathers every token's vector into a new array and averages it with NumPy, text length by
text length; for 100k short texts that gather and its Python loop cost more than the tokenizer. Here
one pass adds each token's row of the table into its text's row.
"""

from __future__ import annotations

from cltool.kernels import setup  # noqa: F401  (first: before Numba is imported)

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def mean_token_rows(table, token_ids, offsets):
    """Row i: the mean of table[token_ids[offsets[i]:offsets[i + 1]]] (float32); zeros for a text with
    no token."""
    texts, dim = len(offsets) - 1, table.shape[1]
    out = np.zeros((texts, dim), dtype=np.float32)
    for i in range(texts):
        start, end = offsets[i], offsets[i + 1]
        if end == start:
            continue
        row = out[i]
        for t in range(start, end):
            vector = table[token_ids[t]]
            for d in range(dim):
                row[d] += vector[d]
        scale = np.float32(1.0) / np.float32(end - start)
        for d in range(dim):
            row[d] *= scale
    return out
