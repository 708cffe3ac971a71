"""`cltool warmup`: compile every Numba kernel, for every signature the commands use, into Numba's cache.

A fresh installation compiles a command's kernels on its first run (~15-30 s, most of a first
`validate`, `dedup` or `mine`); the cache then keeps them. Warming up once where cltool is installed
(a CI image, `make setup`) moves that pause out of every command's first run. It runs the real steps
on a small built-in dataset, so the signatures compiled are the ones the commands call (array types,
layouts, read-only Arrow buffers), not a hand-kept list that drifts from them.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import tempfile
import time
from pathlib import Path
from typing import Any

from cltool.kernels import setup  # noqa: F401  (first: this module imports Numba too)
from cltool.progress import NullReporter, Reporter


def dispatchers() -> dict[str, Any]:
    """Every kernel of cltool.kernels, by qualified name."""
    from numba.core.registry import CPUDispatcher

    import cltool.kernels as package

    found = {}
    for module in pkgutil.iter_modules(package.__path__):
        if module.name == "warmup":
            continue
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        for name, value in vars(loaded).items():
            if isinstance(value, CPUDispatcher) and value.py_func.__module__ == loaded.__name__:
                found[f"{module.name}.{name}"] = value
    return found


def cache_use() -> dict[str, int]:
    """Signatures this process loaded from the cache and compiled, over all kernels."""
    hits = misses = 0
    for dispatcher in dispatchers().values():
        hits += sum(dispatcher.stats.cache_hits.values())
        misses += sum(dispatcher.stats.cache_misses.values())
    return {"loaded": hits, "compiled": misses}


def compiled_for() -> str:
    """The CPU name the kernels are compiled for and cached under (cltool/kernels/target.py)."""
    from numba.core.registry import cpu_target

    return cpu_target.target_context.codegen().magic_tuple()[1]


def _pairs(count: int = 240) -> list[dict[str, str]]:
    """Pairs with exact and near copies, shared positives and paraphrase-like neighbours: every
    kernel has work (a method with nothing to compare returns before its kernel)."""
    topics = ["sort a list", "read a file", "parse json", "join paths", "open a socket", "format a date",
              "hash a string", "copy a tree", "match a regex", "spawn a process", "zip two lists", "sum numbers"]
    rows = []
    for i in range(count):
        topic = topics[i % len(topics)]
        rows.append({"anchor": f"how do I {topic} in python, case {i % 40}",
                     "positive": f"To {topic}, call the helper with care; variant {i % 30} of the usual recipe "
                                 f"keeps step {i % 7} and returns the result."})
    return rows


def warmup(reporter: Reporter | None = None) -> dict[str, Any]:
    """Run each step once on a small dataset (in a temporary folder) with the options that reach each
    kernel; returns what was compiled and what was already in the cache."""
    from cltool.dedup import Settings as DedupSettings
    from cltool.dedup import dedup
    from cltool.embed import Settings as EmbedSettings
    from cltool.embed import embed
    from cltool.emit import emit
    from cltool.filter import Settings as FilterSettings
    from cltool.filter import filter_negatives
    from cltool.ingest import ingest
    from cltool.mine import Settings as MineSettings
    from cltool.mine import mine
    from cltool.mine.samplers import SAMPLERS
    from cltool.validate import validate

    reporter = reporter or NullReporter()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cltool-warmup-") as tmp:
        root = Path(tmp)
        (root / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _pairs()))
        steps = [("ingest", lambda: ingest(str(root / "pairs.jsonl"), str(root / "pairs"))),
                 ("embed", lambda: embed(str(root / "pairs"), str(root / "embedded"), EmbedSettings())),
                 ("dedup", lambda: dedup(str(root / "embedded"), str(root / "deduped"), DedupSettings(
                     methods=("exact", "minhash", "semantic", "entropy"), method_options={"eps": (0.02,)}))),
                 ("dedup --char-ngrams --against", lambda: dedup(str(root / "embedded"), str(root / "against"),
                                                                 DedupSettings(method_options={"char_ngrams": True}),
                                                                 against=str(root / "pairs")))]
        for sampling in SAMPLERS:
            steps.append((f"mine --sampling {sampling}", lambda s=sampling: mine(
                str(root / "embedded"), str(root / f"mined-{s}"), MineSettings(sampling=s, relative_margin=0.05),
                save_candidates=str(root / f"candidates-{s}") if s == "top" else None)))
        steps.append(("mine (exact search by a bf16 product)", lambda: _bf16_product(lambda: mine(
            str(root / "embedded"), str(root / "mined-bf16"), MineSettings(index="flat")))))
        steps += [("mine --index ivf --max-reuse 1", lambda: mine(str(root / "embedded"), str(root / "mined-ivf"),
                                                    MineSettings(index="ivf", nlist=4, absolute_margin=0.1,
                                                                 max_reuse=1))),
                  ("filter --pair-judge", lambda: filter_negatives(
                      str(root / "mined-top"), str(root / "filtered"), FilterSettings(
                          min_negatives=3, candidates=str(root / "candidates-top"),
                          pair_judges=("consistency", "anchor-consistency", "score-outlier")))),
                  ("emit", lambda: emit(str(root / "filtered"), str(root / "train.jsonl"))),
                  ("validate", lambda: validate(str(root / "filtered"), against=str(root / "pairs")))]
        # embed --model static's tokenizer and mean: a static model is distilled on first use (a minute),
        # too long for here, so its kernels are called directly with the types StaticEncoder gives them
        steps.append(("embed --model static (its kernels)", _static_pooling))
        for name, step in steps:
            with reporter.task(f"warmup: {name}"):
                step()
    return {**cache_use(), "kernels": len(dispatchers()), "seconds": round(time.perf_counter() - started, 1),
            "cpu": compiled_for(),
            "cache": sorted({d._cache.cache_path for d in dispatchers().values() if d.stats.cache_hits
                             or d.stats.cache_misses})}


def _bf16_product(step) -> None:
    """`step` with exact search's bf16 product (the merge of its int16 score bits), which mine takes
    on its own only for searches far larger than this one's."""
    import os
    from unittest import mock

    with mock.patch.dict(os.environ, {"CLTOOL_SEARCH_PRODUCT": "bfloat16"}):
        step()


def _static_pooling() -> None:
    import numpy as np

    from cltool.kernels.pooling import mean_token_rows

    mean_token_rows(np.ones((4, 8), dtype=np.float32), np.array([0, 3, 1], dtype=np.int64),
                    np.array([0, 2, 2, 3], dtype=np.int64))
    from tokenizers import Tokenizer

    from cltool.embed.model import bundled_model_path
    from cltool.embed.static import WordPiece

    WordPiece.from_tokenizer(Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json")), 512).tokenize(
        ["Warm up the tokenizer's kernel."])
