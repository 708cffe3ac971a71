"""entropy: low-information texts (`cltool.dedup.text.low_information`): token entropy below
`--min-entropy` bits, or (128 bytes and more) a zlib compression ratio below `--min-compression-ratio`.
A row goes when any of its deciding texts is one; its detail says which measure, and its value."""

from __future__ import annotations

from dataclasses import dataclass

from cltool.dedup.methods.registry import Job, register
from cltool.options import Options, option


@dataclass(frozen=True)
class Entropy(Options):
    min_entropy: float = option(1.0, "token entropy in bits below which a text is low-information.")
    min_compression_ratio: float = option(0.2, "zlib ratio below which a text (128 bytes or more) is repetitive.")


@register("entropy", order=4, reason="low_information", options=Entropy, help="low-information texts")
def entropy(job: Job) -> None:
    import numpy as np
    import pyarrow as pa

    from cltool.dedup.text import low_information

    live = job.live
    why: list[str | None] = [None] * len(live)
    for text in job.rows.texts:
        verdicts = low_information(text.take(pa.array(live)).to_pylist(), job.options.min_entropy,
                                   job.options.min_compression_ratio)
        why = [w or v for w, v in zip(why, verdicts)]
    hit = [i for i, w in enumerate(why) if w]
    job.remove(live[np.asarray(hit, dtype=np.int64)], details=[why[i] for i in hit])
