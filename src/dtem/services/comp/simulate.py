"""What the won deals of some periods would have paid under another plan, per rep.

Every line posted in the periods is re-priced: per rep, period and deal, its net amount
at the candidate plan's rate for the deal's score at grant (and its deal cap), then the
candidate's period cap per rep and period. Beside it: what the lines did pay.

>>> # simulate(ledger, clock, {"curve": [[0, 0.25], [100, 0.04]]}, "2027-01", "2027-03")
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from dtem.domain.clock import Clock
from dtem.domain.comp import CompPlan, quarter_start
from dtem.domain.comp_schedule import parse_period, period_of, period_range
from dtem.domain.errors import InputInvalid, RowError
from dtem.domain.ports import CompPort, DirectoryPort, LedgerOf
from dtem.domain.store_comp import CommissionLine, LineFilter

ZERO = Decimal("0.00")


class SimulateTx(CompPort, DirectoryPort, Protocol):
    """Lines of the periods and the reps they name."""


@dataclass(frozen=True)
class SimulatedRep:
    rep: str
    deals: int  # deals with a line in the periods
    amount: Decimal  # net won amount of those lines
    paid: Decimal  # what the lines paid
    simulated: Decimal  # what the candidate plan would have paid

    @property
    def difference(self) -> Decimal:
        return self.simulated - self.paid


@dataclass(frozen=True)
class Simulation:
    start: str
    end: str
    plan: CompPlan
    reps: list[SimulatedRep]


def simulate(
    ledger: LedgerOf[SimulateTx],
    clock: Clock,
    document: dict[str, Any],
    start: str | None = None,
    end: str | None = None,
) -> Simulation:
    """Re-price the lines posted from `start` (default: `end`) to `end` (default: now)."""
    plan = CompPlan.from_dict(_with_start(document))
    end = parse_period(end) if end else period_of(clock().date())
    start = parse_period(start) if start else end
    if end < start:
        err = RowError("periods", 1, "to", end, f"ends before --from {start}")
        raise InputInvalid([err], source="periods")
    with ledger.transaction() as tx:
        lines = tx.commission_lines(LineFilter(periods=set(period_range(start, end))))
        reps = {r.id: r.external_id for r in tx.all_reps()}
    by_rep: dict[int, list[CommissionLine]] = defaultdict(list)
    for line in lines:
        by_rep[line.rep_id].append(line)
    rows = [_rep_row(reps.get(rid, str(rid)), own, plan) for rid, own in by_rep.items()]
    return Simulation(start, end, plan, sorted(rows, key=lambda r: r.rep))


def _with_start(document: dict[str, Any]) -> dict[str, Any]:
    """The candidate's dates do not matter here: re-price with its curve and caps only."""
    doc = {k: v for k, v in document.items() if k not in ("effective_from", "effective_to")}
    month = doc.get("fiscal_year_start_month", 1)
    month = month if isinstance(month, int) and 1 <= month <= 12 else 1
    doc["effective_from"] = quarter_start(date(2000, 1, 1), month).isoformat()
    return doc


def _rep_row(rep: str, lines: list[CommissionLine], plan: CompPlan) -> SimulatedRep:
    per_deal: dict[tuple[str, str], list[CommissionLine]] = defaultdict(list)
    for line in lines:
        per_deal[(line.period, line.opportunity)].append(line)
    per_period: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for (period, _opp), deal_lines in per_deal.items():
        amount = sum((x.amount for x in deal_lines), ZERO)
        rate = plan.rate_at(deal_lines[0].score_at_grant)
        per_period[period] += plan.deal_commission(amount, rate)
    cap = plan.period_cap
    simulated = sum((min(v, cap) if cap is not None else v for v in per_period.values()), ZERO)
    return SimulatedRep(
        rep,
        len({x.opportunity for x in lines}),
        sum((x.amount for x in lines), ZERO),
        sum((x.commission for x in lines), ZERO),
        simulated,
    )
