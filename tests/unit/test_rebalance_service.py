"""The daily rebalance on the in-memory ledger: grants, moves, penalty, reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests import optim_seed
from tests.conftest import T0
from tests.optim_seed import seed

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, LeaseState, Rep, Tier
from dtem.services.rebalance import rebalance


def score(ledger: Any, account_id: int, value: float, propensity: float = 0.3) -> None:
    optim_seed.score(ledger, account_id, value, T0, propensity)


def grant(ledger: Any, account_id: int, rep_id: int) -> int:
    return optim_seed.grant(ledger, account_id, rep_id, T0)


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger()


def test_hot_unleased_accounts_fill_capacity_by_value(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    accounts = [Account(f"A{i}", f"Acct {i}", potential_value=1000.0 * (i + 1)) for i in range(5)]
    acc, _ = seed(
        ledger, clock, accounts, [Rep("R1", "Rita", capacity=2), Rep("R2", "Raj", capacity=1)]
    )
    for i in range(5):
        score(ledger, acc[f"A{i}"], 75.0)
    report = rebalance(ledger, clock)
    assert (report.granted, report.left_unassigned, report.moved) == (3, 2, 0)
    assert report.objective == pytest.approx(0.3 * (5000 + 4000 + 3000))
    assert report.lp_bound == pytest.approx(report.objective) and report.gap == pytest.approx(0)
    assert report.greedy_objective <= report.objective + 1e-9
    with ledger.transaction() as tx:
        held = {x.account_id for x in tx.active_leases()}
        assert held == {acc["A2"], acc["A3"], acc["A4"]}
        assert [e.action for e in tx.audit_entries()][-1] == "rebalance.run"


def test_cold_do_not_contact_and_ai_only_accounts_are_not_leased(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    accounts = [
        Account("COLD", "Cold"),
        Account("DNC", "No contact", do_not_contact=True),
        Account("AI", "Agents only", tier=Tier.AI_ONLY),
        Account("HOT", "Hot"),
    ]
    acc, _ = seed(ledger, clock, accounts, [Rep("R1", "Rita", capacity=10)])
    score(ledger, acc["COLD"], 40.0)
    for key in ("DNC", "AI", "HOT"):
        score(ledger, acc[key], 80.0)
    report = rebalance(ledger, clock)
    assert report.accounts == 1 and report.granted == 1
    with ledger.transaction() as tx:
        assert [x.account_id for x in tx.active_leases()] == [acc["HOT"]]


def _moving_setup(ledger: MemoryLedger, clock: FixedClock, wins: int) -> tuple[int, dict[str, int]]:
    """A1 leased to R1; R2 has `wins` more wins in the segment (a higher EV)."""
    acc, rep = seed(
        ledger, clock, [Account("A1", "Acme", potential_value=10_000.0)],
        [Rep("R1", "Rita", capacity=5), Rep("R2", "Raj", capacity=5)],
    )  # fmt: skip
    score(ledger, acc["A1"], 80.0, propensity=0.5)
    with ledger.transaction() as tx:
        tx.replace_rep_records({(rep["R2"], "unknown|unknown"): (wins, 0)}, T0)
    return grant(ledger, acc["A1"], rep["R1"]), rep


def test_continuity_penalty_keeps_a_lease_where_a_move_gains_little(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    lease_id, _ = _moving_setup(ledger, clock, wins=0)  # same EV: moving only costs
    report = rebalance(ledger, clock, move_leases=True)
    assert report.moved == 0 and report.movable_leases == 1
    with ledger.transaction() as tx:
        assert tx.lease(lease_id).ended_at is None


def test_a_move_worth_more_than_the_penalty_reassigns_the_lease(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    lease_id, rep = _moving_setup(ledger, clock, wins=20)
    clock.advance(hours=1)
    report = rebalance(ledger, clock, move_leases=True)
    assert report.moved == 1 and report.granted == 0
    with ledger.transaction() as tx:
        old = tx.lease(lease_id)
        assert old.state is LeaseState.REASSIGNED and old.reason == "rebalanced"
        (new,) = tx.active_leases()
        assert new.rep_id == rep["R2"] and new.expires_at == clock() + timedelta(days=30)
        assert [e.kind for e in tx.lease_events(lease_id)][-1] == "reassigned"
        assert "rebalanced from lease" in new.reason


def test_without_move_leases_active_leases_stay_and_use_capacity(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    lease_id, _ = _moving_setup(ledger, clock, wins=20)
    report = rebalance(ledger, clock, move_leases=False)
    assert report.moved == 0 and report.movable_leases == 0
    with ledger.transaction() as tx:
        assert tx.lease(lease_id).ended_at is None


def test_dry_run_reports_without_writing(ledger: MemoryLedger, clock: FixedClock) -> None:
    acc, _ = seed(ledger, clock, [Account("A1", "Acme")], [Rep("R1", "Rita", capacity=1)])
    score(ledger, acc["A1"], 90.0)
    report = rebalance(ledger, clock, dry_run=True)
    assert report.granted == 1 and not report.applied
    with ledger.transaction() as tx:
        assert tx.active_leases() == []


def test_hour_capacities_solve_as_a_gap_and_respect_the_hours(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    accounts = [Account(f"A{i}", f"A{i}", potential_value=1000.0 + i) for i in range(4)]
    acc, _ = seed(ledger, clock, accounts, [Rep("R1", "Rita", capacity=2)])
    for i in range(4):
        score(ledger, acc[f"A{i}"], 70.0)
    report = rebalance(ledger, clock, hours=True, time_limit=10)
    assert report.method == "highs_mip" and report.status == "optimal"
    assert report.granted == 2  # 2 × 10 default hours of capacity, 10 hours per account
    assert report.gap == pytest.approx(0.0, abs=1e-6)


def test_an_awarded_quarter_sets_the_capacity_the_rebalance_uses(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    accounts = [Account(f"A{i}", f"A{i}") for i in range(6)]
    acc, rep = seed(ledger, clock, accounts, [Rep("R1", "Rita", capacity=2)])
    for i in range(6):
        score(ledger, acc[f"A{i}"], 70.0)
    with ledger.transaction() as tx:
        tx.put_capacity_bid(rep["R1"], "2027Q1", 5, T0)
        tx.record_capacity_award(rep["R1"], "2027Q1", 5, "test", T0)
    assert rebalance(ledger, clock).granted == 5


def test_segment_rules_and_cooldowns_limit_who_may_get_an_account(
    ledger: MemoryLedger, clock: FixedClock
) -> None:
    accounts = [Account("SMB", "Small", employees=20), Account("COOL", "Cooled", employees=20)]
    reps = [Rep("ENT", "Enterprise only", segments=("enterprise|*",)), Rep("ANY", "Anyone")]
    acc, rep = seed(ledger, clock, accounts, reps)
    for key in acc:
        score(ledger, acc[key], 80.0)
    old = grant(ledger, acc["COOL"], rep["ANY"])
    with ledger.transaction() as tx:
        tx.end_lease(old, tx.lease(old).version, LeaseState.REVOKED, T0, "no advance")
    report = rebalance(ledger, clock)
    assert (report.accounts, report.arcs, report.granted) == (2, 1, 1)
    with ledger.transaction() as tx:
        (lease,) = tx.active_leases()
    assert (lease.account_id, lease.rep_id) == (acc["SMB"], rep["ANY"])
