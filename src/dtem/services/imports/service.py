"""The import use case: file → validated records → plan → one transaction.

>>> # import_file(ledger, clock, "accounts", Path("accounts.csv"), load_mapping("salesforce"),
>>> #             pipeline=container.pipeline)

All or nothing by default: if any row is invalid, nothing is written and `InputInvalid`
lists every bad row (file, row, field, value, reason). With `on_error="skip"` the valid
rows are imported in one transaction and the bad ones are written, with their reasons,
to `<input stem>.rejects.csv` next to the input. `dry_run=True` plans and writes nothing.

Re-importing the same file is a no-op: nothing is written, not even an import batch or an
audit entry (the result's counts say "unchanged"). A batch that changes anything writes
one `import_batches` row, one `record_changes` row per updated record, and one audit
entry (`import.<kind>`) with the counts and the file's SHA-256.

Opportunity imports return `ImportResult.stage_changes`: (opportunity external id,
account id, old stage, new stage) for every new opportunity and stage change, committed
before the result is returned, so a caller can advance leases on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import ArgumentInvalid, InputInvalid, RowError
from dtem.domain.policy import Policy, default_policy
from dtem.domain.ports import (
    AccountTiersPort,
    CompPort,
    ImportsPort,
    LedgerOf,
    OpportunitiesPort,
    OutboxPort,
)
from dtem.services import leases
from dtem.services.comp import commissions
from dtem.services.governance import active_policy
from dtem.services.imports.mapping import EntityMapping, Mapping, identity_mapping
from dtem.services.imports.opportunities import plan_activities, plan_opportunities
from dtem.services.imports.plans import Plan, StageChange, account_maker, plan_upsert, rep_maker
from dtem.services.imports.readers import read_batches, read_columns, sha256_of
from dtem.services.imports.rejects import write_rejects
from dtem.services.imports.unattached import attach_waiting
from dtem.services.imports.validate import ATTR, Record, Validator, duplicate_errors
from dtem.services.signals.ingest import IngestTx, attach_for_accounts
from dtem.services.signals.pipeline import SignalPipeline
from dtem.services.tiering import refresh_tiers

OnError = Literal["fail", "skip"]
Progress = Callable[[int], None]  # called with the number of rows read so far


class ImportTx(
    IngestTx, ImportsPort, OpportunitiesPort, CompPort, AccountTiersPort, OutboxPort, Protocol
):
    """An import: records and their history, the stage changes it settles (leases,
    commissions), the unmatched signals its new accounts attach, their stored tiers."""


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    kind: str
    file: str
    sha256: str
    dry_run: bool
    counts: dict[str, int]
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stage_changes: list[StageChange] = field(default_factory=list)
    batch_id: int | None = None
    rejects_file: str | None = None
    notices: list[RowError] = field(default_factory=list)  # kept as given, but reported
    attached: list[str] = field(default_factory=list)  # waiting opportunities now attached
    absent_columns: list[str] = field(default_factory=list)  # optional, not in the file


def import_file(
    ledger: LedgerOf[ImportTx],
    clock: Clock,
    kind: str,
    path: Path,
    mapping: Mapping | EntityMapping | None = None,
    *,
    pipeline: SignalPipeline,
    policy: Policy | None = None,
    actor: str = "cli",
    dry_run: bool = False,
    on_error: OnError = "fail",
    progress: Progress | None = None,
    encoding: str | None = None,
) -> ImportResult:
    """Import one file of `kind` (accounts, reps, opportunities, activities).

    Signals waiting for imported accounts attach to them and go through `pipeline`.
    `encoding` names a text file's encoding (default: UTF-8, or UTF-16 by its mark).
    """
    policy = policy or default_policy()
    notices: list[RowError] = []
    absent: list[str] = []
    records, errors, total = read_records(
        kind, path, mapping, policy, progress, clock(), encoding, notices, absent
    )
    with ledger.transaction() as tx:
        plan = make_plan(tx, kind, records, path.name, clock(), policy)
        errors = sorted(errors + plan.errors, key=lambda e: (e.row, e.field))
        result = _result(kind, path, dry_run, total, plan, errors)
        result.notices, result.absent_columns = notices, absent
        if errors and on_error == "fail" and not dry_run:
            raise InputInvalid(errors, source=str(path))
        if not dry_run and plan.changed:
            result.batch_id = write_plan(tx, plan, path, result, clock(), actor)
            if plan.entity == "accounts":
                _refresh_tiers(tx, plan, clock())
            if plan.entity == "accounts" and tx.unmatched_signals(limit=1):
                # signals waiting for these accounts attach now (none waiting: skip the lookups)
                accounts = plan.inserts + plan.updates
                then = pipeline.after_ingest(pipeline.active(tx))
                attach_for_accounts(tx, accounts, policy, clock(), then)
            if plan.entity == "accounts" and tx.unattached_opportunities(limit=1):
                # opportunities waiting for these accounts attach now (none waiting: skip)
                accounts = plan.inserts + plan.updates
                waiting = attach_waiting(tx, accounts, policy, clock(), actor)
                result.attached = [o.external_id for o in waiting]
            if plan.entity == "opportunities":  # a won leased deal pays (before its lease closes)
                commissions.settle_import(tx, plan, clock(), actor)
            if plan.stage_changes:  # progress on a leased account extends or closes its lease
                _advance_leases(tx, plan.stage_changes, clock(), actor)
    if errors and on_error == "skip" and not dry_run:
        result.rejects_file = str(write_rejects(path, errors, encoding))
    return result


def _refresh_tiers(tx: ImportTx, plan: Plan, at: datetime) -> None:
    """The accounts this import wrote get their tier (and reason) under the active policy."""
    if tx.active_policy_version() is None:
        return  # tiers are computed when the first policy is activated
    keys = [a.external_id for a in (*plan.inserts, *plan.updates)]
    ids = [a.id for a in tx.accounts_by_external_id(keys).values() if a.id is not None]
    active = active_policy(tx)
    refresh_tiers(tx, active.policy, active.version, at, ids)


def _advance_leases(tx: ImportTx, changes: list[StageChange], at: datetime, actor: str) -> None:
    if tx.active_policy_version() is None:
        return  # a ledger without a policy has no leases to advance
    moves = [
        leases.StageChange(c.account_id, c.new_stage, c.old_stage, at, "import") for c in changes
    ]
    leases.record_advances(tx, moves, active_policy(tx), actor)


def read_records(
    kind: str,
    path: Path,
    mapping: Mapping | EntityMapping | None,
    policy: Policy,
    progress: Progress | None = None,
    now: datetime | None = None,
    encoding: str | None = None,
    notices: list[RowError] | None = None,
    absent: list[str] | None = None,
) -> tuple[list[Record], list[RowError], int]:
    """Read and validate a file: (clean records, row errors, rows read).

    `now` is the import time, which no date of a fact may pass. `notices` (when given)
    receives the values kept as given but reported, such as an unknown country; `absent`
    the mapping's optional columns the file lacks (their fields are not imported).

    Problems with the header (a mapped column the file lacks) raise `InputInvalid` at once.
    """
    columns = read_columns(path, encoding)
    section = mapping.section(kind) if isinstance(mapping, Mapping) else mapping
    validator = Validator(
        section or identity_mapping(kind, columns), path.name, columns, policy, now
    )
    if absent is not None:
        absent += validator.absent
    header = validator.header_errors(header_row=1 if path.suffix.lower() in (".csv", ".tsv") else 0)
    if header:
        raise InputInvalid(header, source=str(path))
    records: list[Record] = []
    errors: list[RowError] = []
    total = 0
    for batch in read_batches(path, encoding=encoding):
        out = validator.apply(batch)
        records += out.records
        errors += out.errors
        if notices is not None:
            notices += out.notices
        total += len(batch)
        if progress:
            progress(total)
    records, dupes = duplicate_errors(records, validator.spec.key, path.name)
    return records, errors + dupes, total


def make_plan(
    tx: ImportTx, kind: str, records: list[Record], file: str, at: datetime, policy: Policy
) -> Plan:
    """What importing these records would change, given the ledger now."""
    if kind == "accounts":
        keys = [r["external_id"] for _, r in records]
        has_attributes = bool(records) and any(k.startswith(ATTR) for k in records[0][1])
        attrs = tx.account_attributes(keys) if has_attributes else {}
        return plan_upsert("accounts", records, tx.account_snapshot(), account_maker, None, attrs)
    if kind == "reps":
        existing = tx.reps_by_external_id([r["external_id"] for _, r in records])
        defaults = {"capacity": policy.default_capacity}
        return plan_upsert("reps", records, existing, rep_maker, defaults)
    if kind == "opportunities":
        return plan_opportunities(tx, records, at, policy)
    if kind == "activities":
        return plan_activities(tx, records, file)
    raise ArgumentInvalid(
        f"cannot import {kind!r}: use accounts, reps, opportunities or activities"
    )


def write_plan(
    tx: ImportTx, plan: Plan, path: Path, result: ImportResult, at: datetime, actor: str
) -> int:
    """Write a plan, its batch, its record changes and its audit entry; return the batch id."""
    writers = {
        "accounts": (tx.bulk_insert_accounts, tx.update_accounts),
        "reps": (tx.insert_reps, tx.update_reps),
        "opportunities": (tx.insert_opportunities, tx.update_opportunities),
    }
    if plan.entity == "activities":
        tx.insert_activities(plan.inserts)
    else:
        insert, update = writers[plan.entity]
        insert(plan.inserts, at)  # type: ignore[operator]
        update(plan.updates, at)  # type: ignore[operator]
    if plan.attributes:
        tx.set_account_attributes(plan.attributes)
    if plan.stage_entries:
        tx.append_stage_history(plan.stage_entries)
    batch_id = tx.add_import_batch(plan.entity, path.name, result.sha256, at, actor, result.counts)
    tx.add_record_changes(batch_id, plan.changes)
    payload = {"batch_id": batch_id, "file": path.name, "sha256": result.sha256}
    tx.append_audit(actor, f"import.{plan.entity}", payload | {"counts": result.counts}, at)
    return batch_id


def _result(
    kind: str, path: Path, dry_run: bool, rows: int, plan: Plan, errors: list[RowError]
) -> ImportResult:
    counts = {
        "rows": rows,
        "inserted": len(plan.inserts),
        "updated": len(plan.changes),
        "unchanged": plan.unchanged,
        "rejected": len({e.row for e in errors}),
    }
    if kind == "opportunities":
        counts["unattached"] = plan.unattached
    return ImportResult(
        kind,
        str(path),
        sha256_of(path),
        dry_run,
        counts,
        errors,
        plan.warnings,
        plan.stage_changes,
    )
