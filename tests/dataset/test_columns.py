import subprocess
import sys


def test_the_names_load_without_numpy_or_pyarrow():
    """The CLI reads the contract's names at start-up: importing them must not pull in the heavy libraries."""
    code = ("import sys, cltool.dataset.columns as c; c.embedding_column('anchor'); "
            "print(sorted(m for m in ('numpy', 'pyarrow') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_names_are_still_importable_from_pairs():
    from cltool.dataset import columns, pairs

    assert pairs.ANCHOR is columns.ANCHOR and pairs.embedding_column is columns.embedding_column
    assert pairs.PAIRS_ALIASES["anchor"][0] == "anchor" and pairs.parse_column_overrides([], ["anchor"]) == {}
