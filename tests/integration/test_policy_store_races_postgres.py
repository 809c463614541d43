"""Admins storing policy versions at once on PostgreSQL, each in its own process: every
store gets its own version number, none fails (the `max + 1` read is serialised)."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.services import governance
from tests.conftest import T0, sql_ledger

WRITERS = 5
STORES = 6


def _admin(url: str, name: str, gate: Barrier, out: Queue[tuple[str, list[int] | str]]) -> None:
    ledger = SqlLedger(make_engine(url, pool_size=1))
    got: list[int] = []
    try:
        gate.wait(120)
        for i in range(STORES):
            doc = {"threshold": 50.0 + i}
            got.append(governance.store_policy(ledger, doc, FixedClock(T0), name, f"{name} {i}"))
        out.put((name, got))
    except Exception as exc:  # reported to the test process
        out.put((name, repr(exc)))
    finally:
        ledger.engine.dispose()


@pytest.mark.postgres
def test_concurrent_stores_get_distinct_versions(pg_url: str) -> None:
    ledger = sql_ledger(pg_url)
    governance.ensure_policy(ledger, FixedClock(T0))  # version 1
    ctx = mp.get_context("spawn")
    gate, out = ctx.Barrier(WRITERS), ctx.Queue()
    names = [f"admin-{i}" for i in range(WRITERS)]
    procs = [ctx.Process(target=_admin, args=(pg_url, n, gate, out)) for n in names]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=180) for _ in procs)
    for p in procs:
        p.join(60)
    assert {n: r for n, r in results.items() if isinstance(r, str)} == {}
    versions = sorted(v for r in results.values() if isinstance(r, list) for v in r)
    assert versions == list(range(2, 2 + WRITERS * STORES))
    with ledger.transaction() as tx:
        stored = tx.policy_versions()
    assert [p.version for p in stored] == list(range(1, 2 + WRITERS * STORES))
    ledger.engine.dispose()
