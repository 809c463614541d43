"""CRM sync out: the account owners that changed since the last export, as a bulk CSV.

Only accounts whose lease changed in (since, until] are written, with their owner now:
the active lease's rep, by the rep's `crm_user_id`. An account whose lease ended without
a new one gets a blank owner, or `pool_owner` when given (a queue or integration user
id in the CRM). A rep without a `crm_user_id` is an error naming the reps: nothing is
written and the watermark stays, because a wrong owner in the CRM is worse than a late one.
`since` defaults to the stored watermark `export:<format>` (the start of time on the
first run); the watermark moves to `until` only after the file was written.

>>> FORMATS["salesforce"], FORMATS["hubspot"]
(('Id', 'OwnerId'), ('Record ID', 'Company owner'))
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import ArgumentInvalid, InputInvalid, RowError
from dtem.domain.ports import AuditPort, CrmSyncPort, DirectoryPort, LeasesPort, LedgerOf

FORMATS: dict[str, tuple[str, str]] = {
    "salesforce": ("Id", "OwnerId"),
    "hubspot": ("Record ID", "Company owner"),
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Export(CrmSyncPort, DirectoryPort, LeasesPort, AuditPort, Protocol):
    """Lease changes since the watermark, their accounts and owners; the export audited."""


@dataclass(frozen=True)
class ExportResult:
    format: str
    since: datetime
    until: datetime
    rows: int
    blank_owners: int


def export_assignments(
    ledger: LedgerOf[_Export],
    clock: Clock,
    fmt: str,
    write: Callable[[str], None],
    since: datetime | None = None,
    pool_owner: str | None = None,
    actor: str = "cli",
) -> ExportResult:
    """Build the CSV of owner changes, hand it to `write`, then advance the watermark."""
    if fmt not in FORMATS:
        raise ArgumentInvalid(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    name = f"export:{fmt}"
    with ledger.transaction() as tx:
        until = clock()
        start = since or tx.watermark(name) or EPOCH
        rows = _owner_rows(tx, start, until, pool_owner or "")
        write(_csv(FORMATS[fmt], rows))
        tx.set_watermark(name, until)
        result = ExportResult(fmt, start, until, len(rows), sum(1 for _, o in rows if not o))
        payload = {"format": fmt, "since": start.isoformat(), "until": until.isoformat(),
                   "rows": result.rows}  # fmt: skip
        tx.append_audit(actor, "export.assignments", payload, until)
    return result


def _owner_rows(
    tx: _Export, since: datetime, until: datetime, pool_owner: str
) -> list[tuple[str, str]]:
    changed = tx.accounts_with_lease_changes(since, until)
    accounts = tx.accounts_by_id(changed)
    holder = {x.account_id: x.rep_id for x in tx.active_leases() if x.account_id in accounts}
    reps = {r.id: r for r in tx.all_reps()}
    missing = sorted({reps[r].external_id for r in holder.values() if not reps[r].crm_user_id})
    if missing:
        raise InputInvalid(
            [
                RowError("reps", 0, "crm_user_id", rep, "rep has no CRM user id; import it")
                for rep in missing
            ],
            source="CRM export",
        )
    rows = [
        (a.external_id, (reps[holder[i]].crm_user_id or "") if i in holder else pool_owner)
        for i, a in accounts.items()
    ]
    return sorted(rows)


def _csv(header: tuple[str, str], rows: list[tuple[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()
