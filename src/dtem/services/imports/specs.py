"""What each importable entity accepts: its fields, their parsers, which are required.

A spec is data, so a new importable kind (the Radar's signals, say) is one more
`EntitySpec`, reusing the readers, the mapping and the validation unchanged.

>>> ACCOUNTS.fields["domain"].kind, ACCOUNTS.key
('domain', 'external_id')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dtem.services.imports import dates
from dtem.services.imports import transforms as tf

# kind -> parser; "date"/"datetime"/"stage" are built per mapping (formats, policy)
PARSERS: dict[str, tf.Parser] = {
    "text": tf.parse_text,
    "category": tf.parse_category,
    "country": tf.parse_country,
    "domain": tf.parse_domain,
    "number": tf.parse_number,
    "money": tf.parse_money,
    "cents": tf.parse_cents,
    "count": tf.parse_count,
    "bool": tf.parse_bool,
    "list": tf.parse_list,
    "segments": tf.parse_segments,
    "tier": lambda v: _tier(tf.parse_count(v)),
    "actor_kind": lambda v: _choice(tf.parse_category(v), ("rep", "agent")),
    "email": lambda v: _email(tf.parse_text(v).lower()),
}


@dataclass(frozen=True)
class FieldSpec:
    """One DTEM field: how its values parse, and whether a new record needs it."""

    kind: str
    required: bool = False  # a new record without it is rejected
    default: Any = None  # used when the value is empty
    dated: str | None = None  # dates: how far ahead they may lie (see imports/dates.py)
    max_length: int | None = None  # the ledger column's length (tables.py); longer = refused


@dataclass(frozen=True)
class EntitySpec:
    """An importable entity: its key and its fields (in display order)."""

    name: str
    key: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)  # field -> entity it names
    one_of: tuple[str, ...] = ()  # a file must map at least one of these fields

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(self.fields)


ACCOUNTS = EntitySpec(
    "accounts",
    "external_id",
    {
        "external_id": FieldSpec("text", required=True, max_length=128),
        "name": FieldSpec("text", required=True, max_length=512),
        "domain": FieldSpec("domain", max_length=255),
        "industry": FieldSpec("category", max_length=128),
        "employees": FieldSpec("count"),
        "annual_revenue": FieldSpec("money"),
        "country": FieldSpec("country", max_length=64),
        "region": FieldSpec("text", max_length=64),
        "tier": FieldSpec("tier"),
        "do_not_contact": FieldSpec("bool"),
        "static_owner": FieldSpec("text", max_length=128),
        "potential_value": FieldSpec("money"),
    },
)

REPS = EntitySpec(
    "reps",
    "external_id",
    {
        "external_id": FieldSpec("text", required=True, max_length=128),
        "name": FieldSpec("text", required=True, max_length=256),
        "email": FieldSpec("email", max_length=256),
        "pod": FieldSpec("text", max_length=128),
        "segments": FieldSpec("segments"),
        "languages": FieldSpec("list"),
        "capacity": FieldSpec("count"),  # default: the policy's default_capacity
        "hourly_cost": FieldSpec("money"),
        "active": FieldSpec("bool"),
        "crm_user_id": FieldSpec("text", max_length=128),
        "manager": FieldSpec("text", max_length=256),
        "team": FieldSpec("text", max_length=128),
        "region": FieldSpec("text", max_length=64),
    },
)

OPPORTUNITIES = EntitySpec(
    "opportunities",
    "external_id",
    {
        "external_id": FieldSpec("text", required=True, max_length=128),
        # the account, by id, domain or name (the first that matches); none: unattached
        "account_external_id": FieldSpec("text", max_length=128),
        "account_domain": FieldSpec("domain", max_length=255),
        "account_name": FieldSpec("text", max_length=512),
        "stage": FieldSpec("stage", required=True, max_length=64),
        "amount": FieldSpec("cents"),  # stored exactly (numeric(18, 2))
        "product": FieldSpec("category", max_length=128),
        "created_date": FieldSpec("date", dated=dates.PAST),
        "close_date": FieldSpec("date", dated=dates.PAST_IF_CLOSED),  # else the expected one
        "rep_external_id": FieldSpec("text", max_length=128),
    },
    references={"account_external_id": "accounts"},
    one_of=("account_external_id", "account_domain", "account_name"),
)

ACTIVITIES = EntitySpec(
    "activities",
    "external_id",
    {
        "external_id": FieldSpec("text", max_length=128),  # empty: derived from the row's content
        "account_external_id": FieldSpec("text", required=True, max_length=128),
        "kind": FieldSpec("category", required=True, max_length=64),
        "occurred_at": FieldSpec("datetime", required=True, dated=dates.PAST),
        "actor_kind": FieldSpec("actor_kind", default="rep", max_length=16),
        "actor_id": FieldSpec("text", max_length=128),
    },
    references={"account_external_id": "accounts"},
)

SIGNALS = EntitySpec(  # the Radar's file imports; rules beyond parsing: services/signals/files.py
    "signals",
    "event_id",
    {
        "event_id": FieldSpec("text"),  # empty: derived from the row's content
        "account_id": FieldSpec("text"),
        "domain": FieldSpec("domain"),
        "email": FieldSpec("email"),
        "user_id": FieldSpec("text"),
        "type": FieldSpec("text"),
        "event_name": FieldSpec("text"),
        "occurred_at": FieldSpec("datetime"),  # empty: the import's as-of time
        "value": FieldSpec("number"),
        "source": FieldSpec("text"),
        "topic": FieldSpec("text"),
        "category": FieldSpec("text"),
        "company_name": FieldSpec("text"),
        "intent_score": FieldSpec("number"),  # 0-100 topic score (third-party intent)
        "surge_at": FieldSpec("number"),  # the score at which intent is a surge
        "snapshot": FieldSpec("bool"),
    },
    one_of=("account_id", "domain", "email", "user_id"),
)

SPECS: dict[str, EntitySpec] = {
    s.name: s for s in (ACCOUNTS, REPS, OPPORTUNITIES, ACTIVITIES, SIGNALS)
}


def _tier(value: int) -> int:
    if value not in (1, 2, 3):
        raise ValueError("tier must be 1, 2 or 3")
    return value


def _choice(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return value


def _email(value: str) -> str:
    if "@" not in value or "." not in value.rsplit("@", 1)[-1]:
        raise ValueError("not an e-mail address")
    return value
