"""SQL implementation of `OutboxPort` (SQLite and PostgreSQL).

Claims: PostgreSQL locks the candidate rows `FOR UPDATE SKIP LOCKED`, so dispatchers in
several processes each take different rows; SQLite's transactions begin IMMEDIATE (one
writer at a time), so a claim's read and update are never interleaved with another's.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from dtem.adapters.ledger import tables as t
from dtem.domain.clock import as_utc
from dtem.domain.errors import NotFound
from dtem.domain.webhooks import (
    CANCELLED,
    PENDING,
    PERSONAL_FORMATS,
    DeliveryClaim,
    DeliveryFilter,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    event_reps,
    muted,
)

S, D, A = t.webhook_subscriptions, t.webhook_deliveries, t.webhook_attempts
M, N, G = t.notification_mutes, t.sprint_notices, t.digest_notices
_ACTIVE_SUBSCRIPTIONS = sa.select(S).where(S.c.active.is_(True))


class OutboxSql:
    """Mixed into `SqlTx`. Active subscriptions are read once per unit of work."""

    conn: Connection
    _takers: list[WebhookSubscription] | None = None

    def add_webhook_subscription(self, sub: WebhookSubscription) -> WebhookSubscription:
        values = _subscription_row(sub)
        sub_id = self.conn.execute(sa.insert(S).values(**values).returning(S.c.id)).scalar_one()
        self._takers = None
        return self.webhook_subscription(int(sub_id))

    def webhook_subscriptions(self, active_only: bool = False) -> list[WebhookSubscription]:
        q = sa.select(S).order_by(S.c.id)
        if active_only:
            q = q.where(S.c.active.is_(True))
        return [_subscription(r) for r in self.conn.execute(q).mappings()]

    def webhook_subscription(self, sub_id: int) -> WebhookSubscription:
        row = self.conn.execute(sa.select(S).where(S.c.id == sub_id)).mappings().first()
        if row is None:
            raise NotFound(f"webhook subscription {sub_id} does not exist")
        return _subscription(row)

    def deactivate_webhook_subscription(self, sub_id: int, at: datetime) -> int:
        if not self.webhook_subscription(sub_id).active:
            return 0
        self.conn.execute(sa.update(S).where(S.c.id == sub_id).values(active=False, removed_at=at))
        self._takers = None
        pending = sa.and_(D.c.subscription_id == sub_id, D.c.status == PENDING)
        res = self.conn.execute(sa.update(D).where(pending).values(status=CANCELLED))
        return int(res.rowcount)

    def has_webhook_subscribers(self, event_type: str) -> bool:
        return any(sub.takes(event_type) for sub in self._subscribers())

    def _subscribers(self) -> list[WebhookSubscription]:
        if self._takers is None:
            rows = self.conn.execute(_ACTIVE_SUBSCRIPTIONS).mappings()
            self._takers = [_subscription(r) for r in rows]
        return self._takers

    def enqueue_webhook_events(self, events: Sequence[WebhookEvent]) -> int:
        subs = self._subscribers()
        people = any(s.format in PERSONAL_FORMATS for s in subs)
        mutes = self.muted_notifications(event_reps(events)) if people else set()
        rows = [
            _delivery_row(sub.id, e, e.created_at, None)
            for e in events
            for sub in subs
            if sub.id is not None and sub.takes_event(e) and not muted(sub, e, mutes)
        ]
        if rows:
            self.conn.execute(sa.insert(D), rows)
        return len(rows)

    def mute_notification(self, rep_id: int, kind: str, at: datetime, actor: str) -> bool:
        if (rep_id, kind) in self.muted_notifications([rep_id]):
            return False
        row = {"rep_id": rep_id, "kind": kind, "muted_at": at, "muted_by": actor}
        self.conn.execute(sa.insert(M).values(**row))
        return True

    def unmute_notification(self, rep_id: int, kind: str) -> bool:
        gone = self.conn.execute(sa.delete(M).where(M.c.rep_id == rep_id, M.c.kind == kind))
        return bool(gone.rowcount)

    def muted_notifications(self, rep_ids: Collection[int]) -> set[tuple[int, str]]:
        if not rep_ids:
            return set()
        q = sa.select(M.c.rep_id, M.c.kind).where(M.c.rep_id.in_(sorted(rep_ids)))
        return {(int(r), str(k)) for r, k in self.conn.execute(q)}

    def note_sprint_ending(self, lease_id: int, expires_at: datetime, at: datetime) -> bool:
        q = sa.select(N.c.lease_id).where(N.c.lease_id == lease_id, N.c.expires_at == expires_at)
        if self.conn.execute(q).first() is not None:
            return False
        row = {"lease_id": lease_id, "expires_at": expires_at, "noticed_at": at}
        self.conn.execute(sa.insert(N).values(**row))
        return True

    def note_digest(self, rep_id: int, day: date, at: datetime) -> bool:
        q = sa.select(G.c.rep_id).where(G.c.rep_id == rep_id, G.c.day == day)
        if self.conn.execute(q).first() is not None:
            return False
        self.conn.execute(sa.insert(G).values(rep_id=rep_id, day=day, queued_at=at))
        return True

    def add_webhook_delivery(
        self, subscription_id: int, event: WebhookEvent, at: datetime, replay_of: int | None
    ) -> WebhookDelivery:
        self.webhook_subscription(subscription_id)  # NotFound
        row = _delivery_row(subscription_id, event, at, replay_of)
        new_id = self.conn.execute(sa.insert(D).values(**row).returning(D.c.id)).scalar_one()
        return self.webhook_delivery(int(new_id))

    def claim_webhook_deliveries(self, at: datetime, claim: DeliveryClaim) -> list[WebhookDelivery]:
        free = sa.or_(D.c.claimed_until.is_(None), D.c.claimed_until <= at)
        q = (
            sa.select(D.c.id)
            .where(D.c.status == PENDING, D.c.next_attempt_at <= at, free)
            .order_by(D.c.next_attempt_at, D.c.id)
            .limit(claim.limit)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite renders no clause
        )
        if claim.only is not None:
            q = q.where(D.c.id == claim.only)
        ids = [int(i) for i in self.conn.execute(q).scalars()]
        if not ids:
            return []
        held = {"claim_token": claim.token, "claimed_until": claim.until}
        self.conn.execute(sa.update(D).where(D.c.id.in_(ids)).values(**held))
        rows = self.conn.execute(sa.select(D).where(D.c.id.in_(ids)).order_by(D.c.id))
        return [_delivery(r) for r in rows.mappings()]

    def record_webhook_attempt(self, attempt: WebhookAttempt, claim_token: str) -> bool:
        held = sa.and_(D.c.id == attempt.delivery_id, D.c.claim_token == claim_token)
        moved = self.conn.execute(
            sa.update(D)
            .where(held, D.c.status == PENDING)
            .values(
                status=attempt.delivery_status,
                attempts=attempt.attempt,
                next_attempt_at=attempt.next_retry_at,
                claim_token=None,
                claimed_until=None,
            )
        )
        if moved.rowcount == 0:
            return False
        self.conn.execute(sa.insert(A).values(**_attempt_row(attempt)))
        return True

    def webhook_deliveries(self, where: DeliveryFilter) -> list[WebhookDelivery]:
        q = sa.select(D).order_by(D.c.id.desc()).limit(where.limit)
        if where.subscription_id is not None:
            q = q.where(D.c.subscription_id == where.subscription_id)
        if where.since is not None:
            q = q.where(D.c.created_at >= where.since)
        if where.statuses is not None:
            q = q.where(D.c.status.in_(sorted(where.statuses)))
        if where.before_id is not None:
            q = q.where(D.c.id < where.before_id)
        return [_delivery(r) for r in self.conn.execute(q).mappings()]

    def webhook_delivery(self, delivery_id: int) -> WebhookDelivery:
        row = self.conn.execute(sa.select(D).where(D.c.id == delivery_id)).mappings().first()
        if row is None:
            raise NotFound(f"webhook delivery {delivery_id} does not exist")
        return _delivery(row)

    def webhook_attempts(self, delivery_ids: Sequence[int]) -> list[WebhookAttempt]:
        if not delivery_ids:
            return []
        q = (
            sa.select(A)
            .where(A.c.delivery_id.in_(list(delivery_ids)))
            .order_by(A.c.delivery_id, A.c.attempt)
        )
        return [_attempt(r) for r in self.conn.execute(q).mappings()]


# --- rows <-> entities ---------------------------------------------------------------------
def _subscription_row(sub: WebhookSubscription) -> dict[str, Any]:
    return {
        "url": sub.url,
        "secret": sub.secret,
        "events": list(sub.events),
        "format": sub.format,
        "active": sub.active,
        "created_at": sub.created_at,
        "created_by": sub.created_by,
        "removed_at": sub.removed_at,
        "rep_id": sub.rep_id,
        "team": sub.team,
    }


def _subscription(r: RowMapping) -> WebhookSubscription:
    return WebhookSubscription(
        url=r["url"],
        secret=r["secret"],
        events=tuple(r["events"]),
        created_at=as_utc(r["created_at"]),
        created_by=r["created_by"],
        format=r["format"],
        active=bool(r["active"]),
        removed_at=as_utc(r["removed_at"]) if r["removed_at"] else None,
        id=int(r["id"]),
        rep_id=r["rep_id"],
        team=r["team"],
    )


def _delivery_row(
    sub_id: int, e: WebhookEvent, at: datetime, replay_of: int | None
) -> dict[str, Any]:
    return {
        "subscription_id": sub_id,
        "event_id": e.id,
        "event_type": e.type,
        "event_at": e.created_at,
        "data": e.data,
        "created_at": at,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": at,
        "replay_of": replay_of,
    }


def _delivery(r: RowMapping) -> WebhookDelivery:
    event = WebhookEvent(r["event_id"], r["event_type"], as_utc(r["event_at"]), dict(r["data"]))
    due = r["next_attempt_at"]
    return WebhookDelivery(
        subscription_id=int(r["subscription_id"]),
        event=event,
        created_at=as_utc(r["created_at"]),
        status=r["status"],
        attempts=int(r["attempts"]),
        next_attempt_at=as_utc(due) if due else None,
        replay_of=r["replay_of"],
        id=int(r["id"]),
    )


def _attempt_row(a: WebhookAttempt) -> dict[str, Any]:
    return {
        "delivery_id": a.delivery_id,
        "attempt": a.attempt,
        "at": a.at,
        "status_code": a.status_code,
        "error": a.error[:500] if a.error else None,
        "duration_ms": a.duration_ms,
        "next_retry_at": a.next_retry_at,
    }


def _attempt(r: RowMapping) -> WebhookAttempt:
    nxt = r["next_retry_at"]
    return WebhookAttempt(
        delivery_id=int(r["delivery_id"]),
        attempt=int(r["attempt"]),
        at=as_utc(r["at"]),
        status_code=r["status_code"],
        error=r["error"],
        duration_ms=int(r["duration_ms"]),
        next_retry_at=as_utc(nxt) if nxt else None,
    )
