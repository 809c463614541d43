"""In-memory implementation of `OutboxPort` (unit tests); same contract as the SQL one."""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from dtem.domain.clock import as_utc
from dtem.domain.errors import NotFound
from dtem.domain.webhooks import (
    CANCELLED,
    PENDING,
    DeliveryClaim,
    DeliveryFilter,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    event_reps,
    muted,
)


@dataclass
class _Held:
    """A delivery row and the claim on it (the SQL claim columns)."""

    delivery: WebhookDelivery
    token: str | None = None
    until: datetime | None = None


class OutboxMemory:
    """Mixed into `MemoryTx`; `self.s.extra` holds the three webhook tables."""

    s: Any

    def _rows(self, table: str) -> list[Any]:
        rows: list[Any] = self.s.extra.setdefault(table, [])
        return rows

    def add_webhook_subscription(self, sub: WebhookSubscription) -> WebhookSubscription:
        subs = self._rows("webhook_subscriptions")
        stored = replace(sub, id=len(subs) + 1, created_at=as_utc(sub.created_at))
        subs.append(stored)
        return stored

    def webhook_subscriptions(self, active_only: bool = False) -> list[WebhookSubscription]:
        return [s for s in self._rows("webhook_subscriptions") if s.active or not active_only]

    def webhook_subscription(self, sub_id: int) -> WebhookSubscription:
        subs = self._rows("webhook_subscriptions")
        if not 0 < sub_id <= len(subs):
            raise NotFound(f"webhook subscription {sub_id} does not exist")
        sub: WebhookSubscription = subs[sub_id - 1]
        return sub

    def deactivate_webhook_subscription(self, sub_id: int, at: datetime) -> int:
        sub = self.webhook_subscription(sub_id)
        if not sub.active:
            return 0
        self._rows("webhook_subscriptions")[sub_id - 1] = replace(
            sub, active=False, removed_at=as_utc(at)
        )
        cancelled = 0
        for held in self._rows("webhook_deliveries"):
            d = held.delivery
            if d.subscription_id == sub_id and d.status == PENDING:
                held.delivery, cancelled = replace(d, status=CANCELLED), cancelled + 1
        return cancelled

    def has_webhook_subscribers(self, event_type: str) -> bool:
        return any(s.takes(event_type) for s in self._rows("webhook_subscriptions"))

    def enqueue_webhook_events(self, events: Sequence[WebhookEvent]) -> int:
        subs = [s for s in self._rows("webhook_subscriptions") if s.active]
        mutes = self.muted_notifications(event_reps(events))
        written = 0
        for e in events:
            for sub in subs:
                if sub.takes_event(e) and not muted(sub, e, mutes):
                    assert sub.id is not None
                    self._add(sub.id, e, e.created_at, None)
                    written += 1
        return written

    def mute_notification(self, rep_id: int, kind: str, at: datetime, actor: str) -> bool:
        mutes: dict[tuple[int, str], tuple[datetime, str]] = self.s.extra.setdefault(
            "notification_mutes", {}
        )
        if (rep_id, kind) in mutes:
            return False
        mutes[(rep_id, kind)] = (as_utc(at), actor)
        return True

    def unmute_notification(self, rep_id: int, kind: str) -> bool:
        mutes: dict[tuple[int, str], Any] = self.s.extra.setdefault("notification_mutes", {})
        return mutes.pop((rep_id, kind), None) is not None

    def muted_notifications(self, rep_ids: Collection[int]) -> set[tuple[int, str]]:
        wanted = set(rep_ids)
        return {k for k in self.s.extra.get("notification_mutes", {}) if k[0] in wanted}

    def note_sprint_ending(self, lease_id: int, expires_at: datetime, at: datetime) -> bool:
        noticed: dict[tuple[int, datetime], datetime] = self.s.extra.setdefault(
            "sprint_notices", {}
        )
        key = (lease_id, as_utc(expires_at))
        if key in noticed:
            return False
        noticed[key] = as_utc(at)
        return True

    def note_digest(self, rep_id: int, day: date, at: datetime) -> bool:
        queued: dict[tuple[int, date], datetime] = self.s.extra.setdefault("digest_notices", {})
        if (rep_id, day) in queued:
            return False
        queued[(rep_id, day)] = as_utc(at)
        return True

    def add_webhook_delivery(
        self, subscription_id: int, event: WebhookEvent, at: datetime, replay_of: int | None
    ) -> WebhookDelivery:
        self.webhook_subscription(subscription_id)
        return self._add(subscription_id, event, at, replay_of)

    def _add(
        self, sub_id: int, e: WebhookEvent, at: datetime, replay_of: int | None
    ) -> WebhookDelivery:
        rows = self._rows("webhook_deliveries")
        event = replace(e, created_at=as_utc(e.created_at), data=copy.deepcopy(e.data))
        d = WebhookDelivery(sub_id, event, as_utc(at), PENDING, 0, as_utc(at), replay_of)
        rows.append(_Held(replace(d, id=len(rows) + 1)))
        return rows[-1].delivery  # type: ignore[no-any-return]

    def claim_webhook_deliveries(self, at: datetime, claim: DeliveryClaim) -> list[WebhookDelivery]:
        due = [
            h
            for h in self._rows("webhook_deliveries")
            if h.delivery.status == PENDING
            and h.delivery.next_attempt_at is not None
            and h.delivery.next_attempt_at <= at
            and (h.until is None or h.until <= at)
            and claim.only in (None, h.delivery.id)
        ]
        due.sort(key=lambda h: (h.delivery.next_attempt_at, h.delivery.id))
        for h in due[: claim.limit]:
            h.token, h.until = claim.token, as_utc(claim.until)
        return [h.delivery for h in due[: claim.limit]]

    def record_webhook_attempt(self, attempt: WebhookAttempt, claim_token: str) -> bool:
        held = self._held(attempt.delivery_id)
        if held.token != claim_token or held.delivery.status != PENDING:
            return False
        held.delivery = replace(
            held.delivery,
            status=attempt.delivery_status,
            attempts=attempt.attempt,
            next_attempt_at=attempt.next_retry_at,
        )
        held.token = held.until = None
        error = attempt.error[:500] if attempt.error else None
        self._rows("webhook_attempts").append(replace(attempt, error=error))
        return True

    def _held(self, delivery_id: int) -> _Held:
        rows = self._rows("webhook_deliveries")
        if not 0 < delivery_id <= len(rows):
            raise NotFound(f"webhook delivery {delivery_id} does not exist")
        held: _Held = rows[delivery_id - 1]
        return held

    def webhook_deliveries(self, where: DeliveryFilter) -> list[WebhookDelivery]:
        found = [
            h.delivery
            for h in reversed(self._rows("webhook_deliveries"))
            if (
                where.subscription_id is None or h.delivery.subscription_id == where.subscription_id
            )
            and (where.since is None or h.delivery.created_at >= where.since)
            and (where.statuses is None or h.delivery.status in where.statuses)
            and (where.before_id is None or (h.delivery.id or 0) < where.before_id)
        ]
        return found[: where.limit]

    def webhook_delivery(self, delivery_id: int) -> WebhookDelivery:
        return self._held(delivery_id).delivery

    def webhook_attempts(self, delivery_ids: Sequence[int]) -> list[WebhookAttempt]:
        wanted = set(delivery_ids)
        found = [a for a in self._rows("webhook_attempts") if a.delivery_id in wanted]
        return sorted(found, key=lambda a: (a.delivery_id, a.attempt))
