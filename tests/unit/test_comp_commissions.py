"""Commission lines from won leased deals, adjustments and locking, on every backend."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.market_seed import seed

from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.errors import InputInvalid
from dtem.domain.model import Account, LeaseState, Rep
from dtem.domain.store_comp import LineFilter
from dtem.services import leases, stages
from dtem.services.comp import plans
from dtem.services.comp.statements import close_period, statement
from dtem.services.governance import active_policy
from dtem.services.imports.service import import_file

D = Decimal
JAN = datetime(2027, 1, 20, 9, tzinfo=UTC)
HEADER = "external_id,account_external_id,stage,amount,close_date\n"


def _leased(ledger: Any, clock: FixedClock, scores: dict[str, float]) -> dict[str, int]:
    """Accounts A<n> leased to R1 at the given scores; returns lease ids by account."""
    accounts = [Account(key, key) for key in scores] + [Account("FREE", "Not leased")]
    acc, rep = seed(ledger, clock, accounts, [Rep("R1", "Rita", pod="east"), Rep("R2", "Raj")])
    out = {}
    with ledger.transaction() as tx:
        active = active_policy(tx)
        for key, score in scores.items():
            lease = leases.grant(tx, acc[key], rep["R1"], clock(), score, active, "test", "test")
            out[key] = lease.id
    return out


def _import(ledger: Any, clock: FixedClock, path: Path, rows: list[str]) -> Any:
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return import_file(ledger, clock, "opportunities", path, pipeline=signal_pipeline())


def _lines(ledger: Any) -> list[Any]:
    with ledger.transaction() as tx:
        return tx.commission_lines(LineFilter())


@pytest.mark.parametrize(
    ("score", "amount", "rate", "commission"),
    [
        (0.0, "10000", "0.200000", "2000.00"),  # the curve's first point
        (30.0, "10000", "0.160000", "1600.00"),  # between points
        (60.0, "10000", "0.120000", "1200.00"),  # the threshold
        (72.5, "12345.67", "0.098125", "1211.42"),  # 0.12 − 12.5/40 × 0.07; 1211.41636875
        (100.0, "999.99", "0.050000", "50.00"),  # 49.9995 half-up
        (83.337, "1000", "0.079155", "79.16"),  # 83.34: 0.12 − 23.34/40 × 0.07; 79.155 half-up
    ],
)
def test_a_won_leased_deal_pays_the_rate_at_its_score_at_grant(
    ledger: Any, tmp_path: Path, score: float, amount: str, rate: str, commission: str
) -> None:
    clock = FixedClock(JAN)
    lease_ids = _leased(ledger, clock, {"A1": score})
    _import(ledger, clock, tmp_path / "o.csv", [f"O1,A1,closed_won,{amount},2027-01-18"])
    (line,) = _lines(ledger)
    assert (str(line.rate), str(line.commission), str(line.amount)) == (
        rate,
        commission,
        f"{D(amount):.2f}",
    )
    assert (line.lease_id, line.kind, line.seq, line.period) == (
        lease_ids["A1"],
        "deal",
        0,
        "2027-01",
    )
    assert line.won_on == date(2027, 1, 18) and line.plan_version == 1
    with ledger.transaction() as tx:
        assert tx.lease(lease_ids["A1"]).state is LeaseState.WON
        audit = [e for e in tx.audit_entries() if e.action == "comp.line"]
    assert audit[0].payload["commission"] == commission


def test_reimporting_the_same_file_writes_no_second_line(ledger: Any, tmp_path: Path) -> None:
    clock = FixedClock(JAN)
    _leased(ledger, clock, {"A1": 80.0})
    rows = ["O1,A1,closed_won,10000,2027-01-18", "O2,FREE,closed_won,5000,2027-01-18"]
    _import(ledger, clock, tmp_path / "o.csv", rows)
    clock.advance(days=3)
    _import(ledger, clock, tmp_path / "o.csv", rows)
    lines = _lines(ledger)
    assert [(x.opportunity, str(x.commission)) for x in lines] == [
        ("O1", "850.00")
    ]  # FREE: no lease


def test_a_correction_after_closing_is_an_adjustment_in_the_open_period(
    ledger: Any, tmp_path: Path
) -> None:
    clock = FixedClock(JAN)
    _leased(ledger, clock, {"A1": 80.0})
    _import(ledger, clock, tmp_path / "o.csv", ["O1,A1,closed_won,10000,2027-01-18"])
    clock.now = datetime(2027, 2, 2, tzinfo=UTC)
    closed = close_period(ledger, clock, "2027-01", "cfo")
    assert (closed.closed_now, closed.lines, closed.commission) == (True, 1, D("850.00"))
    (jan_line,) = _lines(ledger)
    _import(ledger, clock, tmp_path / "o.csv", ["O1,A1,closed_won,12000,2027-01-18"])
    clock.now = datetime(2027, 3, 5, tzinfo=UTC)
    _import(ledger, clock, tmp_path / "o.csv", ["O1,A1,closed_lost,12000,2027-01-18"])
    lines = _lines(ledger)
    assert lines[0] == jan_line  # the locked line is untouched
    assert [(x.kind, x.seq, x.period, str(x.amount), str(x.commission)) for x in lines[1:]] == [
        ("adjustment", 1, "2027-02", "2000.00", "170.00"),
        ("adjustment", 2, "2027-03", "-12000.00", "-1020.00"),
    ]
    assert lines[2].reason == "deal reversed: stage closed_lost"
    jan = statement(ledger, "R1", "2027-01")
    assert jan.locked and jan.total_commission == D("850.00") and len(jan.lines) == 1
    assert statement(ledger, "R1", "2027-02").total_commission == D("170.00")
    assert sum(x.commission for x in lines) == D("0.00")


def test_a_win_booked_in_a_closed_period_posts_in_the_next_open_one(
    ledger: Any, tmp_path: Path
) -> None:
    clock = FixedClock(datetime(2027, 2, 10, tzinfo=UTC))
    _leased(ledger, clock, {"A1": 60.0})
    close_period(ledger, clock, "2027-01", "cfo")
    _import(ledger, clock, tmp_path / "o.csv", ["O1,A1,closed_won,1000,2027-01-30"])
    (line,) = _lines(ledger)
    assert (line.period, line.won_on) == ("2027-02", date(2027, 1, 30))
    assert line.reason == "won (closed_won); 2027-01 is closed: posted in 2027-02"


def test_deal_and_period_caps(ledger: Any, tmp_path: Path) -> None:
    clock = FixedClock(JAN)
    _leased(ledger, clock, {"A1": 80.0, "A2": 80.0, "A3": 80.0})
    doc = {"effective_from": "2027-01-01", "deal_cap": "800", "period_cap": "1000"}
    stored = plans.store_plan(ledger, clock, doc, "cfo")
    assert stored.version == 2  # version 1: the default plan, stored first
    rows = [
        "O1,A1,closed_won,10000,2027-01-18",  # 850.00 → deal cap 800.00
        "O2,A2,closed_won,1000,2027-01-18",  # 85.00
        "O3,A3,closed_won,2000,2027-01-18",  # 170.00 → period cap leaves 115.00
    ]
    _import(ledger, clock, tmp_path / "o.csv", rows)
    got = [(x.opportunity, x.plan_version, str(x.commission)) for x in _lines(ledger)]
    assert got == [("O1", 2, "800.00"), ("O2", 2, "85.00"), ("O3", 2, "115.00")]


def test_the_stage_api_pays_a_win_too(ledger: Any, tmp_path: Path) -> None:
    clock = FixedClock(JAN)
    lease_ids = _leased(ledger, clock, {"A1": 60.0})
    _import(ledger, clock, tmp_path / "o.csv", ["O1,A1,negotiation,5000,"])
    assert _lines(ledger) == []
    clock.advance(days=1)
    result = stages.change_stage(ledger, clock, "O1", "closed_won", actor="crm")
    (line,) = _lines(ledger)
    assert [x.id for x in result.leases] == [lease_ids["A1"]]
    assert (line.won_on, str(line.commission)) == (date(2027, 1, 21), "600.00")


def test_an_expected_close_date_still_ahead_is_not_the_win_date(
    ledger: Any, tmp_path: Path
) -> None:
    clock = FixedClock(JAN)
    _leased(ledger, clock, {"A1": 60.0})
    _import(ledger, clock, tmp_path / "o.csv", ["O1,A1,negotiation,5000,2027-03-31"])
    clock.advance(days=2)
    stages.change_stage(ledger, clock, "O1", "closed_won", actor="crm")
    (line,) = _lines(ledger)
    assert (line.won_on, line.period) == (date(2027, 1, 22), "2027-01")


def test_a_negative_won_amount_is_rejected_with_row_and_field(ledger: Any, tmp_path: Path) -> None:
    clock = FixedClock(JAN)
    _leased(ledger, clock, {"A1": 80.0})
    with pytest.raises(InputInvalid) as err:
        _import(ledger, clock, tmp_path / "o.csv", ["O1,A1,closed_won,-10000,2027-01-18"])
    (problem,) = err.value.errors
    assert (problem.row, problem.field, problem.value) == (2, "amount", "-10000")
    assert _lines(ledger) == []
