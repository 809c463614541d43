"""Outbound webhook subscriptions over HTTP (`dtem webhooks …`): admin only, audited.

The signing secret is in the answer to `POST /webhooks` only. Tests and replays are
queued here and sent by the dispatcher (`dtem serve` runs one), never inside the request.

    curl -X POST -H "Authorization: Bearer $ADMIN" localhost:8000/webhooks \\
         -d '{"url": "https://hooks.acme.com/dtem", "events": ["lease.granted"]}'
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from dtem.domain.clock import as_utc
from dtem.domain.webhooks import EVENT_TYPES, WebhookDelivery, check_url
from dtem.entrypoints.api.callers import actor
from dtem.entrypoints.api.deps import AdminDep, ContainerDep
from dtem.entrypoints.api.pagination import IsoTime, Page, PageDep
from dtem.services import webhooks

router = APIRouter(tags=["webhooks"])

_MAX_ID = 2**31 - 1  # an integer column's largest value on both databases
SubscriptionId = Annotated[int, Path(ge=1, le=_MAX_ID, description="Subscription id")]
DeliveryId = Annotated[int, Path(ge=1, le=_MAX_ID, description="Delivery id")]


EventType = Literal[
    "lease.granted",
    "lease.revoked",
    "lease.expired",
    "lease.reassigned",
    "lease.sprint_ending",
    "account.hand_raise",
    "score.crossed",
    "policy.activated",
    "comp.period_closed",
]
assert set(get_args(EventType)) == set(EVENT_TYPES)
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_HOST = r"([^\x00-\x20\x7f/@:?#\[\]\\%]+|\[[0-9A-Fa-f:.]+\])"
# What `check_url` accepts, as a pattern the OpenAPI document publishes (no user:password@)
URL_PATTERN = rf"^https?://{_HOST}(:{_PORT})?([/?#][^\x00-\x20\x7f]*)?$"


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(
        max_length=2000,
        pattern=URL_PATTERN,
        description="http:// or https://, no user or password",
    )
    events: list[EventType] = Field(
        default_factory=list, max_length=len(EVENT_TYPES), description="Types taken; []: all"
    )
    format: Literal["json", "slack"] = Field(
        "json", description="Body format: json (the signed envelope) or slack (text, blocks)"
    )
    rep: str | None = Field(
        None, min_length=1, max_length=255, description="Only this rep's events (external id)"
    )
    team: str | None = Field(
        None, min_length=1, max_length=128, description="Only the events of this team's reps"
    )

    @field_validator("url", mode="before")
    @classmethod
    def _says_why(cls, value: object) -> object:
        """The reason in words (before the pattern): `url: must not hold a user name…`."""
        return check_url(value) if isinstance(value, str) else value


class SubscriptionOut(BaseModel):
    id: int
    url: str
    events: list[str] = Field(description="Event types taken; empty: every type")
    format: str
    active: bool
    created_at: datetime
    created_by: str
    removed_at: datetime | None
    rep_id: int | None = Field(description="Only this rep's events; null: any rep")
    team: str | None = Field(description="Only this team's events; null: any team")

    @classmethod
    def of(cls, v: webhooks.SubscriptionView) -> SubscriptionOut:
        return cls(**v.__dict__)


class CreatedOut(SubscriptionOut):
    secret: str = Field(description="Signs every delivery; shown in this answer only")


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    next_retry_at: datetime | None


class DeliveryOut(BaseModel):
    id: int
    subscription_id: int
    event_id: str
    event_type: str
    created_at: datetime
    status: str = Field(description="pending | delivered | failed | cancelled")
    attempts: int
    next_attempt_at: datetime | None
    replay_of: int | None
    log: list[AttemptOut]

    @classmethod
    def of(cls, entry: webhooks.DeliveryLog) -> DeliveryOut:
        return cls(**entry.as_dict())


class QueuedOut(BaseModel):
    id: int = Field(description="The new delivery")
    event_id: str
    replay_of: int | None

    @classmethod
    def of(cls, d: WebhookDelivery) -> QueuedOut:
        assert d.id is not None
        return cls(id=d.id, event_id=d.event.id, replay_of=d.replay_of)


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: AwareDatetime | datetime = Field(description="Replay finished deliveries since")
    subscription_id: int | None = Field(
        None, ge=1, le=_MAX_ID, description="One subscription's only"
    )


@router.post("/webhooks", response_model=CreatedOut, status_code=201)
def create_subscription(body: SubscriptionIn, c: ContainerDep, token: AdminDep) -> CreatedOut:
    made = webhooks.subscribe(
        c.ledger, c.clock, body.url, body.events, actor(token), body.format, body.rep, body.team
    )
    return CreatedOut(**SubscriptionOut.of(made.subscription).model_dump(), secret=made.secret)


@router.get("/webhooks", response_model=Page[SubscriptionOut])
def list_subscriptions(
    c: ContainerDep, _t: AdminDep, page: PageDep, all: bool = False
) -> Page[SubscriptionOut]:
    """Subscriptions by id (active ones; `all=true`: removed ones too). Never the secret."""
    after = page.after(int) or 0
    found = [s for s in webhooks.subscriptions(c.ledger, active_only=not all) if s.id > after]
    return page.of(found[: page.fetch], key=lambda s: s.id, item=SubscriptionOut.of)


@router.get("/webhooks/{subscription_id:int}", response_model=SubscriptionOut)
def show_subscription(
    subscription_id: SubscriptionId, c: ContainerDep, _t: AdminDep
) -> SubscriptionOut:
    return SubscriptionOut.of(webhooks.subscription(c.ledger, subscription_id))


@router.delete("/webhooks/{subscription_id:int}", response_model=SubscriptionOut)
def remove_subscription(
    subscription_id: SubscriptionId, c: ContainerDep, token: AdminDep
) -> SubscriptionOut:
    """Stop it: its pending deliveries are cancelled; it and its log are kept."""
    return SubscriptionOut.of(
        webhooks.unsubscribe(c.ledger, c.clock, subscription_id, actor(token))
    )


@router.get("/webhooks/{subscription_id:int}/deliveries", response_model=Page[DeliveryOut])
def list_deliveries(
    subscription_id: SubscriptionId,
    c: ContainerDep,
    _t: AdminDep,
    page: PageDep,
    since: IsoTime | None = None,
) -> Page[DeliveryOut]:
    """The delivery log, newest first: every attempt's answer or error and the next retry."""
    found = webhooks.delivery_log(
        c.ledger, subscription_id, page.fetch, _utc(since), page.after(int)
    )
    return page.of(found, key=lambda e: e.delivery.id or 0, item=DeliveryOut.of)


