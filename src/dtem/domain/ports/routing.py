"""Routing ports: the facts a routing decision reads, and the decisions and overflow
it records. The records they exchange live in `dtem.domain.store_market`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Protocol

from dtem.domain.roster import RepRoster, RosterLoad
from dtem.domain.store_market import (
    AccountFacts,
    ClosedDeal,
    MarketQuery,
    OverflowEntry,
    PipelineDeal,
    RoutingRecord,
    RoutingRep,
    ScoreRow,
    Unavailability,
)


class RoutingFactsPort(Protocol):
    """Scores, rep loads, leave, cooldowns and records (each one indexed query: routing
    must stay in milliseconds)."""

    def account_facts(
        self, *, account_id: int | None = None, external_id: str | None = None
    ) -> AccountFacts | None:
        """The account (by id or external id) with its active lease, latest score, stored
        tier and open overflow entry: one query (None = no such account)."""
        ...

    def routing_score(self, account_id: int) -> ScoreRow | None:
        """The account's latest score row (None = never scored)."""
        ...

    def active_lease_counts(self) -> dict[int, int]:
        """Rep id -> number of active leases (reps without one are absent)."""
        ...

    def routing_reps(self, segment: str) -> list[RoutingRep]:
        """Every rep with its active leases and its (wins, losses) in the segment: one query."""
        ...

    def rep_market(self, query: MarketQuery) -> tuple[RepRoster, RosterLoad]:
        """Every rep by id with its load, record, leave, cooldown and award: one query.

        The roster part may be shared between calls while the reps are unchanged.
        """
        ...

    # --- loads (kept by grant_lease / end_lease inside the backend) --------------------
    def rebuild_rep_loads(self) -> int:
        """Recount the per-rep loads from the leases (the review repairs any drift)."""
        ...

    def lock_rep_load(self, rep_id: int) -> int:
        """Lock the rep against concurrent grants until commit; return its active leases."""
        ...

    # --- leave and cooldowns -----------------------------------------------------------
    def add_unavailability(
        self, rep_id: int, starts_at: datetime, ends_at: datetime, reason: str
    ) -> int: ...
    def unavailability(self, rep_id: int | None = None) -> list[Unavailability]: ...
    def reps_on_leave(self, at: datetime) -> set[int]: ...
    def cooling_reps(self, account_id: int, since: datetime) -> set[int]:
        """Reps whose lease on the account was revoked or expired at or after `since`."""
        ...

    def cooling_pairs(self, since: datetime) -> set[tuple[int, int]]:
        """(account id, rep id) of leases revoked or expired at or after `since`."""
        ...

    # --- records -----------------------------------------------------------------------
    def rep_records(self, segment: str) -> dict[int, tuple[int, int]]:
        """Rep id -> (wins, losses) in the segment, as of the last refresh."""
        ...

    def replace_rep_records(
        self, records: Mapping[tuple[int, str], tuple[int, int]], at: datetime
    ) -> None: ...
    def closed_deals(self, won: Collection[str], lost: Collection[str]) -> list[ClosedDeal]: ...
    def open_pipeline(
        self, account_ids: Collection[int] | None, won: Collection[str], lost: Collection[str]
    ) -> list[PipelineDeal]:
        """Opportunities not in a won or lost stage, of these accounts (None: of all), each
        with its owner's won/lost counts over all its opportunities."""
        ...


class DecisionLogPort(Protocol):
    """Stored routing decisions (`dtem route --explain`) and the overflow queue."""

    def add_routing_decision(self, record: RoutingRecord) -> int: ...
    def routing_decisions(self, account_id: int, limit: int = 20) -> list[RoutingRecord]: ...
    def open_overflow(self, account_id: int) -> OverflowEntry | None: ...
    def add_overflow(self, account_id: int, at: datetime, reason: str) -> int: ...
    def resolve_overflow(self, entry_id: int, at: datetime, resolution: str) -> None: ...
    def overflow_entries(
        self, open_only: bool = True, queued_before: datetime | None = None
    ) -> list[OverflowEntry]: ...
