"""Lease use cases: grant, advance or close, expire, release, reassign — each one audited.

Every transition goes through the pure state machine (`dtem.domain.leases.decide`), given
the lease as read in the caller's unit of work, and `apply_events` persists what it
decided: the leases projection (only if the lease is still at the version read, else
`LeaseVersionConflict`), one `lease_events` row (seq = the version it made) and one audit
entry per event, and its webhook event when a subscription takes it. Won and lost stages
close a lease through `record_advances`.

>>> # with a ledger:  release_lease(ledger, clock, lease_id=7, actor="rep:R1", reason="PTO")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from dtem.domain import leases as lm
from dtem.domain.clock import Clock
from dtem.domain.errors import LeaseTransitionInvalid, NotFound
from dtem.domain.model import Lease
from dtem.domain.ports import (
    AuditPort,
    DirectoryPort,
    LeasesPort,
    LedgerOf,
    OutboxPort,
    PolicyPort,
    RoutingFactsPort,
)
from dtem.domain.store_market import LeaseEventRow, LeaseFilter
from dtem.services import webhook_events
from dtem.services.governance import ActivePolicy, active_policy


class _AuditedLeases(LeasesPort, AuditPort, OutboxPort, DirectoryPort, Protocol):
    """Leases, every transition audited and its webhook event written in one transaction."""


class _LeaseChange(LeasesPort, AuditPort, DirectoryPort, PolicyPort, OutboxPort, Protocol):
    """A person's lease change: the lease, the rep, the policy in force, the audit."""


class _Reassignment(_LeaseChange, RoutingFactsPort, Protocol):
    """A lease change that re-grants at the account's current score."""


class _LeaseViews(LeasesPort, DirectoryPort, Protocol):
    """Leases with their account and rep names."""


@dataclass(frozen=True)
class StageChange:
    """An opportunity on `account_id` moved to `stage` (previous None = a new opportunity)."""

    account_id: int
    stage: str
    previous_stage: str | None
    at: datetime
    source: str = "import"  # import | api | crm_sync


def apply_events(
    tx: _AuditedLeases, lease: Lease | None, events: Sequence[lm.LeaseEvent]
) -> Lease | None:
    """Persist decided events; return the lease as it now stands (None if nothing happened)."""
    for event in events:
        lease = _persist(tx, lease, event)
    return lease


def _persist(tx: _AuditedLeases, lease: Lease | None, event: lm.LeaseEvent) -> Lease:
    if isinstance(event, lm.LeaseGranted):
        assert event.expires_at is not None
        lease = tx.grant_lease(
            event.account_id,
            event.rep_id,
            event.at,
            event.expires_at,
            event.score,
            event.policy_version,
            event.reason,
        )
    elif isinstance(event, lm.LeaseAdvanced):  # only if still at the version read
        assert lease is not None and event.expires_at is not None
        state = lm.evolve(lease, event).state
        lease = tx.extend_lease(lease.id, lease.version, event.expires_at, state)
    else:
        assert lease is not None and event.ends_as is not None
        lease = tx.end_lease(lease.id, lease.version, event.ends_as, event.at, event.reason)
    payload = event_payload(lease, event)
    row = LeaseEventRow(
        lease.id,
        event.kind,
        event.at,
        event.actor,
        event.reason,
        event.policy_version,
        payload,
        seq=lease.version,  # unique per lease: a second writer of this version fails
    )
    tx.add_lease_event(lease.id, row)
    tx.append_audit(event.actor, f"lease.{event.kind}", {"lease_id": lease.id, **payload}, event.at)
    webhook_events.lease_changed(tx, lease, event.kind, event.at, event.actor)
    return lease


