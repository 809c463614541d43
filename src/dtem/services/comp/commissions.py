"""Commission lines: a won deal on a leased account pays its rep; later changes adjust it.

Called inside the unit of work that records the stage (the opportunity import, the stage
API), before the lease machine closes the lease, so the line, the lease's close and their
audit entries commit together. Idempotent: a re-import changes no stage and no amount,
so it writes nothing; the database refuses a second line with the same (deal, seq).

A new win (a stage moving into a won stage) on an account whose active lease was granted
before the win writes the deal line (seq 0): the lease's rep, its score at grant, the
plan in force on the win date (the close date, or the day it was recorded when there is
none or it is still ahead) and that
plan's rate; posted in the win's period, or the first open period after it when that one
is closed. A deal with lines whose won amount later changes (an amount edit; a reversal
out of the won stage = amount 0) gets an adjustment line with the difference, at the deal
line's rate and plan, posted in the current open period: a locked line is never edited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from dtem.domain.comp import CompPlan, money, score_at_grant
from dtem.domain.comp_schedule import StoredPlan, first_open, period_of, plan_in_force
from dtem.domain.model import Opportunity
from dtem.domain.ports import AuditPort, CompPort, LeasesPort, PolicyPort
from dtem.domain.store_comp import CommissionLine, LineFilter, PeriodLocked
from dtem.services.comp.plans import ensure_plans
from dtem.services.governance import active_policy
from dtem.services.imports.plans import Plan

ZERO = Decimal("0.00")


class SettleTx(CompPort, PolicyPort, LeasesPort, AuditPort, Protocol):
    """Comp plans and lines, the won stages, the account's lease, the audit log."""


@dataclass(frozen=True)
class DealChange:
    """An opportunity as it now stands, and the stage it had before this change."""

    opportunity: Opportunity
    previous_stage: str | None  # None: a new opportunity
    account_id: int | None = None  # needed for a new win (to find the account's lease)
    new: bool = False  # inserted by this change (it cannot have lines yet)


def settle_import(tx: SettleTx, plan: Plan, at: datetime, actor: str) -> list[CommissionLine]:
    """The opportunity import's hook: settle every inserted or updated opportunity."""
    moved = {c.opportunity_external_id: c for c in plan.stage_changes}
    changes = [
        DealChange(o, moved[o.external_id].old_stage, moved[o.external_id].account_id, new)
        if o.external_id in moved
        else DealChange(o, o.stage, None, new)
        for new, opps in ((True, plan.inserts), (False, plan.updates))
        for o in opps
    ]
    return settle(tx, changes, at, actor)


def settle(
    tx: SettleTx, changes: Sequence[DealChange], at: datetime, actor: str
) -> list[CommissionLine]:
    """Write the deal and adjustment lines these changes call for; return them."""
    if not changes or tx.active_policy_version() is None:
        return []  # a ledger without a policy has no leases
    active = active_policy(tx)
    won = frozenset(active.policy.won_stages)
    known = [c.opportunity.external_id for c in changes if not c.new]
    lines: dict[str, list[CommissionLine]] = defaultdict(list)
    for stored in tx.commission_lines(LineFilter(opportunities=known)) if known else []:
        lines[stored.opportunity].append(stored)
    posting = _Posting(tx, at, actor, active.version)
    out: list[CommissionLine] = []
    for ch in changes:
        opp = ch.opportunity
        existing = lines.get(opp.external_id)
        line: CommissionLine | None = None
        if existing:
            line = posting.adjust(opp, existing, opp.stage in won)
        elif opp.stage in won and ch.previous_stage not in won and ch.account_id is not None:
            line = posting.deal(opp, ch.account_id)
        if line is not None:
            out.append(line)
    return out


