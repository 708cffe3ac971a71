"""Benchmark `cltool filter` (cross-encoder judge) and `cltool emit`.

a. Judging throughput: mined pairs built from real text (lines of Python source and documentation
   and the line that follows, as in mine_scale.py), --rows rows, 4 negatives each, and a quarter
   of the anchors repeated on a second row with another positive (as multi-positive data is): the
   same (anchor, negative) pairs recur. The cross-encoder is MiniLM-L6-sized (the bundled
   all-MiniLM-L6-v2 encoder with a fresh one-output head, the shape of ms-marco-MiniLM-L-6-v2): its
   scores mean nothing, its cost is real.
     peer:   CrossEncoder.predict on every row's (anchor, positive) and (anchor, negative) pairs,
             batch 32, in its own process (what a script around sentence-transformers does);
     cltool: cltool filter --judge cross-encoder:MODEL, batch 32 (the whole command: read, judge,
             write).
   Both print time and peak RSS; the ratio is printed last.
b. Emit: --emit-rows (default 1,000,000) mined rows, 3 negatives each, to n-tuple JSONL and to
   Parquet: time and peak RSS of each `cltool emit`.

    .venv/bin/python bench/filter.py [--rows 3000] [--emit-rows 1000000] [--work DIR]

Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
from common import child_env, cltool_command, manifest_file, measure

PEER = """
import sys, pyarrow.parquet as pq, glob
from sentence_transformers import CrossEncoder
table = pq.read_table(sorted(glob.glob(sys.argv[1] + "/part-*.parquet")))
pairs = []
for anchor, positive, negatives in zip(*(table.column(c).to_pylist() for c in ("anchor", "positive", "negatives"))):
    pairs.append((anchor, positive))
    pairs.extend((anchor, n) for n in negatives)
model = CrossEncoder(sys.argv[2], device="cpu", local_files_only=True)
scores = model.predict(pairs, batch_size=32, show_progress_bar=False)
print(len(pairs), "pairs scored")
"""


def cross_encoder(work: Path) -> Path:
    """The bundled MiniLM encoder under a fresh one-output classification head, saved as a CrossEncoder."""
    folder = work / "minilm-cross-encoder"
    if (folder / "config.json").is_file():
        return folder
    import shutil

    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    from cltool.embed.model import bundled_model_path

    torch.manual_seed(0)
    source = bundled_model_path()
    model = BertForSequenceClassification.from_pretrained(str(source), num_labels=1)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(folder)
    for name in ("sentence_bert_config.json",):
        if (source / name).is_file():
            shutil.copy(source / name, folder / name)
    return folder


def build_mined(path: Path, rows: int, seed: int = 0) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from mine_scale import line_pairs

    from cltool.dataset.write import Output

    if manifest_file(path).is_file():
        return
    rng = np.random.default_rng(seed)
    unique = rows * 4 // 5
    anchors, positives = line_pairs(unique + rows)
    a = anchors[:unique] + [anchors[i] for i in rng.integers(0, unique, rows - unique)]
    p = positives[:rows]
    pool = positives[rows:]
    negatives = {}
    for anchor in a:
        negatives.setdefault(anchor, [pool[i] for i in rng.choice(len(pool), 4, replace=False)])
    with Output(path, command="mine", params={"num_negatives": 4}) as out:
        out.write(pa.table({"anchor": a, "positive": p, "negatives": [negatives[x] for x in a],
                            "negative_scores": pa.array([[0.5, 0.4, 0.3, 0.2]] * rows, pa.list_(pa.float32())),
                            "positive_score": pa.array([0.8] * rows, pa.float32())}))


def build_emit_input(path: Path, rows: int) -> None:
    from cltool.dataset.write import Output

    if manifest_file(path).is_file():
        return
    step = 100_000
    with Output(path, command="mine", params={"num_negatives": 3}) as out:
        for start in range(0, rows, step):
            ids = range(start, min(start + step, rows))
            out.write(pa.table({
                "anchor": [f"question number {i} about topic {i % 977}" for i in ids],
                "positive": [f"the answer to question {i}, which explains topic {i % 977} in a sentence" for i in ids],
                "negatives": [[f"an unrelated passage {(i * 7 + j) % rows} on topic {j}" for j in range(3)]
                              for i in ids],
                "negative_scores": pa.array([[0.6, 0.5, 0.4]] * len(ids), pa.list_(pa.float32())),
                "positive_score": pa.array([0.8] * len(ids), pa.float32()),
            }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--emit-rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/cltool-bench-filter"))
    args = parser.parse_args()
    work = args.work
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = child_env(work / "cache")

    model = cross_encoder(work)
    data = work / f"mined-{args.rows}"
    build_mined(data, args.rows)
    peer = measure("CrossEncoder.predict (every row's pairs)",
                   [sys.executable, "-c", PEER, str(data), str(model)], logs / "peer.log", env)
    ours = measure("cltool filter --judge cross-encoder",
                   cltool_command() + ["filter", str(data), "-o", str(work / "filtered"), "--judge",
                                       f"cross-encoder:{model}", "-q", "--json"], logs / "filter.log", env)
    peer_pairs = int((logs / "peer.log").read_text().split()[-3])
    manifest = json.loads(manifest_file(work / "filtered").read_text())
    scored = manifest["summary"]["cross-encoder_scores"]["pairs_scored"]
    print(f"\ncross-encoder judging, {args.rows:,} rows: the peer scored {peer_pairs:,} pairs, cltool {scored:,} "
          f"(each distinct (anchor, text) once)")

    emit_input = work / f"emit-{args.emit_rows}"
    build_emit_input(emit_input, args.emit_rows)
    emitted = []
    for ext in (".jsonl", ".parquet"):
        emitted.append(measure(f"cltool emit n-tuple {ext}",
                               cltool_command() + ["emit", str(emit_input), "-o", str(work / f"emitted{ext}"),
                                                   "-q"], logs / f"emit{ext}.log", env))

    print("\nsummary")
    print(f"  filter, cross-encoder judge: peer {peer.wall_s:.1f} s, peak RSS {peer.peak_rss_mb:,.0f} MiB; "
          f"cltool {ours.wall_s:.1f} s, peak RSS {ours.peak_rss_mb:,.0f} MiB; "
          f"cltool / peer time {ours.wall_s / peer.wall_s:.2f}")
    for run in emitted:
        print(f"  {run.label}, {args.emit_rows:,} rows: {run.wall_s:.1f} s, peak RSS {run.peak_rss_mb:,.0f} MiB "
              f"({args.emit_rows / run.wall_s:,.0f} rows/s)")


if __name__ == "__main__":
    main()
