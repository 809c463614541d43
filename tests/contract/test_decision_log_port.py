"""DecisionLogPort: routing decisions and overflow on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.domain.store_market import RoutingRecord
from tests.conftest import T0
from tests.market_seed import seed

DAY = timedelta(days=1)


def _market(ledger: Any) -> dict[str, int]:
    accounts = [Account(f"A{i}", f"Acc {i}", employees=50, industry="Retail") for i in range(3)]
    acc, _ = seed(ledger, FixedClock(T0), accounts, [Rep("R1", "Rita"), Rep("R2", "Raj")])
    return acc


def test_decisions_and_overflow_round_trip(ledger: Any) -> None:
    acc = _market(ledger)
    record = RoutingRecord(
        acc["A0"], T0, "manual", 1, "overflow", None, None, [], {"R1": "on_leave"}
    )
    with ledger.transaction() as tx:
        tx.add_routing_decision(record)
        entry_id = tx.add_overflow(acc["A0"], T0, "no eligible rep")
    with ledger.transaction() as tx:
        (stored,) = tx.routing_decisions(acc["A0"])
        assert stored.exclusions == {"R1": "on_leave"} and stored.at == T0
        assert tx.open_overflow(acc["A0"]) is not None
        assert [e.id for e in tx.overflow_entries(queued_before=T0)] == []
        tx.resolve_overflow(entry_id, T0 + DAY, "leased")
        assert tx.open_overflow(acc["A0"]) is None


def test_overflow_entries_open_and_resolved(ledger: Any) -> None:
    acc = _market(ledger)
    with ledger.transaction() as tx:
        first = tx.add_overflow(acc["A0"], T0, "no eligible rep")
        second = tx.add_overflow(acc["A1"], T0 + DAY, "all at capacity")
        tx.resolve_overflow(first, T0 + 2 * DAY, "leased")
    with ledger.transaction() as tx:
        assert [e.id for e in tx.overflow_entries()] == [second]
        assert [e.id for e in tx.overflow_entries(queued_before=T0 + 2 * DAY)] == [second]
        everything = {e.id: e for e in tx.overflow_entries(open_only=False)}
    assert set(everything) == {first, second}
    assert everything[first].resolution == "leased"
    assert everything[first].resolved_at == T0 + 2 * DAY
    assert everything[second].reason == "all at capacity"
