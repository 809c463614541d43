"""Many lease transitions in one unit of work, written with bulk statements.

The rebalance decides thousands of grants and moves at once. Each is still decided by the
pure state machine (`dtem.domain.leases.decide`) on the lease as read in the unit of
work; `apply_batch` then persists them as `leases.apply_events` would one by one — the
projection, one `lease_events` row per transition (seq = the version it made), one audit
entry each (chained in order), webhook events where a subscription takes them — but
with a few statements for the whole batch: every end first, then every grant.

>>> # apply_batch(tx, [LeaseChange(old, [reassigned]), LeaseChange(None, [granted])])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dtem.domain import leases as lm
from dtem.domain.audit import AuditNote
from dtem.domain.model import Lease
from dtem.domain.ports import AuditPort, DirectoryPort, LeasesPort, OutboxPort
from dtem.domain.store_market import LeaseEnd, LeaseEventRow, LeaseGrant
from dtem.services import webhook_events
from dtem.services.leases import event_payload


class BatchTx(LeasesPort, AuditPort, OutboxPort, DirectoryPort, Protocol):
    """Leases, their audit and webhook events, in one unit of work."""


@dataclass(frozen=True)
class LeaseChange:
    """One decided event on a lease as read (`None`: the account has no active lease)."""

    lease: Lease | None
    event: lm.LeaseEvent


def apply_batch(tx: BatchTx, changes: Sequence[LeaseChange]) -> list[Lease]:
    """Persist ends, then grants; return each change's lease as it now stands, in order.

    Only grants and ends: an account's end comes before its grant, so a move frees the
    account before it is granted again. Raises `LeaseConflict` (an account leased by
    someone else meanwhile) or `LeaseVersionConflict` (a lease moved on meanwhile): the
    unit of work then rolls back whole.
    """
    ends = [c for c in changes if not isinstance(c.event, lm.LeaseGranted)]
    grants = [c for c in changes if isinstance(c.event, lm.LeaseGranted)]
    ended = tx.end_leases([_end(c) for c in ends])
    granted = tx.grant_leases([_grant(c.event) for c in grants])
    done = dict(zip(map(id, ends), ended, strict=True)) | dict(
        zip(map(id, grants), granted, strict=True)
    )
    now = [done[id(c)] for c in changes]
    payloads = [event_payload(lease, c.event) for lease, c in zip(now, changes, strict=True)]
    tx.add_lease_events(
        [
            LeaseEventRow(
                lease.id, c.event.kind, c.event.at, c.event.actor, c.event.reason,
                c.event.policy_version, payload, seq=lease.version,
            )
            for lease, c, payload in zip(now, changes, payloads, strict=True)
        ]
    )  # fmt: skip
    tx.append_audits(
        [
            AuditNote(
                c.event.actor, f"lease.{c.event.kind}", {"lease_id": lease.id, **p}, c.event.at
            )
            for lease, c, p in zip(now, changes, payloads, strict=True)
        ]
    )
    webhook_events.leases_changed(
        tx,
        [
            (lease, c.event.kind, c.event.at, c.event.actor)
            for lease, c in zip(now, changes, strict=True)
        ],
    )
    return now


def _end(change: LeaseChange) -> LeaseEnd:
    lease, event = change.lease, change.event
    if lease is None or event.ends_as is None:
        raise ValueError(f"a batch holds grants and ends only, not {event.kind!r}")
    return LeaseEnd(lease.id, lease.version, event.ends_as, event.at, event.reason)


def _grant(event: lm.LeaseEvent) -> LeaseGrant:
    assert isinstance(event, lm.LeaseGranted) and event.expires_at is not None
    return LeaseGrant(
        event.account_id, event.rep_id, event.at, event.expires_at, event.score,
        event.policy_version, event.reason,
    )  # fmt: skip
