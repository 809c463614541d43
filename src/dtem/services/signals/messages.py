"""The messages DTEM accepts: Segment tracking calls and DTEM signal rows (pydantic).

The same models check the webhook's bodies and the broker's messages, so both reject
the same things with the same reasons (`field: problem`).

>>> call = parse_call("track", {"userId": "u1", "event": "Demo Requested"})
>>> call.event, call.properties
('Demo Requested', {})
>>> field_errors_of(lambda: parse_call("group", {"userId": "u1"}))
['groupId: Field required']
>>> field_errors_of(lambda: parse_call("track", {"event": "x"}))
['userId or anonymousId is required']
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from dtem.services.signals.limits import check_json

SEGMENT_CALLS = ("track", "page", "screen", "identify", "group", "alias")


def _as_text(value: Any) -> Any:
    # SDKs send numeric ids as numbers; Segment treats them as strings.
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _time_text(value: Any) -> Any:
    # Segment sends ISO 8601 text; pydantic would also read a number as epoch seconds
    if value is None or isinstance(value, str | datetime):
        return value
    raise ValueError("must be an ISO 8601 date-time string")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _safe_json(cls: type[BaseModel], data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    check_json(cls.__name__, data)  # NUL, NaN/Infinity, depth: refused by field, first
    return handler(data)


def _signal_value(value: Any, field: str) -> None:
    """A signal's value: a finite number, zero or more (the cap is the policy's, later)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field}: must be a number")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{field}: must be a finite number, zero or more (got {value})")


class SegmentCall(BaseModel):
    """Fields every Segment call shares (others are kept, unchecked).

    `sentAt` (when the SDK sent the call, by the device's clock) corrects the device's
    clock skew: see `dtem.domain.signals.event_time`.
    """

    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)

    user_id: str | None = Field(None, max_length=255)
    anonymous_id: str | None = Field(None, max_length=255)
    context: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime | None = None
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    message_id: str | None = Field(None, min_length=1, max_length=255)

    _coerce_ids = field_validator("user_id", "anonymous_id", mode="before")(_as_text)
    _times = field_validator("timestamp", "original_timestamp", "sent_at", mode="before")(
        _time_text
    )
    _safe = model_validator(mode="wrap")(classmethod(_safe_json))  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _needs_a_user(self) -> SegmentCall:
        if not (self.user_id or self.anonymous_id) and not isinstance(self, Alias):
            raise ValueError("userId or anonymousId is required")
        return self

    @property
    def user(self) -> str | None:
        return self.user_id or self.anonymous_id

    @property
    def occurred_at(self) -> datetime | None:
        """The time the event claims (`timestamp`, else `originalTimestamp`), in UTC."""
        return _utc(self.timestamp or self.original_timestamp)

    @property
    def sent_at_utc(self) -> datetime | None:
        return _utc(self.sent_at)


class Track(SegmentCall):
    type: Literal["track"] = "track"
    event: str = Field(min_length=1, max_length=255)
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _value(self) -> Track:
        _signal_value(self.properties.get("value"), "properties.value")
        return self


class Page(SegmentCall):
    type: Literal["page", "screen"] = "page"
    name: str | None = Field(None, max_length=255)
    category: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _value(self) -> Page:
        _signal_value(self.properties.get("value"), "properties.value")
        return self


class Identify(SegmentCall):
    type: Literal["identify"] = "identify"
    traits: dict[str, Any] = Field(default_factory=dict)


class Group(SegmentCall):
    type: Literal["group"] = "group"
    group_id: str = Field(min_length=1, max_length=255)
    traits: dict[str, Any] = Field(default_factory=dict)

    _coerce_group = field_validator("group_id", mode="before")(_as_text)


class Alias(SegmentCall):
    type: Literal["alias"] = "alias"
    previous_id: str = Field(min_length=1, max_length=255)


AnyCall = Annotated[Track | Page | Identify | Group | Alias, Field(discriminator="type")]
_ANY_CALL: TypeAdapter[Track | Page | Identify | Group | Alias] = TypeAdapter(AnyCall)
_BY_TYPE: dict[str, type[SegmentCall]] = {
    "track": Track,
    "page": Page,
    "screen": Page,
    "identify": Identify,
    "group": Group,
    "alias": Alias,
}


def parse_call(call_type: str | None, doc: Any) -> SegmentCall:
    """Validate one call; `call_type` None reads the `type` field. Raises ValidationError."""
    if call_type is None:
        return _ANY_CALL.validate_python(doc)
    if isinstance(doc, dict) and call_type == "screen":
        doc = {**doc, "type": "screen"}
    return _BY_TYPE[call_type].model_validate(doc)


