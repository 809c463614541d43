"""Records the market ports exchange (`dtem.domain.ports.routing`, `.leases`): score rows,
routing decisions, overflow, lease events, leave windows, closed deals, lease filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dtem.domain.model import Account, Lease, LeaseState, Rep
from dtem.domain.tiers import AccountTier


@dataclass(frozen=True)
class ScoreRow:
    """The latest score of an account, as routing reads it."""

    account_id: int
    as_of: datetime
    score: float
    propensity: float
    velocity: float
    policy_version: int


@dataclass(frozen=True)
class AccountFacts:
    """What a routing decision reads about its account, in one read: the account, its
    active lease, latest score, stored tier (with any override) and open overflow entry."""

    account: Account
    lease: Lease | None
    score: ScoreRow | None
    tier: AccountTier | None
    overflow: OverflowEntry | None


@dataclass(frozen=True)
class LeaseGrant:
    """A lease to grant (`LeasesPort.grant_leases`): it starts at version 1."""

    account_id: int
    rep_id: int
    at: datetime
    expires_at: datetime
    score: float
    policy_version: int
    reason: str


@dataclass(frozen=True)
class LeaseEnd:
    """An active lease to end if it is still at `version` (`LeasesPort.end_leases`)."""

    lease_id: int
    version: int
    state: LeaseState
    at: datetime
    reason: str


@dataclass(frozen=True)
class RoutingRecord:
    """One stored routing decision (`dtem route --explain` shows it)."""

    account_id: int
    at: datetime
    trigger: str
    policy_version: int
    outcome: str
    chosen_rep_id: int | None
    lease_id: int | None
    candidates: list[dict[str, Any]]
    exclusions: dict[str, str]
    id: int | None = None


@dataclass(frozen=True)
class RoutingRep:
    """A rep as routing needs it: identity and rules, active leases, record in a segment."""

    rep: Rep
    active_leases: int
    wins: int
    losses: int


@dataclass(frozen=True)
class MarketQuery:
    """What routing asks about every rep for one account at one time."""

    account_id: int
    segment: str
    quarter: str  # capacity awarded for this quarter replaces the rep's capacity
    at: datetime  # leave windows in effect now
    cooling_since: datetime  # revocations/expiries on this account since then cool the rep


@dataclass(frozen=True)
class OverflowEntry:
    id: int
    account_id: int
    queued_at: datetime
    reason: str
    resolved_at: datetime | None = None
    resolution: str | None = None


@dataclass(frozen=True)
class LeaseEventRow:
    """One transition of a lease; `seq` is the lease version it produced (unique per lease)."""

    lease_id: int
    kind: str
    at: datetime
    actor: str
    reason: str
    policy_version: int
    payload: dict[str, Any]
    seq: int


@dataclass(frozen=True)
class Unavailability:
    id: int
    rep_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str


@dataclass(frozen=True)
class ClosedDeal:
    """A won or lost opportunity of a rep, with the account's segment inputs."""

    rep_id: int
    employees: int | None
    industry: str | None
    stage: str


@dataclass(frozen=True)
class PipelineDeal:
    """An open opportunity of an account as routing sees it, with its owner's record."""

    account_id: int
    stage: str
    opened: date | None  # created date, else the day of its first stage-history line
    amount: float | None
    owner_wins: int  # the owner's won and lost opportunities (0, 0 without an owner)
    owner_losses: int
    product: str | None = None


@dataclass(frozen=True)
class LeaseFilter:
    """Which leases `find_leases` returns (all fields optional; newest first)."""

    rep_id: int | None = None
    account_id: int | None = None
    active_only: bool = False
    limit: int = 100
    ended_only: bool = False  # leases that have ended (won, lost, revoked, …)
    before_id: int | None = None  # keyset paging: only leases with a smaller id
