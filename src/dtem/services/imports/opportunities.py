"""Plans for opportunities (with stage history) and activities (append-only facts).

An opportunity names its account by external id, domain or name; one whose account is not
in the ledger (yet) is stored unattached and attaches when the account arrives
(`imports.unattached`). An activity must name an account in the ledger. An opportunity's
owner is matched to a rep by external id, then CRM user id, then name (any case); an
owner that matches no rep is kept as "no rep" and reported as a warning.

Every new opportunity and every stage change appends a stage-history line with source
"import", and is listed in `Plan.stage_changes` for callers (lease advances) to act on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.errors import RowError
from dtem.domain.model import Activity, Opportunity, Rep
from dtem.domain.policy import Policy
from dtem.domain.ports import DirectoryPort, ImportsPort, OpportunitiesPort
from dtem.domain.store_imports import StageEntry
from dtem.services.imports.plans import Plan, StageChange, plan_upsert
from dtem.services.imports.unattached import resolve_rows
from dtem.services.imports.validate import Record
from dtem.services.signals.ingest import KeysTx


class _Opportunities(KeysTx, OpportunitiesPort, Protocol):
    """Accounts (by id, domain, name), reps (owners) and the stored opportunities."""


class _Activities(DirectoryPort, ImportsPort, Protocol):
    """Accounts and the activity ids already stored."""


def plan_opportunities(
    tx: _Opportunities, records: list[Record], at: datetime, policy: Policy
) -> Plan:
    """Resolve accounts (or keep a row unattached) and owners; diff against the stored."""
    existing = tx.opportunities_by_external_id([r["external_id"] for _, r in records])
    waiting = resolve_rows(tx, records, existing, policy)
    account_ids = tx.all_account_ids()
    owners = _owner_index(tx.all_reps())
    unmatched: set[str] = set()
    for _row, rec in records:
        owner = rec.get("rep_external_id")
        if owner is not None:
            rec["rep_external_id"] = owners.get(owner.lower())
            if rec["rep_external_id"] is None:
                unmatched.add(owner)
    plan = plan_upsert("opportunities", records, existing, Opportunity)
    plan.unattached = waiting
    plan.warnings += [
        f"opportunity owner {o!r} matches no rep (stored without a rep)" for o in sorted(unmatched)
    ]
    for opp in [*plan.inserts, *plan.updates]:
        old = existing.get(opp.external_id)
        if old is None or old.stage != opp.stage:
            plan.stage_entries.append(StageEntry(opp.external_id, opp.stage, at, "import"))
            if opp.account_external_id is None:
                continue  # unattached: no account, so no lease or commission to settle
            account_id = account_ids[opp.account_external_id]
            plan.stage_changes.append(
                StageChange(opp.external_id, account_id, old.stage if old else None, opp.stage)
            )
    return plan


def plan_activities(tx: _Activities, records: list[Record], file: str) -> Plan:
    """New activity ids are inserted; known ids are facts already recorded (unchanged)."""
    for _row, rec in records:
        if rec.get("external_id") is None:
            rec["external_id"] = activity_id(rec)
    kept, errors = _known_accounts(records, tx.all_account_ids(), file)
    kept, dupes = _unique(kept, file)
    known = tx.existing_activity_ids([r["external_id"] for _, r in kept])
    plan = Plan("activities", errors=errors + dupes)
    for _row, rec in kept:
        if rec["external_id"] in known:
            plan.unchanged += 1
        else:
            plan.inserts.append(Activity(**rec))
    return plan


def activity_id(rec: dict[str, Any]) -> str:
    """A deterministic id from an activity's content, so re-importing it is a no-op."""
    parts = [
        rec.get(k) for k in ("account_external_id", "kind", "occurred_at", "actor_kind", "actor_id")
    ]
    body = "|".join(
        "" if p is None else (p.isoformat() if isinstance(p, datetime) else str(p)) for p in parts
    )
    return "act-" + hashlib.sha256(body.encode()).hexdigest()[:24]


def _known_accounts(
    records: list[Record], account_ids: dict[str, int], file: str
) -> tuple[list[Record], list[RowError]]:
    kept: list[Record] = []
    errors: list[RowError] = []
    for row, rec in records:
        xid = rec["account_external_id"]
        if xid in account_ids:
            kept.append((row, rec))
        else:
            reason = "unknown account: not in the ledger (import accounts first)"
            errors.append(RowError(file, row, "account_external_id", xid, reason))
    return kept, errors


def _unique(records: list[Record], file: str) -> tuple[list[Record], list[RowError]]:
    """Derived activity ids can collide only when two rows say exactly the same thing."""
    seen: dict[str, int] = {}
    kept: list[Record] = []
    errors: list[RowError] = []
    for row, rec in records:
        xid = rec["external_id"]
        if xid in seen:
            reason = f"duplicate activity in file (same as row {seen[xid]})"
            errors.append(RowError(file, row, "external_id", xid, reason))
        else:
            seen[xid] = row
            kept.append((row, rec))
    return kept, errors


def _owner_index(reps: Sequence[Rep]) -> dict[str, str]:
    """Owner label (lower case) -> rep external id; external ids win over names."""
    index: dict[str, str] = {}
    for rep in reps:
        index.setdefault(rep.name.strip().lower(), rep.external_id)
    for rep in reps:
        if rep.crm_user_id:
            index[rep.crm_user_id.lower()] = rep.external_id
    for rep in reps:
        index[rep.external_id.lower()] = rep.external_id
    return index