@dataclass
class _Posting:
    """One settlement: the ledger, the time, and what it has read once."""

    tx: SettleTx
    at: datetime
    actor: str
    policy_version: int  # the version whose won stages this settlement read
    used_leases: set[int] = field(default_factory=set)
    _plans: list[StoredPlan] | None = None
    _closed: set[str] | None = None

    def plans(self) -> list[StoredPlan]:
        if self._plans is None:
            self._plans = ensure_plans(self.tx, self.at, self.actor)
        return self._plans

    def closed(self) -> set[str]:
        if self._closed is None:
            self._closed = set(self.tx.closed_comp_periods())
        return self._closed

    def deal(self, opp: Opportunity, account_id: int) -> CommissionLine | None:
        lease = self.tx.active_lease(account_id)
        if lease is None or lease.id in self.used_leases or self.at < lease.granted_at:
            return None  # not leased when won (or this win already closed the lease)
        today = self.at.date()  # an expected close date still ahead is not the win date
        won_on = min(opp.close_date, today) if opp.close_date else today
        stored = plan_in_force(self.plans(), won_on)
        if stored is None:
            return None  # no plan covers the day
        self.used_leases.add(lease.id)
        score = score_at_grant(lease.score_at_grant)
        rate = stored.plan.rate_at(score)
        amount = money(opp.amount or 0)
        booked = period_of(won_on)

        def line_in(period: str) -> CommissionLine:
            commission = self._period_capped(stored.plan, lease.rep_id, period, amount, rate)
            reason = f"won ({opp.stage})"
            if period != booked:
                reason += f"; {booked} is closed: posted in {period}"
            return CommissionLine(
                opp.external_id, lease.rep_id, lease.id, 0, "deal", period, won_on, score,
                stored.version, rate, amount, commission, self.at, self.policy_version, reason,
            )  # fmt: skip

        return self._post(booked, line_in)

    def adjust(
        self, opp: Opportunity, lines: list[CommissionLine], is_won: bool
    ) -> CommissionLine | None:
        paid_on = sum((x.amount for x in lines), ZERO)
        target = money(opp.amount or 0) if is_won else ZERO
        if target == paid_on:
            return None
        deal = lines[0]
        plan = next(p.plan for p in self.plans() if p.version == deal.plan_version)
        paid = sum((x.commission for x in lines), ZERO)
        delta = plan.deal_commission(target, deal.rate) - plan.deal_commission(paid_on, deal.rate)
        delta = max(delta, -paid)  # never take back more than was paid
        if not is_won:
            reason = f"deal reversed: stage {opp.stage}"
        elif paid_on == ZERO:
            reason = f"won again ({opp.stage})"
        else:
            reason = f"amount changed {paid_on} → {target}"

        def line_in(period: str) -> CommissionLine:
            change = min(delta, self._headroom(plan, deal.rep_id, period)) if delta > 0 else delta
            return CommissionLine(
                opp.external_id, deal.rep_id, deal.lease_id, max(x.seq for x in lines) + 1,
                "adjustment", period, deal.won_on, deal.score_at_grant, deal.plan_version,
                deal.rate, target - paid_on, change, self.at, self.policy_version, reason,
            )  # fmt: skip

        return self._post(period_of(self.at.date()), line_in)

    def _period_capped(
        self, plan: CompPlan, rep_id: int, period: str, amount: Decimal, rate: Decimal
    ) -> Decimal:
        commission = plan.deal_commission(amount, rate)
        return min(commission, self._headroom(plan, rep_id, period))

    def _headroom(self, plan: CompPlan, rep_id: int, period: str) -> Decimal:
        """What the period cap still allows the rep in the period (no cap: unlimited)."""
        if plan.period_cap is None:
            return Decimal("Infinity")
        lines = self.tx.commission_lines(LineFilter(rep_id=rep_id, periods={period}))
        return max(ZERO, plan.period_cap - sum((x.commission for x in lines), ZERO))

    def _post(self, earliest: str, line_in: Callable[[str], CommissionLine]) -> CommissionLine:
        """Write the line in the first open period from `earliest`. A period a concurrent
        close locked after we read the closed ones refuses it (`PeriodLocked`, checked by
        the database under the period's lock): the line moves on to the next open one."""
        while True:
            period = first_open(earliest, self.closed())
            try:
                return self._write(line_in(period))
            except PeriodLocked as exc:
                self.closed().add(exc.period)

    def _write(self, line: CommissionLine) -> CommissionLine:
        stored = self.tx.add_commission_line(line)
        self.tx.append_audit(self.actor, "comp.line", line_payload(stored), self.at)
        return stored


def line_payload(line: CommissionLine) -> dict[str, object]:
    """A line as the audit log and JSON output show it (decimals as exact strings)."""
    return {
        "line_id": line.id,
        "opportunity": line.opportunity,
        "rep_id": line.rep_id,
        "lease_id": line.lease_id,
        "seq": line.seq,
        "kind": line.kind,
        "period": line.period,
        "won_on": line.won_on.isoformat(),
        "score_at_grant": str(line.score_at_grant),
        "plan_version": line.plan_version,
        "policy_version": line.policy_version,
        "rate": str(line.rate),
        "amount": str(line.amount),
        "commission": str(line.commission),
        "reason": line.reason,
    }
