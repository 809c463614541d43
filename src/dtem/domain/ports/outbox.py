"""Outbox port: webhook subscriptions, the deliveries owed to them and every attempt."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Protocol

from dtem.domain.webhooks import (
    DeliveryClaim,
    DeliveryFilter,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)


class OutboxPort(Protocol):
    """The durable outbox: written in the change's unit of work, drained by dispatchers.

    One delivery row per (event, subscription that takes it); nothing at all is written
    for an event no active subscription takes.
    """

    def add_webhook_subscription(self, sub: WebhookSubscription) -> WebhookSubscription: ...
    def webhook_subscriptions(self, active_only: bool = False) -> list[WebhookSubscription]: ...
    def webhook_subscription(self, sub_id: int) -> WebhookSubscription:
        """Raises `NotFound`."""
        ...

    def deactivate_webhook_subscription(self, sub_id: int, at: datetime) -> int:
        """Stop a subscription; its pending deliveries become `cancelled` (returns how
        many). Raises `NotFound`; a subscription already inactive changes nothing."""
        ...

    def has_webhook_subscribers(self, event_type: str) -> bool:
        """Whether an active subscription takes this type (read once per unit of work)."""
        ...

    def enqueue_webhook_events(self, events: Sequence[WebhookEvent]) -> int:
        """A pending delivery, due at the event's time, for each event and each active
        subscription that takes its type; returns how many were written."""
        ...

    def add_webhook_delivery(
        self, subscription_id: int, event: WebhookEvent, at: datetime, replay_of: int | None
    ) -> WebhookDelivery:
        """A pending delivery of `event` to one subscription, due at `at`, whatever types it
        takes (a test event, a replay). Raises `NotFound`."""
        ...

    def claim_webhook_deliveries(self, at: datetime, claim: DeliveryClaim) -> list[WebhookDelivery]:
        """Hold up to `claim.limit` pending deliveries due at `at` and not held by a claim
        still running (only `claim.only` if it names one), oldest due first. PostgreSQL:
        rows another dispatcher is claiming are skipped (`FOR UPDATE SKIP LOCKED`), so
        concurrent claims never overlap."""
        ...

    def record_webhook_attempt(self, attempt: WebhookAttempt, claim_token: str) -> bool:
        """Append the attempt and move its delivery on (`attempt.delivery_status`), only if
        `claim_token` still holds it; False (nothing written) when the claim was lost."""
        ...

    def webhook_deliveries(self, where: DeliveryFilter) -> list[WebhookDelivery]: ...
    def webhook_delivery(self, delivery_id: int) -> WebhookDelivery:
        """Raises `NotFound`."""
        ...

    def webhook_attempts(self, delivery_ids: Sequence[int]) -> list[WebhookAttempt]:
        """The attempts of these deliveries, by delivery then attempt number."""
        ...

    def mute_notification(self, rep_id: int, kind: str, at: datetime, actor: str) -> bool:
        """Stop `kind` reaching this rep's Slack and e-mail; False if it was muted already."""
        ...

    def unmute_notification(self, rep_id: int, kind: str) -> bool:
        """Let `kind` through again; False if it was not muted."""
        ...

    def muted_notifications(self, rep_ids: Collection[int]) -> set[tuple[int, str]]:
        """(rep id, kind) of every mute of these reps."""
        ...

    def note_sprint_ending(self, lease_id: int, expires_at: datetime, at: datetime) -> bool:
        """Record that this lease's sprint (ending `expires_at`) was announced; False (no
        change) when it already was — a sprint is announced once."""
        ...

    def note_digest(self, rep_id: int, day: date, at: datetime) -> bool:
        """Record that this rep's digest of `day` is queued; False (no change) when it
        already was — a digest is queued once per rep and day."""
        ...
