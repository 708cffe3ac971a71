"""`cltool dedup`: exact, near-duplicate (MinHash), semantic (SemDeDup) and low-information removal.

The columns that decide (`on`, with their ids and, for `semantic`, their embeddings) are read once
into memory (`load.py`); the methods (`methods/`, registered by name) run in a fixed order (exact,
minhash, semantic, entropy), each over the rows still alive, recording what went and why
(`decisions.py`); then the input is streamed a second time and every row is written either to the
output or, with its reason, the id of the row it duplicates and the similarity, to `OUT.rejected`
(`write.py`). Which row is kept is deterministic: the first in input order (for `semantic`, the
first in the `--keep` order within its cluster). With `against`, only rows that duplicate a row of
the reference are removed, and the reference is never changed.

The algorithms: `text.py` (normalisation, exact keys, information measures), `near.py` (MinHash +
LSH), `semantic.py` (SemDeDup), `ray_dedup.py` (the same on Ray).
"""

from cltool.reexport import lazy

__all__ = ["METHODS", "Method", "Settings", "dedup", "register"]

# re-exported when asked for: the CLI imports the strategies' registry at start-up, not the step
__getattr__ = lazy(__name__, {
    "METHODS": "methods", "Method": "methods", "register": "methods", "dedup": "run", "Settings": "settings",
})
