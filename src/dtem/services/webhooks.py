"""Webhook subscriptions and their delivery log: add, list, remove, read, replay, test.

Every change is audited. The secret is returned once, by `subscribe`; nothing else
returns it (`SubscriptionView` has no secret).

>>> # created = subscribe(ledger, clock, "https://hooks.example.com/dtem", ["lease.granted"],
>>> #                     actor="cli");  print(created.secret)  # shown this once
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.clock import Clock
from dtem.domain.errors import ArgumentInvalid, NotFound
from dtem.domain.ports import AuditPort, DirectoryPort, LedgerOf, OutboxPort
from dtem.domain.webhooks import (
    EVENT_TYPES,
    PENDING,
    TEST_EVENT,
    DeliveryFilter,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    check_events,
    check_format,
    check_url,
)
from dtem.webhooks import new_secret


class _AuditedOutbox(OutboxPort, AuditPort, DirectoryPort, Protocol):
    """Subscriptions and deliveries, every change audited in the same transaction."""


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription as shown after its creation: everything but the secret."""

    id: int
    url: str
    events: list[str]  # [] = every event type
    format: str
    active: bool
    created_at: datetime
    created_by: str
    removed_at: datetime | None
    rep_id: int | None = None  # only this rep's events
    team: str | None = None  # only the events of this team's reps

    @staticmethod
    def of(sub: WebhookSubscription) -> SubscriptionView:
        assert sub.id is not None
        return SubscriptionView(
            sub.id, sub.url, list(sub.events), sub.format, sub.active,
            sub.created_at, sub.created_by, sub.removed_at, sub.rep_id, sub.team,
        )  # fmt: skip


@dataclass(frozen=True)
class CreatedSubscription:
    """A new subscription and its signing secret (shown this once, never again)."""

    subscription: SubscriptionView
    secret: str


def subscribe(
    ledger: LedgerOf[_AuditedOutbox],
    clock: Clock,
    url: str,
    events: Sequence[str],
    actor: str,
    format_: str = "json",
    rep: str | None = None,
    team: str | None = None,
) -> CreatedSubscription:
    """Store a subscription with a fresh secret. Raises `ArgumentInvalid` naming the field.

    `rep` (external id) or `team` scope it to that rep's or team's events: a rep's own
    Slack incoming webhook, or a team channel's."""
    if rep is not None and team is not None:
        raise ArgumentInvalid("team: give a rep or a team, not both")
    if team is not None and not team.strip():
        raise ArgumentInvalid("team: must not be empty")
    sub = WebhookSubscription(
        check_url(url), new_secret(), check_events(events), clock(), actor, check_format(format_)
    )
    with ledger.transaction() as tx:
        sub = replace(sub, rep_id=_rep_id(tx, rep), team=team.strip() if team else None)
        stored = tx.add_webhook_subscription(sub)
        view = SubscriptionView.of(stored)
        detail = {"id": view.id, "url": view.url, "events": view.events, "format": view.format}
        scope = {"rep_id": view.rep_id, "team": view.team}
        tx.append_audit(actor, "webhook.subscribe", {**detail, **scope}, clock())
    return CreatedSubscription(view, sub.secret)


def _rep_id(tx: DirectoryPort, rep: str | None) -> int | None:
    if rep is None:
        return None
    found = tx.reps_by_external_id([rep]).get(rep)
    if found is None or found.id is None:
        raise ArgumentInvalid(f"rep: no rep {rep!r}")
    return found.id


def subscriptions(
    ledger: LedgerOf[OutboxPort], active_only: bool = False
) -> list[SubscriptionView]:
    with ledger.transaction() as tx:
        return [SubscriptionView.of(s) for s in tx.webhook_subscriptions(active_only)]


def subscription(ledger: LedgerOf[OutboxPort], sub_id: int) -> SubscriptionView:
    """One subscription, without its secret. Raises `NotFound`."""
    with ledger.transaction() as tx:
        return SubscriptionView.of(tx.webhook_subscription(sub_id))


def unsubscribe(
    ledger: LedgerOf[_AuditedOutbox], clock: Clock, sub_id: int, actor: str
) -> SubscriptionView:
    """Stop a subscription (kept, with its log); its pending deliveries are cancelled.

    Removing a removed subscription changes nothing. Raises `NotFound`."""
    with ledger.transaction() as tx:
        was_active = tx.webhook_subscription(sub_id).active
        cancelled = tx.deactivate_webhook_subscription(sub_id, clock())
        if was_active:
            detail = {"id": sub_id, "cancelled_deliveries": cancelled}
            tx.append_audit(actor, "webhook.unsubscribe", detail, clock())
        return SubscriptionView.of(tx.webhook_subscription(sub_id))


