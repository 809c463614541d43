"""Admins storing policy versions at once on PostgreSQL, each in its own process: every
store gets its own version number, none fails (the `max + 1` read is serialised)."""

from __future__ import annotations

import pytest

from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.services import governance
from tests.conftest import T0, sql_ledger
from tests.processes import race

WRITERS = 5
STORES = 6


def _admin(ledger: SqlLedger, name: str) -> list[int]:
    return [
        governance.store_policy(
            ledger, {"threshold": 50.0 + i}, FixedClock(T0), name, f"{name} {i}"
        )
        for i in range(STORES)
    ]


@pytest.mark.postgres
def test_concurrent_stores_get_distinct_versions(pg_url: str) -> None:
    ledger = sql_ledger(pg_url)
    governance.ensure_policy(ledger, FixedClock(T0))  # version 1
    results = race(pg_url, _admin, [f"admin-{i}" for i in range(WRITERS)])
    versions = sorted(v for r in results.values() for v in r)
    assert versions == list(range(2, 2 + WRITERS * STORES))
    with ledger.transaction() as tx:
        stored = tx.policy_versions()
    assert [p.version for p in stored] == list(range(1, 2 + WRITERS * STORES))
    ledger.engine.dispose()
