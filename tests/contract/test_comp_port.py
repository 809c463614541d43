"""CompPort on memory, SQLite and PostgreSQL: exact decimals, one line per (deal, seq)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from dtem.domain.clock import FixedClock
from dtem.domain.comp import CompPlan
from dtem.domain.errors import NotFound
from dtem.domain.model import Account, Opportunity, Rep
from dtem.domain.store_comp import CommissionConflict, CommissionLine, LineFilter, PeriodLocked
from tests.conftest import T0
from tests.market_seed import seed

DAY = timedelta(days=1)


def _deal(ledger: Any) -> tuple[int, int]:
    """One account, rep, lease and won opportunity; returns (rep id, lease id)."""
    acc, rep = seed(ledger, FixedClock(T0), [Account("A1", "Acme")], [Rep("R1", "Rita")])
    with ledger.transaction() as tx:
        tx.insert_opportunities(
            [Opportunity("O1", "A1", "closed_won", 12345.67), Opportunity("O2", "A1", "proposal")],
            T0,
        )
        lease = tx.grant_lease(acc["A1"], rep["R1"], T0, T0 + 30 * DAY, 71.25, 1, "x")
        tx.add_comp_plan(CompPlan(date(2020, 1, 1)).to_dict(), date(2020, 1, 1), T0, "t", "")
    return rep["R1"], lease.id


def _line(rep_id: int, lease_id: int, **changes: Any) -> CommissionLine:
    line = CommissionLine(
        opportunity="O1",
        rep_id=rep_id,
        lease_id=lease_id,
        seq=0,
        kind="deal",
        period="2027-01",
        won_on=date(2027, 1, 20),
        score_at_grant=Decimal("71.25"),
        plan_version=1,
        rate=Decimal("0.100312"),
        amount=Decimal("9999999999999.99"),  # 10^13 - 0.01: beyond a double's 15 digits + cents
        commission=Decimal("1003119999999.99"),
        posted_at=T0,
        policy_version=1,
        reason="won",
    )
    return replace(line, **changes)


def test_decimals_come_back_exactly_as_written(ledger: Any) -> None:
    rep_id, lease_id = _deal(ledger)
    written = [
        _line(rep_id, lease_id),
        _line(
            rep_id,
            lease_id,
            seq=1,
            kind="adjustment",
            amount=Decimal("-0.01"),
            commission=Decimal("0.00"),
            rate=Decimal("0.000001"),
            period="2027-02",
        ),
        _line(
            rep_id,
            lease_id,
            opportunity="O2",
            amount=Decimal("0.10"),
            commission=Decimal("0.01"),
            score_at_grant=Decimal("0.01"),
        ),
    ]
    with ledger.transaction() as tx:
        stored = [tx.add_commission_line(x) for x in written]
    with ledger.transaction() as tx:
        read = tx.commission_lines(LineFilter())
    assert read == stored
    for got, want in zip(read, written, strict=True):
        assert replace(got, id=None) == want
        for name in ("amount", "commission", "rate", "score_at_grant"):
            assert str(getattr(got, name)) == str(getattr(want, name))  # same places, too
    assert sum(x.amount for x in read) == Decimal("10000000000000.08")


def test_a_deal_line_cannot_be_written_twice(ledger: Any) -> None:
    rep_id, lease_id = _deal(ledger)
    with ledger.transaction() as tx:
        tx.add_commission_line(_line(rep_id, lease_id))
    with pytest.raises(CommissionConflict), ledger.transaction() as tx:
        tx.add_commission_line(_line(rep_id, lease_id, amount=Decimal("1.00")))
    with ledger.transaction() as tx:
        assert len(tx.commission_lines(LineFilter())) == 1
        with pytest.raises(NotFound):
            tx.add_commission_line(_line(rep_id, lease_id, opportunity="NOPE"))


def test_lines_filter_by_rep_period_and_opportunity(ledger: Any) -> None:
    rep_id, lease_id = _deal(ledger)
    with ledger.transaction() as tx:
        a = tx.add_commission_line(_line(rep_id, lease_id))
        b = tx.add_commission_line(_line(rep_id, lease_id, seq=1, period="2027-02"))
        c = tx.add_commission_line(_line(rep_id, lease_id, opportunity="O2"))
    with ledger.transaction() as tx:
        assert tx.commission_lines(LineFilter(periods={"2027-02"})) == [b]
        assert tx.commission_lines(LineFilter(limit=1)) == [a]
        assert tx.commission_lines(LineFilter(after_id=a.id)) == [b, c]
        assert tx.commission_lines(LineFilter(after_id=a.id, limit=1)) == [b]
        assert tx.commission_lines(LineFilter(opportunities=["O2"])) == [c]
        assert tx.commission_lines(LineFilter(rep_id=rep_id, periods={"2027-01"})) == [a, c]
        assert tx.commission_lines(LineFilter(rep_id=rep_id + 1)) == []


def test_plans_and_closed_periods_round_trip(ledger: Any) -> None:
    _deal(ledger)
    plan = CompPlan(date(2027, 4, 1), deal_cap=Decimal("5000.00"), fiscal_year_start_month=4)
    with ledger.transaction() as tx:
        version = tx.add_comp_plan(plan.to_dict(), plan.effective_from, T0, "me", "FY27")
        assert tx.close_comp_period("2027-01", T0, "me") is True
        assert tx.close_comp_period("2027-01", T0 + DAY, "you") is False
    with ledger.transaction() as tx:
        rows = tx.comp_plans()
        closed = tx.closed_comp_periods()
        assert tx.add_comp_plan(plan.to_dict(), plan.effective_from, T0, "me", "again") is None
    assert [r.version for r in rows] == [1, version] and version == 2
    assert CompPlan.from_dict(rows[-1].document) == plan
    assert (rows[-1].created_by, rows[-1].note, rows[-1].created_at) == ("me", "FY27", T0)
    assert list(closed) == ["2027-01"]
    assert (closed["2027-01"].closed_by, closed["2027-01"].closed_at) == ("me", T0)


def test_a_line_in_a_closed_period_is_refused(ledger: Any) -> None:
    rep_id, lease_id = _deal(ledger)
    with ledger.transaction() as tx:
        assert tx.close_comp_period("2027-01", T0, "closer")
    with pytest.raises(PeriodLocked) as refused, ledger.transaction() as tx:
        tx.add_commission_line(_line(rep_id, lease_id))
    assert refused.value.period == "2027-01"
    with ledger.transaction() as tx:
        tx.add_commission_line(_line(rep_id, lease_id, period="2027-02"))
        assert [x.period for x in tx.commission_lines(LineFilter())] == ["2027-02"]
