"""In-memory implementation of `CompStore` for unit tests (same contract as SQL)."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from dtem.domain.clock import as_utc
from dtem.domain.errors import NotFound
from dtem.domain.store_comp import (
    ClosedPeriod,
    CommissionConflict,
    CommissionLine,
    LineFilter,
    PeriodLocked,
    PlanRow,
)


class CompMemory:
    """Mixed into `MemoryTx`; `self.s.extra` holds comp_plans, comp_lines, comp_periods."""

    s: Any

    def _comp(self, table: str) -> list[Any]:
        rows: list[Any] = self.s.extra.setdefault(table, [])
        return rows

    def add_comp_plan(
        self, document: dict[str, Any], effective_from: date, at: datetime, actor: str, note: str
    ) -> int | None:
        plans = self._comp("comp_plans")
        if any(from_ == effective_from for _, from_ in plans):
            return None
        row = PlanRow(len(plans) + 1, copy.deepcopy(document), as_utc(at), actor, note)
        plans.append((row, effective_from))
        return row.version

    def comp_plans(self) -> list[PlanRow]:
        return [copy.deepcopy(row) for row, _ in self._comp("comp_plans")]

    def add_commission_line(self, line: CommissionLine) -> CommissionLine:
        if not any(o.external_id == line.opportunity for o in self._comp("opportunities")):
            raise NotFound(f"opportunity {line.opportunity!r} does not exist")
        if any(p.period == line.period for p in self._comp("comp_periods")):
            raise PeriodLocked(line.period)
        lines = self._comp("comp_lines")
        if any((x.opportunity, x.seq) == (line.opportunity, line.seq) for x in lines):
            raise CommissionConflict(
                f"opportunity {line.opportunity!r} already has commission line {line.seq}"
            )
        stored = replace(line, id=len(lines) + 1, posted_at=as_utc(line.posted_at))
        lines.append(stored)
        return stored

    def commission_lines(self, where: LineFilter) -> list[CommissionLine]:
        return [
            x
            for x in self._comp("comp_lines")
            if (where.rep_id is None or x.rep_id == where.rep_id)
            and (where.periods is None or x.period in where.periods)
            and (where.opportunities is None or x.opportunity in where.opportunities)
            and (where.after_id is None or (x.id or 0) > where.after_id)
        ][: where.limit]

    def close_comp_period(self, period: str, at: datetime, actor: str) -> bool:
        periods = self._comp("comp_periods")
        if any(p.period == period for p in periods):
            return False
        periods.append(ClosedPeriod(period, as_utc(at), actor))
        return True

    def closed_comp_periods(self) -> dict[str, ClosedPeriod]:
        return {p.period: p for p in sorted(self._comp("comp_periods"), key=lambda p: p.period)}
