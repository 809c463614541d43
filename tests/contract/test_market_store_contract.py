"""The market store on memory, SQLite and PostgreSQL: the same answers everywhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, LeaseState, Opportunity, Rep
from dtem.domain.store_market import LeaseEventRow, LeaseFilter, RoutingRecord
from tests.conftest import T0
from tests.market_seed import put_score, seed

DAY = timedelta(days=1)


def _market(ledger: Any) -> tuple[dict[str, int], dict[str, int]]:
    accounts = [Account(f"A{i}", f"Acc {i}", employees=50, industry="Retail") for i in range(3)]
    reps = [Rep("R1", "Rita"), Rep("R2", "Raj")]
    return seed(ledger, FixedClock(T0), accounts, reps)


def test_routing_score_is_the_latest_row(ledger: Any) -> None:
    acc, _ = _market(ledger)
    put_score(ledger, acc["A0"], 55.0, T0)
    put_score(ledger, acc["A0"], 71.0, T0 + DAY)
    with ledger.transaction() as tx:
        row = tx.routing_score(acc["A0"])
        assert row is not None and row.score == 71.0 and row.as_of == T0 + DAY
        assert tx.routing_score(acc["A1"]) is None


def test_active_lease_counts_and_cooling_reps(ledger: Any) -> None:
    acc, rep = _market(ledger)
    with ledger.transaction() as tx:
        a = tx.grant_lease(acc["A0"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.grant_lease(acc["A1"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.grant_lease(acc["A2"], rep["R2"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.end_lease(a.id, a.version, LeaseState.REVOKED, T0 + 31 * DAY, "no advance")
    with ledger.transaction() as tx:
        assert tx.active_lease_counts() == {rep["R1"]: 1, rep["R2"]: 1}
        assert tx.lock_rep_load(rep["R1"]) == 1
        assert tx.cooling_reps(acc["A0"], T0) == {rep["R1"]}
        assert tx.cooling_reps(acc["A0"], T0 + 32 * DAY) == set()
        assert [x.id for x in tx.leases_due(T0 + 30 * DAY)] == [2, 3]
        assert len(tx.find_leases(LeaseFilter(rep_id=rep["R1"]))) == 2
        assert len(tx.find_leases(LeaseFilter(rep_id=rep["R1"], active_only=True))) == 1


def test_leave_windows_are_half_open(ledger: Any) -> None:
    _, rep = _market(ledger)
    with ledger.transaction() as tx:
        tx.add_unavailability(rep["R2"], T0, T0 + 5 * DAY, "PTO")
    with ledger.transaction() as tx:
        assert tx.reps_on_leave(T0) == {rep["R2"]}
        assert tx.reps_on_leave(T0 + 5 * DAY) == set()
        (window,) = tx.unavailability(rep["R2"])
        assert window.reason == "PTO" and window.ends_at == T0 + 5 * DAY


def test_decisions_overflow_and_lease_events_round_trip(ledger: Any) -> None:
    acc, rep = _market(ledger)
    record = RoutingRecord(
        acc["A0"], T0, "manual", 1, "overflow", None, None, [], {"R1": "on_leave"}
    )
    with ledger.transaction() as tx:
        tx.add_routing_decision(record)
        entry_id = tx.add_overflow(acc["A0"], T0, "no eligible rep")
        lease = tx.grant_lease(acc["A1"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        event = LeaseEventRow(lease.id, "granted", T0, "router", "x", 1, {"k": 1}, seq=1)
        tx.add_lease_event(lease.id, event)
    with ledger.transaction() as tx:
        (stored,) = tx.routing_decisions(acc["A0"])
        assert stored.exclusions == {"R1": "on_leave"} and stored.at == T0
        assert tx.open_overflow(acc["A0"]) is not None
        assert [e.id for e in tx.overflow_entries(queued_before=T0)] == []
        tx.resolve_overflow(entry_id, T0 + DAY, "leased")
        assert tx.open_overflow(acc["A0"]) is None
        assert tx.lease_events(lease.id) == [event]


def test_rep_records_replace_and_closed_deals(ledger: Any) -> None:
    _, rep = _market(ledger)
    with ledger.transaction() as tx:
        tx.insert_opportunities(
            [
                Opportunity("O1", "A0", "closed_won", rep_external_id="R1"),
                Opportunity("O2", "A1", "closed_lost", rep_external_id="R1"),
                Opportunity("O3", "A2", "proposal", rep_external_id="R2"),
            ],
            T0,
        )
        deals = tx.closed_deals(("closed_won",), ("closed_lost",))
        assert sorted(d.stage for d in deals) == ["closed_lost", "closed_won"]
        tx.replace_rep_records({(rep["R1"], "smb|retail"): (1, 1)}, T0)
        tx.replace_rep_records({(rep["R2"], "smb|retail"): (2, 0)}, T0)
    with ledger.transaction() as tx:
        assert tx.rep_records("smb|retail") == {rep["R2"]: (2, 0)}


def test_routing_reps_carry_loads_kept_by_grant_and_end(ledger: Any) -> None:
    acc, rep = _market(ledger)
    with ledger.transaction() as tx:
        a = tx.grant_lease(acc["A0"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.grant_lease(acc["A1"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.end_lease(a.id, a.version, LeaseState.RELEASED, T0, "early")
        tx.replace_rep_records({(rep["R2"], "smb|retail"): (3, 1)}, T0)
    with ledger.transaction() as tx:
        found = {
            x.rep.external_id: (x.active_leases, x.wins, x.losses)
            for x in tx.routing_reps("smb|retail")
        }
        assert found == {"R1": (1, 0, 0), "R2": (0, 3, 1)}
        assert tx.rebuild_rep_loads() == 1
        assert {x.rep.id: x.active_leases for x in tx.routing_reps("x")} == {
            rep["R1"]: 1,
            rep["R2"]: 0,
        }
