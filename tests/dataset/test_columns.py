import subprocess
import sys


def test_the_names_load_without_numpy_or_pyarrow():
    """The CLI reads the contract's names at start-up: importing them must not pull in the heavy libraries."""
    code = ("import sys, cltool.dataset.columns as c; c.embedding_column('anchor'); "
            "print(sorted(m for m in ('numpy', 'pyarrow') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_names_are_still_importable_from_pairs_but_canonicalisation_is_ingests():
    from cltool.dataset import columns, pairs
    from cltool.ingest import canonical

    assert pairs.ANCHOR is columns.ANCHOR and pairs.embedding_column is columns.embedding_column
    # the contract no longer carries ingest's work: one home for the aliases and the overrides
    assert not hasattr(pairs, "PAIRS_ALIASES") and not hasattr(pairs, "parse_column_overrides")
    assert canonical.PAIRS_ALIASES["anchor"][0] == "anchor" and canonical.parse_column_overrides([], ["anchor"]) == {}
