"""Statements (a rep's lines in a period) and closing periods, with who may see what.

Who sees a statement: admin any; a manager any rep, or only the reps of their team when
the manager's token names one (`subject` = the team, i.e. the reps' `pod`); a rep only
their own (`subject` = the rep's external id); agents and viewers none (`Forbidden`).

>>> # statement(ledger, "R1", "2027-01").total_commission
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from dtem.domain.clock import Clock
from dtem.domain.comp_schedule import parse_period, period_of
from dtem.domain.errors import Forbidden, InputInvalid, NotFound, RowError
from dtem.domain.model import Rep
from dtem.domain.ports import (
    AuditPort,
    CompPort,
    DirectoryPort,
    LeasesPort,
    LedgerOf,
    ListingsPort,
    OutboxPort,
)
from dtem.domain.store_comp import ClosedPeriod, CommissionLine, LineFilter
from dtem.services import webhook_events

ZERO = Decimal("0.00")


class StatementTx(CompPort, DirectoryPort, LeasesPort, Protocol):
    """Lines, the rep and the leased accounts they name."""


class CloseTx(CompPort, AuditPort, OutboxPort, Protocol):
    """Closed periods and their lines, the close audited and told to webhook subscribers."""


@dataclass(frozen=True)
class Viewer:
    """Who asks: a token's role and subject (the CLI is an admin)."""

    role: str
    subject: str | None = None


ADMIN = Viewer("admin")


@dataclass(frozen=True)
class StatementLine:
    line: CommissionLine
    account: str  # the leased account's external id


@dataclass(frozen=True)
class Statement:
    rep: str
    rep_name: str
    period: str
    locked: bool
    closed_at: datetime | None
    lines: list[StatementLine]

    @property
    def total_amount(self) -> Decimal:
        return sum((x.line.amount for x in self.lines), ZERO)

    @property
    def total_commission(self) -> Decimal:
        return sum((x.line.commission for x in self.lines), ZERO)


def statement(
    ledger: LedgerOf[StatementTx], rep: str, period: str, viewer: Viewer = ADMIN
) -> Statement:
    """Every line of a rep in a period (oldest first), with totals and the lock."""
    period = parse_period(period)
    with ledger.transaction() as tx:
        found = _rep(tx, rep, viewer)
        assert found.id is not None
        lines = tx.commission_lines(LineFilter(rep_id=found.id, periods={period}))
        accounts = {x.lease_id: tx.lease(x.lease_id).account_id for x in lines}
        names = tx.accounts_by_id(set(accounts.values()))
        closed = tx.closed_comp_periods().get(period)
    rows = [StatementLine(x, names[accounts[x.lease_id]].external_id) for x in lines]
    closed_at = closed.closed_at if closed is not None else None
    return Statement(found.external_id, found.name, period, closed is not None, closed_at, rows)


def list_lines(
    ledger: LedgerOf[StatementTx],
    rep: str,
    viewer: Viewer = ADMIN,
    period: str | None = None,
    after: int | None = None,
    limit: int | None = 50,
) -> list[CommissionLine]:
    """A rep's commission lines by id (after `after`), of one period or all; who may see
    them as for a statement. Example: `list_lines(ledger, "R1", period="2027-01")`."""
    periods = {parse_period(period)} if period else None
    with ledger.transaction() as tx:
        found = _rep(tx, rep, viewer)
        where = LineFilter(rep_id=found.id, periods=periods, after_id=after, limit=limit)
        return tx.commission_lines(where)


def _rep(tx: DirectoryPort, rep: str, viewer: Viewer) -> Rep:
    """The rep, if the viewer may see their statement (checked before existence)."""
    if viewer.role == "rep" and viewer.subject != rep:
        raise Forbidden(f"a rep sees only their own statement, not {rep!r}'s")
    if viewer.role not in ("admin", "manager", "rep"):
        raise Forbidden(f"role {viewer.role!r} may not read statements")
    found = tx.reps_by_external_id([rep]).get(rep)
    team = viewer.subject if viewer.role == "manager" else None
    if team is not None and (found is None or found.pod != team):
        raise Forbidden(f"rep {rep!r} is not in team {team!r}")
    if found is None or found.id is None:
        raise NotFound(f"rep {rep!r} does not exist")
    return found


@dataclass(frozen=True)
class PeriodClose:
    period: str
    closed_now: bool  # False: it was already closed (nothing changed)
    closed_at: datetime
    closed_by: str
    lines: int
    commission: Decimal


def close_period(ledger: LedgerOf[CloseTx], clock: Clock, period: str, actor: str) -> PeriodClose:
    """Lock a period's lines (audited). Closing a closed period changes nothing."""
    period = parse_period(period)
    now = clock()
    if period > period_of(now.date()):
        reason = f"a period can be closed once it has started (now is {period_of(now.date())})"
        raise InputInvalid([RowError("period", 1, "period", period, reason)], source="period")
    with ledger.transaction() as tx:
        closed_now = tx.close_comp_period(period, now, actor)
        lines = tx.commission_lines(LineFilter(periods={period}))
        total = sum((x.commission for x in lines), ZERO)
        if closed_now:
            payload = {"period": period, "lines": len(lines), "commission": str(total)}
            tx.append_audit(actor, "comp.period.close", payload, now)
            webhook_events.period_closed(tx, period, len(lines), total, now, actor)
        record = tx.closed_comp_periods()[period]
    return PeriodClose(period, closed_now, record.closed_at, record.closed_by, len(lines), total)


def closed_periods(
    ledger: LedgerOf[ListingsPort], before: str | None = None, limit: int = 50
) -> list[ClosedPeriod]:
    """Closed periods newest first (before `before`, YYYY-MM): when and by whom."""
    with ledger.transaction() as tx:
        return tx.period_page(before, limit)
