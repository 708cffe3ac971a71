"""`dedup`: load the deciding columns, let each chosen method remove rows in its turn, write."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from cltool.dataset.columns import EMPTY_TEXT, INVALID_EMBEDDING
from cltool.dataset.read import IN_MEMORY, release_memory
from cltool.dedup.decisions import Decisions
from cltool.dedup.load import DecidingColumns, ModelVectors, default_on, load, load_reference
from cltool.dedup.methods import METHODS, Job
from cltool.dedup.settings import Settings
from cltool.dedup.write import write
from cltool.errors import UsageError
from cltool.step import Run, prepare, require_rows


def dedup(input: str | pa.Table, output: str | None, settings: Settings | None = None, run: Run | None = None, *,
          against: str | None = None) -> dict[str, Any]:
    """Remove duplicates from `input` (or, with `against`, the rows that duplicate `against`).

    Returns the manifest; with `settings.dry_run`, a report of what each method would remove, writing nothing.
    """
    settings, run = prepare(settings, Settings, run, output)
    if output is None and not settings.dry_run:
        raise UsageError("an output is needed (-o DIR or -o -), unless --dry-run")
    with run.readable_twice(input) as input:  # dedup reads its input twice
        dataset = run.open(input)
        on = settings.on or default_on(dataset.schema)
        embeddings = any(METHODS[m].embeddings for m in settings.methods)
        model = _model_vectors(settings, run)
        reference = None
        with run.stage("load"):
            rows = load(dataset, on, embeddings, model)
            if against is not None:
                reference = load_reference(run.open(against), rows, on, embeddings, model)
        require_rows(dataset, len(rows))

        decisions = Decisions(len(rows))
        against_name = IN_MEMORY if isinstance(against, pa.Table) else against  # a table is no path to record
        summary: dict[str, Any] = {"on": list(on), "against": against_name}
        if model is not None:
            summary["embedded"] = model.describe()
        with run.stage("load"):
            _unusable(rows, on, decisions)
        for name, options in settings.options().items():
            method = METHODS[name]
            alive = decisions.alive.copy()
            with run.stage(method.name):
                run.reporter.info(f"dedup: {method.name} over {int(alive.sum()):,} rows")
                result = method.run(Job(method, rows, alive, reference, settings, options, decisions,
                                               run.reporter))
            if result is not None:
                summary[method.name] = result
        reasons = (EMPTY_TEXT, INVALID_EMBEDDING, *(m.reason for m in METHODS.values()))
        summary["removed"] = {reason: decisions.counts[reason] for reason in reasons if reason in decisions.counts}
        params = settings.params(on, against_name)
        if settings.dry_run:
            return {"dry_run": True, "rows": len(rows), "params": params, "summary": summary,
                    "stages": run.stages.times,
                    "removed_fraction": {r: round(n / len(rows), 6) for r, n in summary["removed"].items()}}

        # the write pass reads the rows again and needs only the texts and ids (for duplicate_of): the
        # vectors, the largest thing held, go before it
        rows.embeddings = None
        if reference is not None:
            reference.embeddings = None
        release_memory()
        inputs = [dataset] + ([reference.dataset] if reference else [])
        with run.output(output, command="dedup", params=params, inputs=inputs) as out:
            write(out, dataset, decisions, rows, reference, run.reporter)
            out.summary.update(summary)
        return out.manifest


def _model_vectors(settings: Settings, run: Run) -> ModelVectors | None:
    """The model `--model` names (an option of the methods that compare vectors), to embed with here."""
    from cltool.embed.cache import default_cache_dir

    options = settings.options()
    models = {getattr(options[name], "model", None) for name in options if METHODS[name].embeddings} - {None}
    return ModelVectors(models.pop(), default_cache_dir(), run.reporter) if models else None


def _unusable(rows: DecidingColumns, on: tuple[str, ...], decisions: Decisions) -> None:
    """Rows no method can compare go first: a blank text (never a duplicate of another blank) and,
    where vectors are compared, an embedding with no direction."""
    masks = rows.blank_masks()
    blank = np.nonzero(np.logical_or.reduce(masks))[0]
    decisions.remove(blank, EMPTY_TEXT, details=[
        f"{', '.join(c for c, m in zip(on, masks) if m[i])} is null or blank: never a duplicate of another blank"
        for i in blank])
    if rows.bad_vectors is not None:
        invalid = np.nonzero(rows.bad_vectors & decisions.alive)[0]
        decisions.remove(invalid, INVALID_EMBEDDING, details=["embedding is null, not finite or zero"] * len(invalid))
