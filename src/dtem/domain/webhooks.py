"""Outbound webhooks: subscriptions, events, deliveries and their attempts, the retry plan.

An event that some active subscription takes is written to the outbox in the unit of
work of the change that caused it: one *delivery* row per (event, subscription). A
dispatcher, never the request that made the change, claims due deliveries, POSTs them
and records each attempt. Pure: no I/O; time and randomness are passed in.

>>> t0 = datetime(2027, 1, 4, tzinfo=UTC)
>>> sub = WebhookSubscription("https://hooks.example.com/dtem", "whsec_x", ("lease.granted",),
...                           t0, "cli")
>>> sub.takes("lease.granted"), sub.takes("score.crossed")
(True, False)
>>> [d.total_seconds() for d in RETRY_DELAYS[:3]]
[60.0, 300.0, 1800.0]
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from dtem.domain.digest_mail import DIGEST_EVENT, EMAIL_FORMAT, digest_email
from dtem.domain.errors import ArgumentInvalid
from dtem.domain.slack import slack_message

EVENT_TYPES = (
    "lease.granted",
    "lease.revoked",
    "lease.expired",
    "lease.reassigned",
    "lease.sprint_ending",
    "account.hand_raise",
    "score.crossed",
    "policy.activated",
    "comp.period_closed",
)
TEST_EVENT = "webhook.test"  # sent by `dtem webhooks test`, whatever a subscription takes
FORMATS = ("json", "slack")  # how a delivery's body is written
PERSONAL_FORMATS = ("slack", "email")  # read by people: a rep's mutes apply to these only
PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"

# After attempt n fails, the next one waits RETRY_DELAYS[n - 1] (± 10% jitter); after the
# last delay's attempt fails too, the delivery is `failed`: 8 attempts over about 28 h.
RETRY_DELAYS = tuple(
    timedelta(minutes=m) for m in (1, 5, 30, 120, 300, 600, 600)
)  # fmt: skip
JITTER = 0.1


@dataclass(frozen=True)
class WebhookSubscription:
    """Where to POST which events. `events` empty: every event type.

    `secret` signs every delivery; it is shown once, when the subscription is created.
    """

    url: str
    secret: str
    events: tuple[str, ...]
    created_at: datetime
    created_by: str
    format: str = "json"
    active: bool = True
    removed_at: datetime | None = None
    id: int | None = None
    rep_id: int | None = None  # only this rep's events (a rep's own Slack)
    team: str | None = None  # only the events of this team's reps (a team channel)

    def takes(self, event_type: str) -> bool:
        """Whether an event of this type is delivered here (while active)."""
        return self.active and (not self.events or event_type in self.events)

    def takes_event(self, event: WebhookEvent) -> bool:
        """Whether this event is delivered here: its type, and its rep or team if scoped.

        A scoped subscription takes only events that name a rep (`data.rep_id`, and
        `data.team` for a team); an event about no rep (a policy activation) is not its.
        """
        if (event.type == DIGEST_EVENT) != (self.format == EMAIL_FORMAT):
            return False  # a digest goes by e-mail only, and e-mail carries digests only
        return self.takes(event.type) and in_scope(self.rep_id, self.team, event.data)


@dataclass(frozen=True)
class WebhookEvent:
    """Something that happened, as subscribers receive it: `{id, type, created_at, data}`."""

    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]

    @staticmethod
    def new(event_type: str, at: datetime, data: dict[str, Any]) -> WebhookEvent:
        """A new event with a fresh id (`evt_` + 32 hex digits)."""
        return WebhookEvent(f"evt_{uuid.uuid4().hex}", event_type, at, data)

    def envelope(self) -> dict[str, Any]:
        created = self.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return {"id": self.id, "type": self.type, "created_at": created, "data": self.data}


@dataclass(frozen=True)
class WebhookDelivery:
    """One event owed to one subscription, and where its attempts stand."""

    subscription_id: int
    event: WebhookEvent
    created_at: datetime  # the event's time, or when it was replayed or sent as a test
    status: str = PENDING  # pending | delivered | failed | cancelled
    attempts: int = 0
    next_attempt_at: datetime | None = None
    replay_of: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST of a delivery: the answer (status code) or the error, and what comes next.

    `next_retry_at` None after a failure: no attempt is left, the delivery is `failed`.
    """

    delivery_id: int
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    next_retry_at: datetime | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def delivery_status(self) -> str:
        """What the delivery becomes after this attempt."""
        if self.delivered:
            return DELIVERED
        return PENDING if self.next_retry_at is not None else FAILED


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries to list, newest first."""

    subscription_id: int | None = None
    since: datetime | None = None
    statuses: frozenset[str] | None = None
    limit: int = 100
    before_id: int | None = None  # the page after a delivery (ids fall, newest first)


@dataclass(frozen=True)
class DeliveryClaim:
    """A dispatcher's hold on the deliveries it claimed: `token` until `until`.

    A dispatcher that dies leaves its claims to lapse; another then takes them again.
    """

    token: str
    until: datetime
    limit: int = 20
    only: int | None = None  # this delivery only (a test sent at once), if it is due

    @staticmethod
    def new(
        at: datetime, hold: timedelta, limit: int = 20, only: int | None = None
    ) -> DeliveryClaim:
        return DeliveryClaim(uuid.uuid4().hex, at + hold, limit, only)


@dataclass(frozen=True)
class RetryPlan:
    """When to try again after a failed attempt. `random` returns a float in [0, 1).

    >>> plan, t0 = RetryPlan(random=lambda: 0.5), datetime(2027, 1, 4, tzinfo=UTC)
    >>> plan.next_retry(1, t0) - t0, plan.next_retry(len(RETRY_DELAYS) + 1, t0)
    (datetime.timedelta(seconds=60), None)
    """

    random: Callable[[], float]
    delays: Sequence[timedelta] = field(default=RETRY_DELAYS)
    jitter: float = JITTER

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def next_retry(self, attempt: int, at: datetime) -> datetime | None:
        """After attempt number `attempt` (1 = the first) failed at `at`: the next time."""
        if attempt > len(self.delays):
            return None
        spread = 1 + self.jitter * (2 * self.random() - 1)
        return at + self.delays[attempt - 1] * spread


def muted(sub: WebhookSubscription, event: WebhookEvent, mutes: set[tuple[int, str]]) -> bool:
    """Whether the rep of `event` muted its kind, for a subscription people read.

    >>> e = WebhookEvent("evt_1", "lease.granted", datetime(2027, 1, 4, tzinfo=UTC), {"rep_id": 7})
    >>> s = WebhookSubscription("https://x.test", "k", (), e.created_at, "cli", "slack")
    >>> mutes, crm = {(7, "lease.granted")}, WebhookSubscription("https://y.test", "k", (),
    ...                                                          e.created_at, "cli", "json")
    >>> muted(s, e, mutes), muted(crm, e, mutes)
    (True, False)
    """
    rep_id = event.data.get("rep_id")
    return sub.format in PERSONAL_FORMATS and (rep_id, event.type) in mutes


def event_reps(events: Sequence[WebhookEvent]) -> set[int]:
    """The reps these events are about (whose mutes to read)."""
    return {e.data["rep_id"] for e in events if isinstance(e.data.get("rep_id"), int)}


def in_scope(rep_id: int | None, team: str | None, data: dict[str, Any]) -> bool:
    """Whether an event's data falls in a subscription's scope (none: every event).

    >>> in_scope(7, None, {"rep_id": 7}), in_scope(7, None, {"rep_id": 8})
    (True, False)
    >>> in_scope(None, "east", {"rep_id": 8, "team": "east"}), in_scope(None, None, {})
    (True, True)
    """
    if rep_id is not None and data.get("rep_id") != rep_id:
        return False
    return team is None or data.get("team") == team


# --- formats -------------------------------------------------------------------------------
def render(format_: str, event: WebhookEvent) -> tuple[bytes, str]:
    """The body and content type of an event in a subscription's format."""
    if format_ == "json":
        body = json.dumps(event.envelope(), separators=(",", ":"), sort_keys=True)
        return body.encode(), "application/json"
    if format_ == "slack":
        return json.dumps(slack_message(event), sort_keys=True).encode(), "application/json"
    if format_ == EMAIL_FORMAT:
        return digest_email(event.id, event.data), "message/rfc822"
    raise ArgumentInvalid(f"format: unknown webhook format {format_!r}; use {', '.join(FORMATS)}")