class SignalRow(BaseModel):
    """A DTEM signal row (broker message or JSON line): one fact about one account."""

    model_config = ConfigDict(extra="forbid")

    event_id: str | None = Field(None, min_length=1, max_length=255)
    account_id: str | None = Field(None, max_length=128)
    domain: str | None = Field(None, max_length=255)
    email: str | None = Field(None, max_length=255)
    user_id: str | None = Field(None, max_length=255)
    type: str | None = Field(None, max_length=64)
    event_name: str | None = Field(None, max_length=255)
    occurred_at: datetime
    sent_at: datetime | None = None  # when the producer sent it, by its own clock
    value: float = Field(1.0, ge=0)
    source: str = Field("first_party", min_length=1, max_length=32)
    topic: str | None = Field(None, max_length=255)
    attributes: dict[str, Any] = Field(default_factory=dict)
    snapshot: bool = False

    _coerce_ids = field_validator("account_id", "user_id", mode="before")(_as_text)
    _safe = model_validator(mode="wrap")(classmethod(_safe_json))  # type: ignore[arg-type]

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("value must be a finite number")
        return v

    @field_validator("occurred_at", "sent_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return _utc(v)

    @model_validator(mode="after")
    def _needs_a_type(self) -> SignalRow:
        if not (self.type or self.event_name):
            raise ValueError("type or event_name is required")
        return self


def field_errors(exc: ValidationError) -> list[str]:
    """Each problem as `field.path: message`, the way the API reports it."""
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"] if p not in _BY_TYPE)
        msg = str(err["msg"]).removeprefix("Value error, ")
        out.append(f"{loc}: {msg}" if loc else msg)  # model rules name their fields
    return out


def field_errors_of(fn: Callable[[], object]) -> list[str]:
    """The field errors `fn` raises (empty when it validates); handy in examples and tests."""
    try:
        fn()
    except ValidationError as exc:
        return field_errors(exc)
    return []


@dataclass(frozen=True)
class Rejected:
    """A call of a batch that failed validation: its position and every reason."""

    index: int
    errors: list[str]


def parse_batch(doc: Any) -> tuple[list[SegmentCall], list[Rejected]]:
    """Validate a Segment batch envelope call by call; ValueError when it is no batch.

    A context at the top of the envelope is shared by every call (as Segment does), and
    so is its `sentAt` (analytics-node sends one per batch).

    >>> calls, rejected = parse_batch({"batch": [{"type": "track", "userId": "u",
    ...     "event": "Demo Requested"}, {"type": "track", "event": "x"}]})
    >>> len(calls), rejected
    (1, [Rejected(index=1, errors=['userId or anonymousId is required'])])
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("batch"), list):
        raise ValueError("batch: expected an object with a 'batch' list of calls")
    shared = doc.get("context") if isinstance(doc.get("context"), dict) else None
    sent_at = doc.get("sentAt")
    calls: list[SegmentCall] = []
    rejected: list[Rejected] = []
    for i, raw in enumerate(doc["batch"]):
        item = raw
        if shared and isinstance(raw, dict):
            item = {**raw, "context": {**shared, **(raw.get("context") or {})}}
        if sent_at is not None and isinstance(item, dict) and "sentAt" not in item:
            item = {**item, "sentAt": sent_at}
        try:
            calls.append(parse_call(None, item))
        except ValidationError as exc:
            rejected.append(Rejected(i, field_errors(exc)))
    return calls, rejected


def parse_message(payload: bytes) -> SegmentCall | SignalRow:
    """A message of one event: a Segment call (it has a Segment `type`) or a DTEM signal row.

    Raises ValueError with the reason when it is neither (it goes to the dead letters).

    >>> parse_message(b'{"domain": "acme.com", "type": "hand_raise",'
    ...               b' "occurred_at": "2027-01-04T09:00:00Z"}').type
    'hand_raise'
    """
    return parse_event(load_json(payload))


def load_json(payload: bytes) -> Any:
    """The decoded body; ValueError (with the reason) when it is not JSON we can read."""
    try:
        return json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    except RecursionError as exc:
        raise ValueError("not JSON we can read: nested too deeply") from exc


def parse_event(doc: Any) -> SegmentCall | SignalRow:
    """One decoded event: a Segment call when its `type` is one, else a DTEM signal row.

    Raises ValueError with every field's reason.
    """
    if not isinstance(doc, dict):
        raise ValueError("expected a JSON object")
    try:
        if doc.get("type") in SEGMENT_CALLS:
            return parse_call(None, doc)
        return SignalRow.model_validate(doc)
    except ValidationError as exc:
        raise ValueError("; ".join(field_errors(exc))) from exc
