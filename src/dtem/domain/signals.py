"""Signals, before and after they meet the ledger: keys, types and idempotency ids.

Pure rules only (no I/O): how an account key is normalised, which key of a signal
names its account, which signal type an event name maps to under a policy, and the
deterministic event id of a row that came without one.

>>> normalise_domain("HTTPS://www.Acme.com:443/pricing?x=1")
'acme.com'
>>> choose_key(AccountRef(email="ana@Acme.com"), free_mail=("gmail.com",))
AccountKey(kind='email', value='acme.com')
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar

from dtem.domain.policy import Policy


class KeyKind(StrEnum):
    """How a signal names its account."""

    ID = "id"  # the account's external id
    DOMAIN = "domain"  # its web domain
    EMAIL = "email"  # a person's email; the domain is kept, not the address
    USER_ID = "user_id"  # a tracked user linked to an account by a `group` call
    NAME = "name"  # the account's name, any case (opportunity imports; not signals)
    NONE = "none"  # nothing usable


class Unmatched(StrEnum):
    """Why a stored signal has no account yet."""

    UNKNOWN_ACCOUNT = "unknown_account"
    UNKNOWN_DOMAIN = "unknown_domain"
    FREE_MAIL = "free_mail"
    UNKNOWN_USER = "unknown_user"
    NO_KEY = "no_key"


_HOST = re.compile(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)


_PATH_START = re.compile(r"[/?#]")


# Memoised: a busy webhook sees the same few thousand company domains over and over, and
# every signal's key is normalised (twice in a group: to prefetch, then to store).
@lru_cache(maxsize=65_536)
def normalise_domain(text: str) -> str | None:
    """The bare host of a domain or URL: no scheme, `www.`, port, path, case or dot at the end.

    >>> normalise_domain("www.ACME.com."), normalise_domain("not a domain")
    ('acme.com', None)
    """
    s = text.strip().lower()
    if "://" in s:
        s = s.split("://", 1)[1]
    s = _PATH_START.split(s, maxsplit=1)[0]
    s = s.rsplit("@", 1)[-1]  # user:pass@host
    s = s.split(":", 1)[0].rstrip(".")
    while s.startswith("www."):
        s = s[4:]
    return s if _HOST.match(s) else None


def email_domain(email: str) -> str | None:
    """The normalised domain of an email address, or None when it is not one.

    >>> email_domain(" Ana.Lopez@Sub.Acme.COM ")
    'sub.acme.com'
    """
    local, at, host = email.strip().rpartition("@")
    return normalise_domain(host) if at and local else None


@dataclass(frozen=True)
class AccountKey:
    """A normalised account key. `encoded` is how identity links store it (`domain:acme.com`).

    >>> AccountKey.decode("id:001A").kind
    'id'
    """

    kind: str
    value: str

    @property
    def encoded(self) -> str:
        return f"{self.kind}:{self.value}"

    @classmethod
    def decode(cls, text: str) -> AccountKey:
        kind, _, value = text.partition(":")
        return cls(KeyKind(kind).value, value)


@dataclass(frozen=True)
class AccountRef:
    """Everything a signal says about its account, as received."""

    account_id: str | None = None
    domain: str | None = None
    email: str | None = None
    user_id: str | None = None


def choose_key(ref: AccountRef, free_mail: tuple[str, ...]) -> AccountKey:
    """The best key of a signal: account id, then domain, then a company email, then user.

    A free-mail address says nothing about the company, so a user id (which a `group`
    call may link) is preferred to it; with neither, the key is the free-mail domain.
    """
    if ref.account_id and ref.account_id.strip():
        return AccountKey(KeyKind.ID.value, ref.account_id.strip())
    domain = normalise_domain(ref.domain) if ref.domain else None
    if domain:
        return AccountKey(KeyKind.DOMAIN.value, domain)
    mail = email_domain(ref.email) if ref.email else None
    if mail and mail not in free_mail:
        return AccountKey(KeyKind.EMAIL.value, mail)
    if ref.user_id and ref.user_id.strip():
        return AccountKey(KeyKind.USER_ID.value, ref.user_id.strip())
    if mail:
        return AccountKey(KeyKind.EMAIL.value, mail)
    return AccountKey(KeyKind.NONE.value, "")


def unmatched_reason(key: AccountKey, free_mail: tuple[str, ...]) -> Unmatched:
    """Why a key found no account (called only when it found none)."""
    if key.kind == KeyKind.NONE:
        return Unmatched.NO_KEY
    if key.kind == KeyKind.USER_ID:
        return Unmatched.UNKNOWN_USER
    if key.kind == KeyKind.EMAIL and key.value in free_mail:
        return Unmatched.FREE_MAIL
    if key.kind == KeyKind.ID:
        return Unmatched.UNKNOWN_ACCOUNT
    return Unmatched.UNKNOWN_DOMAIN


def signal_type(event_name: str | None, policy: Policy) -> str:
    """The policy's signal type for an event name; `other` when the policy does not know it.

    Exact name first, then case- and punctuation-insensitive, then a name that is
    itself a signal type (`hand_raise`).

    >>> from dtem.domain.policy import default_policy
    >>> signal_type("demo requested", default_policy()), signal_type("Foo", default_policy())
    ('hand_raise', 'other')
    """
    if not event_name:
        return "other"
    if event_name in policy.event_map:
        return policy.event_map[event_name]
    key = _squash(event_name)
    for name, kind in policy.event_map.items():
        if _squash(name) == key:
            return kind
    return next((t for t in policy.signal_types if _squash(t) == key), "other")


def page_type(name: str | None, path: str | None, policy: Policy) -> str:
    """A page view is a web visit; a pricing page (by name or path) is a pricing visit.

    >>> from dtem.domain.policy import default_policy
    >>> page_type(None, "/Pricing/enterprise", default_policy())
    'pricing_visit'
    """
    text = f"{name or ''} {path or ''}".lower()
    kind = "pricing_visit" if "pricing" in text else "web_visit"
    return kind if kind in policy.signal_types else "other"


def event_time(
    claimed: datetime | None, sent_at: datetime | None, received: datetime
) -> tuple[datetime, datetime | None]:
    """When an event happened, as the ledger keeps it, and the claimed time when it differs.

    A device's clock can be off: with the time it sent the event (`sent_at`, by the same
    clock) the skew cancels out, as Segment does (timestamp + (received − sent_at)). An
    event is never later than its receipt: a score at time t counts only what was known
    at t, so incremental and batch scores agree, and nothing sent "from the future" can
    lift a score (or overflow the decay). Such a time is clamped to the receive time.

    >>> from datetime import timedelta
    >>> t, h = datetime(2027, 1, 4, 9, tzinfo=UTC), timedelta(hours=1)
    >>> event_time(t + 2 * h, t + 3 * h, t)  # a device clock 3 h ahead: it happened at 8
    (datetime.datetime(2027, 1, 4, 8, 0, tzinfo=datetime.timezone.utc), \
datetime.datetime(2027, 1, 4, 11, 0, tzinfo=datetime.timezone.utc))
    >>> event_time(t + 400 * 24 * h, None, t)[0] == t  # a year ahead: the receive time
    True
    >>> event_time(t - h, None, t)  # in the past, as sent
    (datetime.datetime(2027, 1, 4, 8, 0, tzinfo=datetime.timezone.utc), None)
    """
    if claimed is None:
        return received, None
    at = claimed
    if sent_at is not None:
        try:
            at = claimed + (received - sent_at)
        except OverflowError:  # an absurd sentAt corrects nothing
            at = claimed
    at = min(at, received)
    return at, (None if at == claimed else claimed)


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def content_event_id(row: dict[str, Any]) -> str:
    """A deterministic event id for a row that has none: SHA-256 of its normalised content.

    Keys are sorted, strings stripped, times in UTC ISO form and numbers as floats, so
    the same fact read twice (or from CSV and Parquet) gets the same id.

    >>> content_event_id({"b": " x ", "a": 1}) == content_event_id({"a": 1.0, "b": "x"})
    True
    """
    text = json.dumps(_normalised(row), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _normalised(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _normalised(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_normalised(v) for v in value]
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, datetime):
        ts = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return ts.isoformat()
    return str(value)


@dataclass(frozen=True)
class SignalDraft:
    """A parsed signal, not yet resolved to an account nor stored."""

    event_id: str
    ref: AccountRef
    type: str
    occurred_at: datetime
    value: float = 1.0
    source: str = "first_party"
    event_name: str | None = None
    topic: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    snapshot: bool = False  # a weekly score that replaces the previous one per topic


PIPELINE_SCOPE = "pipeline"  # NATS messages and file imports share one event-id space


def source_scope(source_name: str) -> str:
    """The event-id space of a webhook source: each source deduplicates on its own.

    Segment does the same: two sources may send the same `messageId` and both are kept.

    >>> source_scope("website")
    'source:website'
    """
    return f"source:{source_name}"


@dataclass(frozen=True)
class SignalRecord:
    """A signal as the ledger keeps it (`account_id` None = unmatched, with a reason).

    An event id is unique within its `scope` (`source:<name>` for a webhook source,
    `pipeline` for NATS and files): a resend there is a duplicate, elsewhere it is new.
    """

    event_id: str
    account_key: str
    key_kind: str
    type: str
    occurred_at: datetime
    value: float
    source: str
    received_at: datetime
    account_id: int | None = None
    unmatched_reason: str | None = None
    event_name: str | None = None
    topic: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    superseded: bool = False
    scope: str = PIPELINE_SCOPE


def one_scope(records: Sequence[SignalRecord]) -> None:
    """Check that records inserted together share a scope (their event ids are returned)."""
    if len({r.scope for r in records}) > 1:
        raise ValueError("signals inserted together must share one scope")


K = TypeVar("K")


def superseded_ids(rows: list[tuple[K, tuple[datetime, int]]]) -> list[int]:
    """Ids of the rows that a later row with the same key replaces (latest time, then id).

    >>> t1, t2 = datetime(2027, 1, 1), datetime(2027, 1, 8)
    >>> superseded_ids([("k", (t1, 1)), ("k", (t2, 2)), ("j", (t1, 3))])
    [1]
    """
    latest: dict[K, tuple[datetime, int]] = {}
    for key, order in rows:
        latest[key] = max(latest.get(key, order), order)
    return sorted(order[1] for key, order in rows if order != latest[key])