@router.post("/webhooks/{subscription_id:int}/test", response_model=QueuedOut, status_code=202)
def test_subscription(
    subscription_id: SubscriptionId, c: ContainerDep, token: AdminDep
) -> QueuedOut:
    """Queue a signed `webhook.test` event (sent once by the dispatcher, not retried)."""
    return QueuedOut.of(webhooks.queue_test(c.ledger, c.clock, subscription_id, actor(token)))


@router.post("/webhooks/deliveries/{delivery_id}/replay", response_model=QueuedOut, status_code=202)
def replay_delivery(delivery_id: DeliveryId, c: ContainerDep, token: AdminDep) -> QueuedOut:
    """Queue the event again (same event id) to the same subscription."""
    return QueuedOut.of(webhooks.replay(c.ledger, c.clock, delivery_id, actor(token)))


@router.post("/webhooks/replays", response_model=list[QueuedOut], status_code=202)
def replay_since(body: ReplayIn, c: ContainerDep, token: AdminDep) -> list[QueuedOut]:
    """Queue again every delivered or failed delivery made since `since`."""
    since = _utc(body.since)
    assert since is not None
    queued = webhooks.replay_since(c.ledger, c.clock, since, actor(token), body.subscription_id)
    return [QueuedOut.of(d) for d in queued]


def _utc(at: datetime | None) -> datetime | None:
    return as_utc(at) if at is not None else None
