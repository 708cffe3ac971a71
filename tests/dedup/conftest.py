"""The dedup tests' data: texts with planted near copies, and `write`, the name these tests give the
root conftest's `write_table`."""

import random

import pytest

VOCAB = [f"token{i}" for i in range(5000)]


def _planted_corpus(seed=0, originals=150, length=80):
    """Originals plus copies with a known number of words replaced (0, 1, 2, 20 of 80: Jaccard of word
    5-grams about 1, 0.88, 0.77, 0.2); returns texts and (copy, original, edits)."""
    rng = random.Random(seed)
    texts, planted = [], []
    for _ in range(originals):
        texts.append(" ".join(rng.choices(VOCAB, k=length)))
    for i in range(originals):
        for edits in (0, 1, 2, 20):
            words = texts[i].split()
            for k in rng.sample(range(length), edits):
                words[k] = rng.choice(VOCAB)
            planted.append((len(texts), i, edits))
            texts.append(" ".join(words))
    return texts, planted


@pytest.fixture
def planted_corpus():
    """`planted_corpus(seed=0, originals=150, length=80)`: texts of random words and, for each
    original, copies with 0, 1, 2 and 20 words replaced; returns texts and (copy, original, edits)."""
    return _planted_corpus


@pytest.fixture
def write(write_table):
    """`write(path, columns)`: the columns as a dataset at `path`, returned (tests/conftest.py's `write_table`)."""
    return write_table
