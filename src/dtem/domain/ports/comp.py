"""Comp port: comp plan versions, commission lines, closed (locked) periods.

The records it returns live in `dtem.domain.store_comp`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from dtem.domain.store_comp import ClosedPeriod, CommissionLine, LineFilter, PlanRow


class CompPort(Protocol):
    """Comp plan versions, commission lines and closed periods."""

    def add_comp_plan(
        self, document: dict[str, Any], effective_from: date, at: datetime, actor: str, note: str
    ) -> int | None:
        """Store a plan document; return its version (1, 2, …), or None when a plan
        starting that day is already stored (the database refuses a second one)."""
        ...

    def comp_plans(self) -> list[PlanRow]:
        """Every stored plan, by version."""
        ...

    def add_commission_line(self, line: CommissionLine) -> CommissionLine:
        """Append a line; return it with its id. Raises `CommissionConflict` on a duplicate
        and `PeriodLocked` when the line's period is closed.

        The period is checked under a lock the transaction holds until it ends, shared
        with other lines and exclusive with `close_comp_period`: a close that races a
        line either waits for it (and counts it) or goes first (and the line is refused),
        so no line ever lands in a closed period."""
        ...

    def commission_lines(self, where: LineFilter) -> list[CommissionLine]: ...

    def close_comp_period(self, period: str, at: datetime, actor: str) -> bool:
        """Lock a period; False when it was already closed (nothing changes). Waits for
        transactions writing lines in the period to end, so lines read after it are all."""
        ...

    def closed_comp_periods(self) -> dict[str, ClosedPeriod]: ...
