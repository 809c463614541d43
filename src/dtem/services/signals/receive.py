"""Received messages (Segment calls, DTEM signal rows) into drafts, links and stored signals.

`track`, `page` and `screen` calls become signals; `identify` and `group` calls link a
user to an account (a `group` link replaces an older one, an `identify` never does);
`alias` calls are accepted and ignored.

Every signal is dated by `event_time` (clock skew corrected, never after its receipt; the
claimed time is kept in the attributes as `original_timestamp`), and its value must stay
within its type's `max_value`; a message breaking that is refused on its own, by field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from dtem.domain.policy import Policy
from dtem.domain.signals import (
    PIPELINE_SCOPE,
    AccountKey,
    AccountRef,
    KeyKind,
    SignalDraft,
    content_event_id,
    email_domain,
    event_time,
    normalise_domain,
    page_type,
    signal_type,
)
from dtem.services.signals.ingest import (
    IngestResult,
    IngestTx,
    KnownAccounts,
    OnCommitted,
    attach_unmatched,
    ingest,
)
from dtem.services.signals.limits import refusal
from dtem.services.signals.messages import (
    Group,
    Identify,
    Page,
    Rejected,
    SegmentCall,
    SignalRow,
    Track,
    field_errors,
)

Message = SegmentCall | SignalRow


@dataclass(frozen=True)
class Received:
    """The outcome of one delivery: what was stored, skipped, refused, linked and attached.

    `refused` lists messages refused on their own (by position in the delivery).
    """

    result: IngestResult
    linked_users: list[str] = field(default_factory=list)
    attached: int = 0
    refused: list[Rejected] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.result.stored)


@dataclass(frozen=True)
class Drafted:
    """A delivery's signals as drafts, and the messages refused on their own (by index)."""

    drafts: list[SignalDraft]
    refused: list[Rejected]


def draft_all(messages: Sequence[Message], policy: Policy, now: datetime, via: str) -> Drafted:
    """Each message's signal draft (identity calls have none); refusals by position."""
    drafts, refused = [], []
    for i, m in enumerate(messages):
        try:
            draft = to_draft(m, policy, now, via)
        except ValidationError as exc:
            refused.append(Rejected(i, field_errors(exc)))
            continue
        if draft is not None:
            drafts.append(draft)
    return Drafted(drafts, refused)


def receive(
    tx: IngestTx,
    messages: Sequence[Message],
    policy: Policy,
    now: datetime,
    via: str,
    on_committed: OnCommitted,
    *,
    scope: str = PIPELINE_SCOPE,
    drafted: Drafted | None = None,
    known: KnownAccounts | None = None,
) -> Received:
    """Apply identity calls first (so signals in the same batch resolve), then store signals.

    `via` names the channel in each signal's attributes (a source name, `nats`, a file);
    `scope` is the event-id space in which a resent id is a duplicate. `drafted`: the
    messages' `draft_all`, when the caller made it already; `known`: accounts read
    earlier in this unit of work.
    """
    linked = _link_users(tx, messages, policy, now)
    drafted = drafted or draft_all(messages, policy, now, via)
    result = ingest(tx, drafted.drafts, policy, now, on_committed, scope=scope, known=known)
    attached = attach_unmatched(
        tx, policy, now, user_ids=linked, on_committed=on_committed, known=known
    )
    return Received(result, linked, len(attached), drafted.refused)


def to_draft(msg: Message, policy: Policy, now: datetime, via: str) -> SignalDraft | None:
    """The signal a message received at `now` carries, or None for identity calls.

    Raises ValidationError (naming the value field) for a value above its type's cap.
    """
    draft = _draft(msg, policy, now, via)
    if draft is None:
        return None
    cap = policy.signal_types[_kind(draft.type, policy)].max_value
    if draft.value > cap:
        name = "value" if isinstance(msg, SignalRow) else "properties.value"
        problem = f"{draft.value:g} is above {cap:g}, the most a {draft.type!r} signal takes"
        raise refusal(type(msg).__name__, [(tuple(name.split(".")), problem)])
    return draft


def _kind(kind: str, policy: Policy) -> str:
    return kind if kind in policy.signal_types else "other"


def _dated(
    claimed: datetime | None, sent_at: datetime | None, now: datetime
) -> tuple[datetime, dict[str, Any]]:
    at, original = event_time(claimed, sent_at, now)
    return at, ({"original_timestamp": original.isoformat()} if original else {})


