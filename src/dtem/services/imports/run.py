"""One import as a user asks for it, from the CLI or an upload: check the options, make
sure a policy is active, import the file, refuse it when a row is bad.

    result = run_import(ledger, clock, "accounts", Path("a.csv"), mapping, pipeline=p)
    refuse_bad_rows(result, "fail", "a.csv")   # InputInvalid naming file, row, field, reason
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from dtem.domain.clock import Clock
from dtem.domain.errors import ArgumentInvalid, FileUnreadable, InputInvalid
from dtem.domain.listings import IdPage
from dtem.domain.ports import LedgerOf, ListingsPort
from dtem.domain.store_imports import ImportBatch
from dtem.services import governance
from dtem.services.imports.mapping import EntityMapping, Mapping
from dtem.services.imports.service import ImportResult, ImportTx, Progress, import_file
from dtem.services.signals.pipeline import SignalPipeline

KINDS = ("accounts", "reps", "opportunities", "activities")


def run_import(
    ledger: LedgerOf[ImportTx],
    clock: Clock,
    kind: str,
    path: Path,
    mapping: Mapping | EntityMapping | None,
    *,
    pipeline: SignalPipeline,
    actor: str,
    dry_run: bool = False,
    on_error: str = "fail",
    encoding: str | None = None,
    progress: Progress | None = None,
    shown_as: str | None = None,
) -> ImportResult:
    """Import `path` as `kind` under the active policy (the default one is activated on a
    fresh ledger). All or nothing with `on_error="fail"`: a bad row writes nothing (the
    caller then calls `refuse_bad_rows`); `"skip"` keeps the good rows. `shown_as` names
    the file in the report and errors (an upload's name, not where the server keeps it)."""
    if kind not in KINDS:
        raise ArgumentInvalid(f"kind: must be one of {', '.join(KINDS)}, not {kind!r}")
    if on_error not in ("fail", "skip"):
        raise ArgumentInvalid(f"--on-error must be fail or skip, not {on_error!r}")
    active = governance.ensure_policy(ledger, clock, actor)
    mode: Literal["fail", "skip"] = "skip" if on_error == "skip" else "fail"
    try:
        result = import_file(
            ledger, clock, kind, path, mapping, pipeline=pipeline, policy=active.policy,
            actor=actor, dry_run=dry_run, on_error=mode, progress=progress, encoding=encoding,
        )  # fmt: skip
    except InputInvalid as exc:
        raise InputInvalid(exc.errors, source=shown_as or exc.source) from None
    except FileUnreadable as exc:
        raise FileUnreadable(shown_as or exc.file, exc.reason, exc.line, exc.hint) from None
    result.file = shown_as or result.file
    return result


def refuse_bad_rows(result: ImportResult, on_error: str, source: str) -> None:
    """`InputInvalid` (every bad row) when rows were bad and the import was all or nothing
    (a dry run that found bad rows fails too, as the real import would)."""
    if result.errors and on_error == "fail":
        raise InputInvalid(result.errors, source=source)


def list_imports(
    ledger: LedgerOf[ListingsPort], after: int | None = None, limit: int = 50
) -> list[ImportBatch]:
    """Committed imports, newest first (ids below `after`): kind, file, SHA-256, counts."""
    with ledger.transaction() as tx:
        return tx.import_batch_page(IdPage(after=after, newest_first=True, limit=limit))
