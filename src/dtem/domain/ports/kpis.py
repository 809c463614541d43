"""KPI and pilot ports: the facts the KPIs are computed from, and the Shark Tank pilots.

The records they exchange live in `dtem.domain.kpis` and `dtem.domain.pilots`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from dtem.domain.kpis import Deal, LeaseSpan, Touch
from dtem.domain.pilots import Pilot


class KpiFactsPort(Protocol):
    """Touches, deals, lease spans, threshold crossings and hand-raises, as KPIs read them."""

    def kpi_touches(self, since: datetime, until: datetime) -> list[Touch]:
        """Activities in [since, until): `human` for a rep's, `actor` as imported."""
        ...

    def kpi_deals(self, won: Collection[str], lost: Collection[str]) -> list[Deal]:
        """Every opportunity attached to an account; outcome won / lost by its stage, else
        open; the rep's external id."""
        ...

    def lease_spans(self) -> list[LeaseSpan]:
        """Every lease ever granted: account, rep external id, granted and ended times."""
        ...

    def first_crossings(
        self, threshold: float, since: datetime, until: datetime
    ) -> dict[int, datetime]:
        """Account -> its first score row at or above `threshold` in [since, until)."""
        ...

    def scores_as_of(self, at: datetime) -> dict[int, float]:
        """Account -> its latest score at or before `at` (the later row on a tie)."""
        ...

    def hand_raises(self, since: datetime, until: datetime) -> list[tuple[int, datetime]]:
        """(account, time) of matched, current `hand_raise` signals in [since, until)."""
        ...


class PilotsPort(Protocol):
    """Shark Tank pilots: a named pod of reps fed by routing while the floor keeps owners."""

    def add_pilot(self, name: str, rep_ids: Collection[int], at: datetime, actor: str) -> Pilot:
        """Store a pilot; raises `PilotConflict` when the name is taken."""
        ...

    def pilot(self, name: str) -> Pilot | None: ...

    def pilots(self) -> list[Pilot]:
        """Every pilot, oldest first."""
        ...

    def end_pilot(self, name: str, at: datetime) -> Pilot:
        """Close a running pilot (routing feeds every rep again); `NotFound` without it."""
        ...

    def pilot_pod(self) -> frozenset[int]:
        """Rep ids of every running pilot's pod (empty: no pilot, every rep is routed to)."""
        ...
