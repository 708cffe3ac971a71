"""`--judge duplicate-cluster`: the negative and a positive fall in one near-duplicate cluster
(MinHash here, or the links of a `cltool dedup` output given with --clusters-from)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cltool.dedup.methods.minhash import MAX_PERMUTATIONS, MinHash
from cltool.errors import InputError
from cltool.filter.judges.base import Judge, Verdict, Work, register
from cltool.options import Options, option

if TYPE_CHECKING:
    import numpy as np


@register
class ClusterJudge(Judge):
    """Near-duplicate clusters over the positives and negatives (MinHash + LSH, verified by true
    Jaccard, as `cltool dedup --method minhash`), or the duplicate links of a `cltool dedup` output."""

    name = "duplicate-cluster"
    help = "the negative and a positive in one near-duplicate cluster"
    order = 5

    @dataclass(frozen=True)
    class Options(Options):
        # dedup --method minhash's defaults: the same clusters as dedup would find
        cluster_threshold: float = option(MinHash.threshold, "MinHash Jaccard that makes two texts one cluster.",
                                          above=0.0, maximum=1.0)
        cluster_ngram: int = option(MinHash.ngram, "words per shingle.", minimum=1)
        num_perm: int = option(MinHash.num_perm, "MinHash permutations.", minimum=1, maximum=MAX_PERMUTATIONS)
        clusters_from: str | None = option(None, "read the clusters from a cltool dedup output instead.",
                                           kind="path", metavar="DEDUP_OUTPUT")

    @classmethod
    def build(cls, argument, options, settings, cache_dir) -> ClusterJudge:
        return cls(options.cluster_threshold, options.cluster_ngram, options.num_perm, settings.seed,
                   options.clusters_from)

    def __init__(self, threshold: float, ngram: int, num_perm: int, seed: int, clusters_from: str | None):
        self.threshold, self.ngram, self.num_perm, self.seed = threshold, ngram, num_perm, seed
        self.clusters_from = clusters_from
        self.described = ({"from": clusters_from} if clusters_from else
                          {"threshold": threshold, "ngram": ngram, "num_perm": num_perm, "seed": seed})
        self._cluster: np.ndarray | None = None
        self._size = -1

    def prepare(self, work: Work) -> None:
        import numpy as np
        import pyarrow as pa

        self._size = len(work.texts)
        if self.clusters_from:
            self._cluster = _clusters_from_dedup(self.clusters_from, work.text_ids)
            return
        from cltool.dedup.near import lsh_params, near_duplicates
        from cltool.dedup.text import DEFAULT_NORMALIZATION, normalize

        texts = normalize(pa.array(work.texts, pa.large_string()), DEFAULT_NORMALIZATION)
        found = near_duplicates(texts, threshold=self.threshold, ngram=self.ngram, char_ngrams=False,
                                num_perm=self.num_perm, seed=self.seed,
                                params=lsh_params(self.threshold, self.num_perm))
        self._cluster = np.arange(len(work.texts), dtype=np.int64)
        self._cluster[found.removed] = found.duplicate_of  # each duplicate points at the kept text it matches

    def judge(self, work: Work, pair_anchor: np.ndarray, pair_text: np.ndarray) -> Verdict:
        import numpy as np

        if self._size != len(work.texts):  # a refill brought new texts
            self.prepare(work)
        own = self._cluster[pair_text]
        flags = np.array([bool(np.isin(own[i], self._cluster[work.positives_of(a)]))
                          for i, a in enumerate(pair_anchor.tolist())], dtype=bool)
        nan = np.full(len(pair_text), np.nan, dtype=np.float32)
        return Verdict(flags, nan, nan)

    def explain(self, score: float, reference: float) -> str:
        return "duplicate-cluster: in a positive's near-duplicate cluster"


def _clusters_from_dedup(source: str, text_ids: list[str]) -> np.ndarray:
    """Cluster labels for text_ids from the rows a `cltool dedup` output removed: each removed row
    (its id column) and the id it duplicates (`duplicate_of`) are one cluster, transitively."""
    import numpy as np

    from cltool.dataset.manifest import rejected_path
    from cltool.dataset.read import open_dataset

    dataset = open_dataset(source)
    if (dataset.manifest or {}).get("command") != "dedup":
        raise InputError(f"{source} was not written by cltool dedup", hint="give the output directory of cltool dedup")
    where = rejected_path(source, dataset.manifest)
    if where is None:
        raise InputError(f"{source} kept no rejected rows to read clusters from",
                         hint="run cltool dedup with its rejected rows kept (not -o - without --rejected)")
    rejected = open_dataset(where)
    # each id column with the text its derived id comes from (the data contract's one id rule)
    id_column, text_column = next(((c, t) for c, t in (("id", "text"), ("positive_id", "positive"),
                                                         ("text_id", "text"), ("anchor_id", "anchor"))
                                   if c in rejected.schema.names), (None, None))
    if id_column is None or "duplicate_of" not in rejected.schema.names:
        raise InputError(f"{where} has no id and duplicate_of columns to read clusters from",
                         hint="dedup a table with an id column (a corpus, or pairs with positive_id)")
    from cltool.dataset.pairs import given_or_derived

    columns = [id_column, "duplicate_of"] + ([text_column] if text_column in rejected.schema.names else [])
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for batch in rejected.batches(columns):
        given = batch.column(0).to_pylist()
        texts = batch.column(2).to_pylist() if len(columns) == 3 else [None] * len(given)
        for left, right in zip(given_or_derived(given, texts), batch.column(1).to_pylist()):
            if left is not None and right is not None:
                a, b = root(left), root(right)
                if a != b:
                    parent[a] = b
    labels: dict[str, int] = {}
    out = np.empty(len(text_ids), dtype=np.int64)
    for i, tid in enumerate(text_ids):
        out[i] = labels.setdefault(root(tid), len(labels))
    return out
