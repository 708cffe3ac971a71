"""The mined rows most emit tests are built on.

A module, not a fixture: the tests' assertions read ROWS (`ROWS[0][2]`, the first anchor's
negatives) as well as the `mined` fixture (tests/emit/conftest.py), which writes them by default."""

ROWS = [
    ("how do I sort a list", "use sorted(xs)", ["reverse with xs[::-1]", "lists are mutable", "use a set"]),
    ("how do I sort a list", "call xs.sort()", ["reverse with xs[::-1]", "lists are mutable", "use a set"]),
    ("what is a dict", "a mapping of keys to values", ["a list of pairs", "a tuple"]),  # one short
    ("how to open a file", "use open(path)", ["read with pathlib", "close the file", "use with"]),
]
