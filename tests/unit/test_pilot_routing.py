"""A running pilot feeds only its pod: routing and the rebalance lease to pod reps, the rest
of the floor gets nothing new and keeps what it has; ending the pilot feeds everyone again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.market_seed import put_score, seed

from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.services import pilots
from dtem.services.rebalance import rebalance
from dtem.services.routing import route

REPS = [Rep("R1", "Rita", capacity=5), Rep("R2", "Raj", capacity=5), Rep("R3", "Rosa", capacity=5)]


def _market(ledger: Any, clock: FixedClock, n: int) -> dict[str, int]:
    accounts = [Account(f"A{i}", f"Acct {i}", potential_value=1000.0 * (i + 1)) for i in range(n)]
    acc, _ = seed(ledger, clock, accounts, REPS)
    for account_id in acc.values():
        put_score(ledger, account_id, 80.0, clock() - timedelta(hours=1))
    return acc


def test_routing_leases_only_to_the_pod_and_says_why_the_floor_is_out(
    ledger: Any, clock: FixedClock
) -> None:
    _market(ledger, clock, 4)
    pilots.create_pilot(ledger, clock, "tank", ["R2"], "ann")
    got = [route(ledger, clock, f"A{i}", "crossed_up") for i in range(3)]
    assert [r.rep for r in got] == ["R2", "R2", "R2"]
    assert got[0].exclusions == {"R1": "outside_pilot_pod", "R3": "outside_pilot_pod"}
    report = pilots.pilot_report(ledger, clock, "tank")
    assert (report.pod_leases, report.floor_leases) == (3, 0)  # fed by routing, pod only
    assert [m.pod_deals for m in report.comparisons] == [0, 0, 0]  # nothing closed yet
    assert all(m.difference is None and m.low is None for m in report.comparisons)
    pilots.end_pilot(ledger, clock, "tank", "ann")
    after = route(ledger, clock, "A3", "crossed_up")
    assert after.outcome == "leased" and after.rep in {"R1", "R3"}  # R2 has the most load
    with ledger.transaction() as tx:
        actions = [e.action for e in tx.audit_entries()]
    assert "pilot.create" in actions and "pilot.end" in actions


def test_a_full_pod_sends_the_account_to_overflow_not_to_the_floor(
    ledger: Any, clock: FixedClock
) -> None:
    _market(ledger, clock, 7)
    pilots.create_pilot(ledger, clock, "tank", ["R1"], "ann")
    outcomes = [route(ledger, clock, f"A{i}", "crossed_up") for i in range(6)]
    assert [r.rep for r in outcomes[:5]] == ["R1"] * 5
    assert outcomes[5].outcome == "overflow"
    assert outcomes[5].exclusions == {
        "R1": "no_capacity", "R2": "outside_pilot_pod", "R3": "outside_pilot_pod"
    }  # fmt: skip


def test_the_rebalance_gives_hot_accounts_to_the_pod_only(ledger: Any, clock: FixedClock) -> None:
    _market(ledger, clock, 8)
    pilots.create_pilot(ledger, clock, "tank", ["R1", "R3"], "ann")
    report = rebalance(ledger, clock)
    assert report.granted == 8 and report.left_unassigned == 0
    with ledger.transaction() as tx:
        reps = {r.id: r.external_id for r in tx.all_reps()}
        holders = sorted(reps[x.rep_id] for x in tx.active_leases())
    assert set(holders) <= {"R1", "R3"} and len(holders) == 8