def _draft(msg: Message, policy: Policy, now: datetime, via: str) -> SignalDraft | None:
    if isinstance(msg, SignalRow):
        return _row_draft(msg, policy, now, via)
    if isinstance(msg, Track):
        kind, name, props = signal_type(msg.event, policy), msg.event, msg.properties
    elif isinstance(msg, Page):
        props = msg.properties
        path = _text(props.get("path")) or _text(_dict(msg.context.get("page")).get("path"))
        kind = page_type(msg.name, path or _text(props.get("url")), policy)
        name = msg.name or ("Screen Viewed" if msg.type == "screen" else "Page Viewed")
    else:
        return None
    at, dating = _dated(msg.occurred_at, msg.sent_at_utc, now)
    return SignalDraft(
        event_id=msg.message_id or content_event_id(msg.model_dump(mode="json", by_alias=True)),
        ref=_segment_ref(msg, props),
        type=kind,
        occurred_at=at,
        value=_number(props.get("value"), 1.0),
        event_name=name,
        topic=_text(props.get("topic")),
        attributes={
            "call": msg.type,
            "user_id": msg.user,
            "via": via,
            "properties": props,
            **dating,
        },
    )


def _row_draft(row: SignalRow, policy: Policy, now: datetime, via: str) -> SignalDraft:
    known = row.type in policy.signal_types
    body = row.model_dump(mode="json", exclude={"event_id"})
    at, dating = _dated(row.occurred_at, row.sent_at, now)
    return SignalDraft(
        event_id=row.event_id or content_event_id(body),
        ref=AccountRef(row.account_id, row.domain, row.email, row.user_id),
        type=row.type if known and row.type else signal_type(row.event_name or row.type, policy),
        occurred_at=at,
        value=row.value,
        source=row.source,
        event_name=row.event_name or (None if known else row.type),
        topic=row.topic,
        attributes={**row.attributes, "via": via, **dating},
        snapshot=row.snapshot,
    )


def _segment_ref(msg: SegmentCall, props: dict[str, Any]) -> AccountRef:
    # Each field is its first present source, in this order; the usual first source is
    # tried alone so that a call naming its domain reads nothing else (this runs per call).
    ctx = msg.context
    account_id = _text(props.get("account_id")) or _first(
        props.get("accountId"), ctx.get("groupId"), (msg.model_extra or {}).get("groupId")
    )
    domain = _text(props.get("domain"))
    email = _text(props.get("email"))
    if domain is None or email is None:
        traits = _dict(ctx.get("traits"))
        if domain is None:
            company = _dict(traits.get("company"))
            domain = _first(
                props.get("company_domain"),
                traits.get("domain"),
                traits.get("website"),
                company.get("domain"),
                company.get("website"),
            )
        email = email or _first(traits.get("email"))
    return AccountRef(account_id=account_id, domain=domain, email=email, user_id=msg.user)


def _link_users(
    tx: IngestTx, messages: Sequence[Message], policy: Policy, now: datetime
) -> list[str]:
    groups = {m.user: m for m in messages if isinstance(m, Group) and m.user}
    known = tx.accounts_by_external_id({g.group_id for g in groups.values()})
    strong = {u: _group_key(g, g.group_id in known).encoded for u, g in groups.items()}
    weak = {
        m.user: key.encoded
        for m in messages
        if isinstance(m, Identify)
        and m.user
        and m.user not in strong
        and (key := _identify_key(m.traits, policy)) is not None
    }
    if weak:
        tx.link_identities(weak, now, replace=False)
    if strong:
        tx.link_identities(strong, now, replace=True)
    return sorted(strong.keys() | weak.keys())


def _group_key(g: Group, account_exists: bool) -> AccountKey:
    """The group id when DTEM knows it as an account id, else the group's web domain."""
    domain = normalise_domain(_first(g.traits.get("domain"), g.traits.get("website")) or "")
    if account_exists or not domain:
        return AccountKey(KeyKind.ID.value, g.group_id)
    return AccountKey(KeyKind.DOMAIN.value, domain)


def _identify_key(traits: dict[str, Any], policy: Policy) -> AccountKey | None:
    company = _dict(traits.get("company"))
    domain = normalise_domain(_first(company.get("domain"), company.get("website")) or "")
    if domain:
        return AccountKey(KeyKind.DOMAIN.value, domain)
    mail = email_domain(_first(traits.get("email")) or "")
    if mail and mail not in policy.free_mail_domains:
        return AccountKey(KeyKind.EMAIL.value, mail)
    return None


def _first(*values: Any) -> str | None:
    for v in values:  # a loop, not a generator: this runs several times per message
        if v is not None and (t := _text(v)):
            return t
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if _is_number(value):
        return str(value)
    return None


def _is_number(value: Any) -> bool:
    # a tuple, not `int | float`: isinstance on a union is several times slower
    return isinstance(value, _NUMBERS) and not isinstance(value, bool) and math.isfinite(value)


_NUMBERS = (int, float)


def _number(value: Any, default: float) -> float:
    return float(value) if _is_number(value) else default


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
