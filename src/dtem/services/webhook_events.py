"""Webhook events, written to the outbox in the unit of work of the change that causes them.

Each function first asks whether an active subscription takes the event type (one read of
the subscriptions per unit of work): without one, nothing is built and nothing written, so
routing pays one small query and never an HTTP call. Delivery is the dispatcher's job
(`services/webhook_dispatch.py`), never the request's.

>>> # in a lease transition's unit of work:  lease_changed(tx, lease, "granted", at, actor)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from dtem.domain.model import Account, Lease, Rep
from dtem.domain.ports import DirectoryPort, OutboxPort
from dtem.domain.score_records import ScoreEvent
from dtem.domain.webhooks import WebhookEvent

LEASE_EVENTS = {
    "granted": "lease.granted",
    "revoked": "lease.revoked",
    "expired": "lease.expired",
    "reassigned": "lease.reassigned",
}
CROSSINGS = {"crossed_up": "up", "crossed_down": "down"}


class _LeaseFacts(OutboxPort, DirectoryPort, Protocol):
    """The outbox, and who the lease's account and rep are."""


def emit(tx: OutboxPort, event_type: str, at: datetime, data: Callable[[], dict[str, Any]]) -> int:
    """Write `event_type` for every active subscription taking it; `data` is built only then."""
    if not tx.has_webhook_subscribers(event_type):
        return 0
    return tx.enqueue_webhook_events([WebhookEvent.new(event_type, at, data())])


def lease_changed(tx: _LeaseFacts, lease: Lease, kind: str, at: datetime, actor: str) -> int:
    """`lease.granted`, `lease.revoked`, `lease.expired` or `lease.reassigned` (the old
    lease of a reassignment; the new one is `lease.granted`). Other transitions: nothing."""
    event_type = LEASE_EVENTS.get(kind)
    if event_type is None:
        return 0
    return emit(tx, event_type, at, lambda: _lease_data(tx, lease, actor))


def leases_changed(tx: _LeaseFacts, changes: Sequence[tuple[Lease, str, datetime, str]]) -> int:
    """`lease_changed` for many (lease, kind, at, actor) at once: the accounts and reps
    are read once and every event is written in one enqueue."""
    typed = [(LEASE_EVENTS.get(kind), lease, at, actor) for lease, kind, at, actor in changes]
    taken = [x for x in typed if x[0] is not None and tx.has_webhook_subscribers(x[0])]
    if not taken:
        return 0
    accounts = tx.accounts_by_id({x[1].account_id for x in taken})
    reps = {r.id: r for r in tx.all_reps()}
    return tx.enqueue_webhook_events(
        [
            WebhookEvent.new(event_type, at, _data(lease, accounts.get(lease.account_id),
                                                  reps.get(lease.rep_id), actor))
            for event_type, lease, at, actor in taken
            if event_type is not None
        ]
    )  # fmt: skip


def _lease_data(tx: DirectoryPort, lease: Lease, actor: str) -> dict[str, Any]:
    account = tx.accounts_by_id([lease.account_id]).get(lease.account_id)
    rep = next((r for r in tx.all_reps() if r.id == lease.rep_id), None)
    return _data(lease, account, rep, actor)


def _data(lease: Lease, account: Account | None, rep: Rep | None, actor: str) -> dict[str, Any]:
    return {
        "lease_id": lease.id,
        "lease_version": lease.version,
        "account": account.external_id if account else None,
        "account_id": lease.account_id,
        "rep": rep.external_id if rep else None,
        "rep_id": lease.rep_id,
        "team": rep.team if rep else None,
        "state": lease.state.value,
        "granted_at": _iso(lease.granted_at),
        "expires_at": _iso(lease.expires_at),
        "ended_at": _iso(lease.ended_at),
        "score_at_grant": lease.score_at_grant,
        "policy_version": lease.policy_version,
        "reason": lease.reason,
        "actor": actor,
    }


def sprint_ending(tx: _LeaseFacts, lease: Lease, at: datetime, days_left: int) -> int:
    """`lease.sprint_ending`: the lease's data and the whole days left in its sprint."""
    return emit(
        tx,
        "lease.sprint_ending",
        at,
        lambda: {**_lease_data(tx, lease, "review"), "days_left": days_left},
    )


def hand_raise(tx: _LeaseFacts, lease: Lease, account: Account, at: datetime) -> int:
    """`account.hand_raise`: a hand-raise landed on an account under an active lease (the
    lease's data, `signal` and `at`), in the unit of work that routes it."""
    return emit(
        tx,
        "account.hand_raise",
        at,
        lambda: {**_lease_data(tx, lease, "signal"), "signal": "hand_raise", "at": _iso(at)},
    )


def score_crossings(
    tx: OutboxPort, events: Sequence[ScoreEvent], names: Mapping[int, str], threshold: float
) -> int:
    """One `score.crossed` per threshold crossing among `events` (hand-raises are not).

    `names`: the external id of each account, by id."""
    crossings = [e for e in events if e.kind in CROSSINGS]
    if not crossings or not tx.has_webhook_subscribers("score.crossed"):
        return 0
    return tx.enqueue_webhook_events(
        [
            WebhookEvent.new(
                "score.crossed",
                e.at,
                {
                    "account": names.get(e.account_id),
                    "account_id": e.account_id,
                    "direction": CROSSINGS[e.kind],
                    "score": e.score,
                    "threshold": threshold,
                    "policy_version": e.policy_version,
                },
            )
            for e in crossings
        ]
    )


def policy_activated(
    tx: OutboxPort,
    version: int,
    previous: int | None,
    at: datetime,
    actor: str,
    rollback_to: int | None = None,
) -> int:
    """`policy.activated`: the version now in force, the one before; a rollback names the
    earlier version whose document it activates again."""
    data = {"version": version, "previous": previous, "actor": actor, "rollback_to": rollback_to}
    return emit(tx, "policy.activated", at, lambda: data)


def period_closed(
    tx: OutboxPort, period: str, lines: int, commission: Decimal, at: datetime, actor: str
) -> int:
    """`comp.period_closed`: the period (YYYY-MM), its line count and total commission."""
    data = {"period": period, "lines": lines, "commission": str(commission), "actor": actor}
    return emit(tx, "comp.period_closed", at, lambda: data)


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None
