"""The mine tests' data: `random_pairs` (the root conftest's, shared with tests/test_threads.py), and
`write`, the name these tests give the root conftest's `write_embedded`."""

import pytest


@pytest.fixture
def write(write_embedded):
    """`write(path, columns, metadata=None)`: pairs or corpus columns as a dataset, `*_embedding`
    columns as vectors (tests/conftest.py's `write_embedded`); returns the path as a string."""
    return write_embedded