# --- validation ----------------------------------------------------------------------------
def check_url(url: str) -> str:
    """A subscriber URL as given, if DTEM may POST to it; else `ArgumentInvalid`.

    >>> check_url("ftp://x")
    Traceback (most recent call last):
    ...
    dtem.domain.errors.ArgumentInvalid: url: must start with http:// or https://, got 'ftp://x'
    """
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url.strip()):
        raise ArgumentInvalid("url: must not hold spaces or control characters")
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise ArgumentInvalid(f"url: {exc}, got {url!r}") from exc
    if parts.scheme not in ("http", "https"):
        raise ArgumentInvalid(f"url: must start with http:// or https://, got {url!r}")
    if not parts.hostname:
        raise ArgumentInvalid(f"url: has no host name, got {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ArgumentInvalid("url: must not hold a user name or password (they would be stored)")
    if len(url) > 2000:
        raise ArgumentInvalid(f"url: is {len(url)} characters long; at most 2000")
    try:
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError as exc:
        raise ArgumentInvalid(f"url: {exc}") from exc
    return url.strip()


def check_events(events: Sequence[str]) -> tuple[str, ...]:
    """Event types as given (deduplicated, in order); empty means every type."""
    names = tuple(dict.fromkeys(e.strip() for e in events if e.strip()))
    unknown = [e for e in names if e not in EVENT_TYPES]
    if unknown:
        raise ArgumentInvalid(
            f"events: unknown event type(s) {', '.join(unknown)}; use {', '.join(EVENT_TYPES)}"
        )
    return names


def check_format(format_: str) -> str:
    if format_ not in FORMATS:
        raise ArgumentInvalid(
            f"format: unknown webhook format {format_!r}; use {', '.join(FORMATS)}"
        )
    return format_


class WebhookSender(Protocol):
    """POSTs one delivery; returns the status code, raises `WebhookSendFailed` on no answer."""

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int: ...


class WebhookSendFailed(Exception):
    """No HTTP answer: refused, timed out, DNS... (`str()` says which)."""
