"""Bidding port: quarterly capacity bids, awards, and the deal history they are priced on."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from dtem.domain.bidding import CapacityBid, RepDeal


class BiddingPort(Protocol):
    """Capacity bids and awards by quarter."""

    def capacity_bids(self, quarter: str | None = None) -> list[CapacityBid]:
        """Bids of a quarter (all quarters when None), by quarter then rep id."""
        ...

    def put_capacity_bid(self, rep_id: int, quarter: str, leases: int, at: datetime) -> CapacityBid:
        """Insert or replace the rep's bid for the quarter (before the award)."""
        ...

    def record_capacity_award(
        self, rep_id: int, quarter: str, awarded: int, reason: str, at: datetime
    ) -> None: ...
    def awarded_capacities(self, quarter: str) -> dict[int, int]:
        """Rep id -> leases awarded for the quarter (reps without an award are absent)."""
        ...

    def rep_deals(self, won: Collection[str], lost: Collection[str]) -> list[RepDeal]:
        """Closed opportunities with a rep: won or lost, amount, cycle days."""
        ...