def event_payload(lease: Lease, event: lm.LeaseEvent) -> dict[str, Any]:
    """What a transition's `lease_events` row and audit entry record about it."""
    out: dict[str, Any] = {
        "account_id": lease.account_id,
        "rep_id": lease.rep_id,
        "reason": event.reason,
        "policy_version": event.policy_version,
        "version": lease.version,
    }
    if isinstance(event, lm.LeaseGranted | lm.LeaseAdvanced) and event.expires_at is not None:
        out["expires_at"] = event.expires_at.isoformat()
    if isinstance(event, lm.LeaseGranted):
        out["score_at_grant"] = event.score
    if isinstance(event, lm.LeaseAdvanced):
        out["stage"] = event.stage
    if isinstance(event, lm.LeaseReassigned):
        out["to_rep_id"] = event.to_rep_id
    return out


def grant(
    tx: _AuditedLeases,
    account_id: int,
    rep_id: int,
    at: datetime,
    score: float,
    active: ActivePolicy,
    reason: str,
    actor: str,
) -> Lease:
    """Grant a lease (raises `LeaseConflict` when the account is already leased)."""
    current = tx.active_lease(account_id)
    return grant_on_current(tx, current, account_id, rep_id, at, score, active, reason, actor)


def grant_on_current(
    tx: _AuditedLeases,
    current: Lease | None,
    account_id: int,
    rep_id: int,
    at: datetime,
    score: float,
    active: ActivePolicy,
    reason: str,
    actor: str,
) -> Lease:
    """Grant, given the account's current lease as read in this unit of work.

    `decide` refuses a grant over an active lease; the one-active-lease index still
    refuses one granted meanwhile by another unit of work (both `LeaseConflict`).
    """
    cmd = lm.GrantLease(account_id, rep_id, at, score, active.version, reason, actor)
    lease = apply_events(tx, current, lm.decide(current, cmd, active.policy))
    assert lease is not None
    return lease


def record_advances(
    tx: _AuditedLeases, changes: Sequence[StageChange], active: ActivePolicy, actor: str
) -> list[Lease]:
    """Extend or close the active leases of the accounts whose opportunities moved.

    Called by the opportunity import, the stage API and the CRM sync, inside their unit
    of work. Accounts without an active lease are ignored; returns the leases changed.
    """
    changed: list[Lease] = []
    for ch in sorted(changes, key=lambda c: c.at):
        lease = tx.active_lease(ch.account_id)
        if lease is None or ch.at < lease.granted_at:
            continue  # progress made before the lease belongs to nobody's sprint
        cmd = lm.RecordAdvance(
            ch.at, ch.stage, ch.previous_stage, active.version, actor, f"stage {ch.stage}"
        )
        result = apply_events(tx, lease, lm.decide(lease, cmd, active.policy))
        if result is not None and result != lease:
            changed.append(result)
    return changed


def expire(
    tx: _AuditedLeases, lease: Lease, at: datetime, back_to_pool: bool, active: ActivePolicy
) -> Lease:
    """End a lease whose sprint passed without an advance (a no-op inside the sprint)."""
    cmd = lm.ExpireLease(at, back_to_pool, active.version)
    return apply_events(tx, lease, lm.decide(lease, cmd, active.policy)) or lease


def release_lease(
    ledger: LedgerOf[_LeaseChange],
    clock: Clock,
    lease_id: int,
    actor: str,
    reason: str,
    as_rep: str | None = None,
) -> Lease:
    """A rep gives a lease back early. `as_rep`: the caller is that rep (own leases only)."""
    with ledger.transaction() as tx:
        lease = tx.lease(lease_id)
        _check_owner(tx, lease, as_rep)
        active = active_policy(tx)
        cmd = lm.ReleaseLease(clock(), reason or "released by the rep", active.version, actor)
        result = apply_events(tx, lease, lm.decide(lease, cmd, active.policy))
    assert result is not None
    return result


