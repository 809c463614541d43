"""BiddingPort: capacity bids, awards and rep deals on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from dtem.domain.model import Account, Opportunity, Rep
from tests.conftest import T0

H = timedelta(hours=1)


def _seed(ledger: Any) -> tuple[list[int], list[int]]:
    with ledger.transaction() as tx:
        tx.insert_accounts([Account(f"A{i}", f"Acct {i}") for i in range(3)], T0)
        tx.insert_reps([Rep("R1", "Rita"), Rep("R2", "Raj")], T0)
        acc = tx.accounts_by_external_id(["A0", "A1", "A2"])
        reps = tx.reps_by_external_id(["R1", "R2"])
    return [acc[f"A{i}"].id for i in range(3)], [reps["R1"].id, reps["R2"].id]


def test_a_second_bid_replaces_the_first_and_awards_are_read_back(ledger: Any) -> None:
    _, (r1, r2) = _seed(ledger)
    with ledger.transaction() as tx:
        tx.put_capacity_bid(r1, "2027Q2", 10, T0)
        tx.put_capacity_bid(r1, "2027Q2", 12, T0 + H)
        tx.put_capacity_bid(r2, "2027Q2", 8, T0)
        tx.put_capacity_bid(r2, "2027Q3", 9, T0)
    with ledger.transaction() as tx:
        bids = tx.capacity_bids("2027Q2")
        assert [(b.rep_id, b.leases, b.awarded) for b in bids] == [(r1, 12, None), (r2, 8, None)]
        assert bids[0].submitted_at == T0 + H
        assert len(tx.capacity_bids()) == 3
        tx.record_capacity_award(r1, "2027Q2", 11, "index 1.2", T0 + 2 * H)
    with ledger.transaction() as tx:
        assert tx.awarded_capacities("2027Q2") == {r1: 11}
        assert tx.awarded_capacities("2027Q3") == {}
        (b1, _) = tx.capacity_bids("2027Q2")
        assert (b1.award_reason, b1.awarded_at) == ("index 1.2", T0 + 2 * H)


def test_rep_deals_carry_outcome_amount_and_cycle(ledger: Any) -> None:
    _, (r1, _) = _seed(ledger)
    opps = [
        Opportunity("O1", "A0", "closed_won", 5000.0, date(2026, 1, 1), date(2026, 1, 31), "R1"),
        Opportunity("O2", "A1", "closed_lost", None, None, None, "R1"),
        Opportunity("O3", "A2", "proposal", 100.0, None, None, "R1"),
    ]
    with ledger.transaction() as tx:
        tx.insert_opportunities(opps, T0)
    with ledger.transaction() as tx:
        deals = sorted(tx.rep_deals(("closed_won",), ("closed_lost",)), key=lambda d: -d.won)
    assert [(d.rep_id, d.won, d.amount, d.cycle_days) for d in deals] == [
        (r1, True, 5000.0, 30.0),
        (r1, False, None, 1.0),
    ]
