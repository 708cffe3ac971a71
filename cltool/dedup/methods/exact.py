"""exact: a row whose normalised text (all of `--on`, joined) equals an earlier row's (or a
reference row's) goes; the first stays."""

from __future__ import annotations

from cltool.dedup.methods.registry import Job, Normalized, register


@register("exact", order=1, reason="exact_duplicate", detail="same normalised text as {duplicate_of}{where}",
          options=Normalized, help="normalised hash")
def exact(job: Job) -> None:
    import numpy as np
    import pyarrow as pa

    from cltool.dedup.text import exact_keys, normalized_text

    steps, reference = job.options.normalization, job.reference
    live = job.live
    keys = exact_keys(normalized_text(job.rows.texts, steps).take(pa.array(live)))
    seen: dict[bytes, int] = {}
    if reference is not None:
        usable = np.nonzero(~reference.blank())[0]  # a blank text is never anyone's duplicate
        for j, key in zip(usable, exact_keys(normalized_text(reference.texts, steps).take(pa.array(usable)))):
            seen.setdefault(key, int(j))
    removed, duplicate_of = [], []
    for position, key in enumerate(keys):
        first = seen.get(key)
        if first is not None:
            removed.append(live[position])
            duplicate_of.append(first)
        elif reference is None:
            seen[key] = live[position]
    removed = np.asarray(removed, dtype=np.int64)
    job.remove(removed, np.asarray(duplicate_of, dtype=np.int64), np.ones(len(removed), dtype=np.float32))