def reassign_lease(
    ledger: LedgerOf[_Reassignment],
    clock: Clock,
    lease_id: int,
    to_rep: str,
    reason: str,
    actor: str,
) -> Lease:
    """A manager moves a lease to another rep; returns the new lease.

    The old lease ends as `reassigned` (no cooldown: the rep did nothing wrong) and the new
    one starts a fresh sprint at the account's current score. A manager may exceed the
    target rep's capacity; the rep must be active.
    """
    if not reason.strip():
        raise LeaseTransitionInvalid("reassign needs a reason (it goes to the audit log)")
    with ledger.transaction() as tx:
        lease, now, active = tx.lease(lease_id), clock(), active_policy(tx)
        rep = tx.reps_by_external_id([to_rep]).get(to_rep)
        if rep is None or rep.id is None:
            raise NotFound(f"rep {to_rep!r} does not exist")
        if not rep.active:
            raise LeaseTransitionInvalid(f"rep {to_rep!r} is not active")
        cmd = lm.ReassignLease(now, rep.id, reason, active.version, actor)
        ended = apply_events(tx, lease, lm.decide(lease, cmd, active.policy))
        score = tx.routing_score(lease.account_id)
        at_grant = score.score if score is not None else lease.score_at_grant
        why = f"reassigned from lease {lease.id}: {reason}"
        return grant_on_current(
            tx, ended, lease.account_id, rep.id, now, at_grant, active, why, actor
        )


def _check_owner(tx: DirectoryPort, lease: Lease, as_rep: str | None) -> None:
    """A rep sees only its own leases: another's answers as an unknown lease would
    (`NotFound`, the same words), so a rep cannot learn which lease ids exist."""
    if as_rep is None:
        return
    rep = tx.reps_by_external_id([as_rep]).get(as_rep)
    if rep is None or rep.id != lease.rep_id:
        raise NotFound(f"lease {lease.id} does not exist")


@dataclass(frozen=True)
class LeaseView:
    """A lease with the names a person reads, and its history."""

    lease: Lease
    account: str
    rep: str
    events: list[LeaseEventRow]


def list_leases(
    ledger: LedgerOf[_LeaseViews],
    rep: str | None = None,
    active_only: bool = True,
    limit: int = 100,
    *,
    ended_only: bool = False,
    before_id: int | None = None,
    with_events: bool = False,
) -> list[LeaseView]:
    """Leases newest first, optionally one rep's; `before_id` pages on (keyset).

    Example: `list_leases(ledger, "R1")`, then `list_leases(ledger, "R1", before_id=41)`.
    """
    where = LeaseFilter(None, None, active_only, limit, ended_only, before_id)
    with ledger.transaction() as tx:
        rep_id = _rep_id(tx, rep) if rep else None
        found = tx.find_leases(replace(where, rep_id=rep_id))
        return _views(tx, found, with_events=with_events)


def show_lease(
    ledger: LedgerOf[_LeaseViews], lease_id: int, as_rep: str | None = None
) -> LeaseView:
    """A lease and its transitions; with `as_rep`, another rep's lease is `NotFound` (the
    same answer as a missing one: a rep cannot learn which leases exist)."""
    with ledger.transaction() as tx:
        view = _views(tx, [tx.lease(lease_id)], with_events=True)[0]
    if as_rep is not None and view.rep != as_rep:
        raise NotFound(f"lease {lease_id} does not exist")
    return view


def _rep_id(tx: DirectoryPort, external_id: str) -> int:
    rep = tx.reps_by_external_id([external_id]).get(external_id)
    if rep is None or rep.id is None:
        raise NotFound(f"rep {external_id!r} does not exist")
    return rep.id


def _views(tx: _LeaseViews, found: list[Lease], with_events: bool) -> list[LeaseView]:
    accounts = tx.accounts_by_id({x.account_id for x in found})
    reps = {r.id: r.external_id for r in tx.all_reps()}
    return [
        LeaseView(
            x,
            accounts[x.account_id].external_id if x.account_id in accounts else str(x.account_id),
            reps.get(x.rep_id, str(x.rep_id)),
            tx.lease_events(x.id) if with_events else [],
        )
        for x in found
    ]