@dataclass(frozen=True)
class DeliveryLog:
    """A delivery and every attempt made of it."""

    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]

    def as_dict(self) -> dict[str, Any]:
        d = self.delivery
        return {
            "id": d.id,
            "subscription_id": d.subscription_id,
            "event_id": d.event.id,
            "event_type": d.event.type,
            "created_at": d.created_at,
            "status": d.status,
            "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at,
            "replay_of": d.replay_of,
            "log": [
                {
                    "attempt": a.attempt,
                    "at": a.at,
                    "status_code": a.status_code,
                    "error": a.error,
                    "duration_ms": a.duration_ms,
                    "next_retry_at": a.next_retry_at,
                }
                for a in self.attempts
            ],
        }


def delivery_log(
    ledger: LedgerOf[OutboxPort],
    sub_id: int,
    limit: int = 50,
    since: datetime | None = None,
    before_id: int | None = None,
) -> list[DeliveryLog]:
    """A subscription's deliveries, newest first (older than `before_id` if given), each
    with its attempts. Raises `NotFound`."""
    if limit < 1:
        raise ArgumentInvalid(f"limit: must be at least 1, got {limit}")
    with ledger.transaction() as tx:
        tx.webhook_subscription(sub_id)
        where = DeliveryFilter(sub_id, since, limit=limit, before_id=before_id)
        found = tx.webhook_deliveries(where)
        return _with_attempts(tx, found)


def _with_attempts(tx: OutboxPort, found: list[WebhookDelivery]) -> list[DeliveryLog]:
    attempts = tx.webhook_attempts([d.id for d in found if d.id is not None])
    return [DeliveryLog(d, [a for a in attempts if a.delivery_id == d.id]) for d in found]


def replay(
    ledger: LedgerOf[_AuditedOutbox], clock: Clock, delivery_id: int, actor: str
) -> WebhookDelivery:
    """Deliver an event again to the same subscription: a new delivery, due now, with the
    same event id (subscribers deduplicate on it). Raises `NotFound`, `ArgumentInvalid`."""
    with ledger.transaction() as tx:
        return _replay(tx, tx.webhook_delivery(delivery_id), clock(), actor)


def replay_since(
    ledger: LedgerOf[_AuditedOutbox],
    clock: Clock,
    since: datetime,
    actor: str,
    sub_id: int | None = None,
) -> list[WebhookDelivery]:
    """Replay every delivery made since `since` that is no longer pending (delivered or
    failed), of one subscription or all; pending ones will be tried anyway."""
    with ledger.transaction() as tx:
        done = frozenset({"delivered", "failed"})
        found = tx.webhook_deliveries(DeliveryFilter(sub_id, since, done, limit=10_000))
        active = {s.id for s in tx.webhook_subscriptions(active_only=True)}
        return [
            _replay(tx, d, clock(), actor) for d in reversed(found) if d.subscription_id in active
        ]


def _replay(tx: _AuditedOutbox, d: WebhookDelivery, at: datetime, actor: str) -> WebhookDelivery:
    if d.status == PENDING:
        raise ArgumentInvalid(f"delivery: {d.id} is still pending; it will be tried anyway")
    if not tx.webhook_subscription(d.subscription_id).active:
        raise NotFound(f"delivery: subscription {d.subscription_id} was removed")
    again = tx.add_webhook_delivery(d.subscription_id, d.event, at, d.id)
    detail = {"delivery_id": d.id, "replay_id": again.id, "event_id": d.event.id}
    tx.append_audit(actor, "webhook.replay", detail, at)
    return again


def queue_test(
    ledger: LedgerOf[_AuditedOutbox], clock: Clock, sub_id: int, actor: str
) -> WebhookDelivery:
    """A `webhook.test` event to one subscription, whatever it takes; `deliver_one` in
    `webhook_dispatch` then sends it at once. Raises `NotFound`, `ArgumentInvalid`."""
    with ledger.transaction() as tx:
        if not tx.webhook_subscription(sub_id).active:
            raise NotFound(f"id: subscription {sub_id} was removed")
        data = {"subscription_id": sub_id, "event_types": list(EVENT_TYPES)}
        event = WebhookEvent.new(TEST_EVENT, clock(), data)
        delivery = tx.add_webhook_delivery(sub_id, event, clock(), None)
        tx.append_audit(actor, "webhook.test", {"id": sub_id, "event_id": event.id}, clock())
        return delivery
