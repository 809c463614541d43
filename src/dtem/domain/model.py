"""Entities of the ledger as frozen dataclasses (the current state of each projection)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import IntEnum, StrEnum


class Tier(IntEnum):
    """Who may work an account (see docs/model.md, "Tiers")."""

    HUMAN_ONLY = 1
    HYBRID = 2
    AI_ONLY = 3


class LeaseState(StrEnum):
    GRANTED = "granted"
    ADVANCED = "advanced"
    WON = "won"
    LOST = "lost"
    EXPIRED = "expired"
    REVOKED = "revoked"
    RELEASED = "released"
    REASSIGNED = "reassigned"

    @property
    def is_active(self) -> bool:
        return self in (LeaseState.GRANTED, LeaseState.ADVANCED)


ACTIVE_LEASE_STATES = (LeaseState.GRANTED.value, LeaseState.ADVANCED.value)


@dataclass(frozen=True)
class Account:
    external_id: str
    name: str
    domain: str | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: float | None = None
    country: str | None = None
    region: str | None = None
    tier: Tier = Tier.HYBRID
    do_not_contact: bool = False
    static_owner: str | None = None
    potential_value: float | None = None
    id: int | None = None


@dataclass(frozen=True)
class Rep:
    external_id: str
    name: str
    email: str | None = None
    pod: str | None = None
    segments: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    capacity: int = 25
    hourly_cost: float = 0.0
    active: bool = True
    crm_user_id: str | None = None
    id: int | None = None
    manager: str | None = None  # the manager as the CRM names them (id or name)
    team: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Opportunity:
    external_id: str
    account_external_id: str | None  # None: unattached pipeline, waiting for its account
    stage: str
    amount: float | None = None
    created_date: date | None = None
    close_date: date | None = None
    rep_external_id: str | None = None
    id: int | None = None
    product: str | None = None
    # an unattached opportunity (account_external_id None) keeps how its account was named
    account_key: str | None = None
    key_kind: str | None = None  # id | domain | name


@dataclass(frozen=True)
class Activity:
    external_id: str
    account_external_id: str
    kind: str
    occurred_at: datetime
    actor_kind: str = "rep"  # rep | agent
    actor_id: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class Lease:
    id: int
    account_id: int
    rep_id: int
    state: LeaseState
    granted_at: datetime
    expires_at: datetime
    score_at_grant: float
    policy_version: int
    ended_at: datetime | None = None
    reason: str = ""
    version: int = 1  # 1 at grant, +1 per transition; a write names the version it read


def size_band(employees: int | None) -> str:
    """Size band of an account by head count; `unknown` when not given.

    >>> size_band(40), size_band(None)
    ('smb', 'unknown')
    """
    if employees is None:
        return "unknown"
    if employees < 100:
        return "smb"
    if employees < 1000:
        return "mid"
    return "enterprise"


def segment_of(employees: int | None, industry: str | None) -> str:
    """Segment key = size band × industry, as used by velocity, cost and routing."""
    return f"{size_band(employees)}|{(industry or 'unknown').strip().lower()}"
