"""Bids, awards and the CRM export, through the services on the in-memory ledger."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from tests.conftest import T0
from tests.optim_seed import score

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock
from dtem.domain.errors import InputInvalid, NotFound
from dtem.domain.model import Account, LeaseState, Opportunity, Rep
from dtem.services import bidding, export, leases, routing
from dtem.services.governance import active_policy, ensure_policy


@pytest.fixture
def ledger(clock: FixedClock) -> MemoryLedger:
    led = MemoryLedger()
    ensure_policy(led, clock)
    reps = [
        Rep("R1", "Rita", capacity=20, crm_user_id="005A"),
        Rep("R2", "Raj", capacity=20, crm_user_id="005B"),
        Rep("R3", "Rosa", capacity=20),
    ]
    with led.transaction() as tx:
        tx.insert_reps(reps, T0)
        tx.insert_accounts([Account(f"A{i}", f"Acct {i}") for i in range(3)], T0)
    return led


def _deals(ledger: MemoryLedger, rep: str, won: int, lost: int, amount: float) -> None:
    opps = [
        Opportunity(f"{rep}-{i}", "A0", "closed_won" if i < won else "closed_lost",
                    amount, date(2026, 1, 1), date(2026, 3, 2), rep)
        for i in range(won + lost)
    ]  # fmt: skip
    with ledger.transaction() as tx:
        tx.insert_opportunities(opps, T0)


def test_resubmitting_a_bid_replaces_it(ledger: MemoryLedger, clock: FixedClock) -> None:
    bidding.submit_bid(ledger, clock, "R1", "2027Q2", 10)
    bidding.submit_bid(ledger, clock, "R1", "2027Q2", 14)
    rows = bidding.list_bids(ledger, "2027Q2")
    assert [(r["rep"], r["leases"]) for r in rows] == [("R1", 14)]


@pytest.mark.parametrize(("rep", "quarter", "n"), [("R1", "2027Q5", 3), ("R1", "2027Q2", 0)])
def test_invalid_bids_are_refused(
    ledger: MemoryLedger, clock: FixedClock, rep: str, quarter: str, n: int
) -> None:
    with pytest.raises(InputInvalid):
        bidding.submit_bid(ledger, clock, rep, quarter, n)


def test_a_bid_from_an_unknown_rep_is_not_found(ledger: MemoryLedger, clock: FixedClock) -> None:
    with pytest.raises(NotFound):
        bidding.submit_bid(ledger, clock, "NOPE", "2027Q2", 3)


def test_award_favours_the_better_performer_and_is_recorded_once(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    _deals(ledger, "R1", won=12, lost=3, amount=50_000.0)
    _deals(ledger, "R2", won=2, lost=13, amount=10_000.0)
    for rep in ("R1", "R2", "R3"):
        bidding.submit_bid(ledger, clock, rep, "2027Q2", 40)
    result = bidding.award_quarter(ledger, clock, "2027Q2")
    got = {x.rep: x.awarded for x in result.lines}
    assert result.total_capacity == 60 and sum(got.values()) == 60
    assert got["R1"] > got["R3"] > got["R2"]  # R3 has no history: the team's figures
    rows = {r["rep"]: r for r in bidding.list_bids(ledger, "2027Q2")}
    assert rows["R1"]["awarded"] == got["R1"] and "close rate" in str(rows["R1"]["award_reason"])
    with pytest.raises(InputInvalid):
        bidding.award_quarter(ledger, clock, "2027Q2")
    with pytest.raises(InputInvalid):
        bidding.submit_bid(ledger, clock, "R1", "2027Q2", 5)


def test_award_takes_effect_from_the_quarters_first_day(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    bidding.submit_bid(ledger, clock, "R1", "2027Q2", 7)
    bidding.award_quarter(ledger, clock, "2027Q2", total=100)
    with ledger.transaction() as tx:
        rep = tx.reps_by_external_id(["R1"])["R1"]
        policy = active_policy(tx).policy
        assert bidding.effective_capacity(tx, rep, date(2027, 3, 31), policy) == 20
        assert bidding.effective_capacity(tx, rep, date(2027, 4, 1), policy) == 7


def _lease(ledger: MemoryLedger, account: str, rep: str, at: object) -> int:
    with ledger.transaction() as tx:
        a = tx.accounts_by_external_id([account])[account]
        r = tx.reps_by_external_id([rep])[rep]
        assert a.id and r.id
        return leases.grant(tx, a.id, r.id, at, 70.0, active_policy(tx), "t", "t").id  # type: ignore[arg-type]


def test_export_writes_only_changes_since_the_watermark(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    _lease(ledger, "A0", "R1", T0)
    out: list[str] = []
    first = export.export_assignments(ledger, clock, "salesforce", out.append)
    assert out[0] == "Id,OwnerId\nA0,005A\n" and first.rows == 1
    clock.advance(hours=1)
    _lease(ledger, "A1", "R2", clock())
    clock.advance(hours=1)
    export.export_assignments(ledger, clock, "salesforce", out.append)
    assert out[1] == "Id,OwnerId\nA1,005B\n"


def test_an_ended_lease_exports_a_blank_or_pool_owner(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    lease_id = _lease(ledger, "A0", "R1", T0)
    with ledger.transaction() as tx:
        version = tx.lease(lease_id).version
        tx.end_lease(lease_id, version, LeaseState.EXPIRED, T0 + timedelta(minutes=5), "test")
    clock.advance(hours=1)
    out: list[str] = []
    export.export_assignments(ledger, clock, "hubspot", out.append, since=T0)
    export.export_assignments(ledger, clock, "hubspot", out.append, since=T0, pool_owner="Q1")
    assert out == ["Record ID,Company owner\nA0,\n", "Record ID,Company owner\nA0,Q1\n"]


def test_a_rep_without_crm_id_blocks_the_export_and_keeps_the_watermark(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    _lease(ledger, "A2", "R3", T0)
    out: list[str] = []
    with pytest.raises(InputInvalid, match="R3"):
        export.export_assignments(ledger, clock, "salesforce", out.append)
    assert out == []
    with ledger.transaction() as tx:
        assert tx.watermark("export:salesforce") is None


def test_routing_uses_the_awarded_capacity_of_the_current_quarter(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    with ledger.transaction() as tx:
        tx.update_reps([Rep("R1", "Rita", capacity=1, crm_user_id="005A")], T0)
        tx.update_reps([Rep(r, r, active=False) for r in ("R2", "R3")], T0)
        ids = {a: tx.accounts_by_external_id([a])[a].id for a in ("A0", "A1")}
    _lease(ledger, "A0", "R1", T0)  # R1 is full at its own capacity of 1
    score(ledger, ids["A1"], 80.0, T0)  # type: ignore[arg-type]
    assert routing.route(ledger, clock, "A1").outcome == "overflow"
    bidding.submit_bid(ledger, clock, "R1", "2027Q1", 3)  # T0 is in 2027Q1
    bidding.award_quarter(ledger, clock, "2027Q1", total=3)
    assert routing.route(ledger, clock, "A1").rep == "R1"
