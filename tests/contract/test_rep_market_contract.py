"""The routing roster (`rep_market`) reads the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from dtem.domain.bidding import quarter_of
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, LeaseState, Rep
from dtem.domain.store_market import MarketQuery
from tests.conftest import T0
from tests.market_seed import seed

DAY = timedelta(days=1)
REPS = [
    Rep("R1", "Rita", segments=("smb|*",), languages=("German",), capacity=4),
    Rep("R2", "Raj", active=False, capacity=3),
    Rep("R3", "Rui"),
]


def _query(account_id: int, at: Any = T0 + 2 * DAY) -> MarketQuery:
    return MarketQuery(account_id, "smb|retail", quarter_of(at.date()), at, at - 14 * DAY)


def _seeded(ledger: Any) -> tuple[dict[str, int], dict[str, int]]:
    accounts = [Account(f"A{i}", f"Acc {i}", employees=50, industry="Retail") for i in range(3)]
    acc, rep = seed(ledger, FixedClock(T0), accounts, REPS)
    with ledger.transaction() as tx:
        tx.grant_lease(acc["A1"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.grant_lease(acc["A2"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        cooled = tx.grant_lease(acc["A0"], rep["R3"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.end_lease(cooled.id, cooled.version, LeaseState.REVOKED, T0 + DAY, "no advance")
        tx.add_unavailability(rep["R2"], T0, T0 + 5 * DAY, "PTO")
        tx.replace_rep_records({(rep["R3"], "smb|retail"): (2, 1)}, T0)
        tx.put_capacity_bid(rep["R1"], quarter_of(T0.date()), 5, T0)
        tx.record_capacity_award(rep["R1"], quarter_of(T0.date()), 5, "bid", T0)
    return acc, rep


def test_rep_market_carries_rules_loads_records_leave_cooldown_and_awards(ledger: Any) -> None:
    acc, rep = _seeded(ledger)
    with ledger.transaction() as tx:
        roster, load = tx.rep_market(_query(acc["A0"]))
    assert roster.ids.tolist() == sorted(rep.values())
    assert roster.external_ids == ("R1", "R2", "R3")
    assert roster.active.tolist() == [True, False, True]
    assert roster.capacity.tolist() == [4, 3, 25]
    assert roster.segments[0] == ("smb|*",) and roster.languages[0] == ("German",)
    assert load.active_leases.tolist() == [2, 0, 0]
    assert (load.wins.tolist(), load.losses.tolist()) == ([0, 0, 2], [0, 0, 1])
    assert load.on_leave.tolist() == [False, True, False]
    assert load.cooling.tolist() == [False, False, True]
    assert load.awarded.tolist() == [5, -1, -1]


def test_rep_market_sees_a_changed_rep_and_time_passing(ledger: Any) -> None:
    acc, rep = _seeded(ledger)
    with ledger.transaction() as tx:
        tx.rep_market(_query(acc["A0"]))  # warms any cache
        tx.update_reps([replace(REPS[1], active=True, id=rep["R2"])], T0)
    later = T0 + 20 * DAY  # leave over, cooldown over
    with ledger.transaction() as tx:
        roster, load = tx.rep_market(_query(acc["A0"], later))
        _, other = tx.rep_market(_query(acc["A1"]))
    assert roster.active.tolist() == [True, True, True]
    assert load.on_leave.tolist() == [False, False, False]
    assert load.cooling.tolist() == [False, False, False]
    assert other.cooling.tolist() == [False, False, False]
