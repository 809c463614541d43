"""Rebalances running at once on PostgreSQL, each in its own process, grant in bulk: the
one-active-lease index still decides — no account ends with two active leases, no rep
holds more than its capacity, and the audit chain verifies; a loser rolls back whole."""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.services.audit import verify_audit
from dtem.services.rebalance import rebalance
from tests.conftest import T0, sql_ledger
from tests.optim_seed import score, seed

WRITERS = 4
ACCOUNTS = 120
CAPACITY = 25  # 6 reps: 150 seats for 120 hot accounts


def _rebalancer(url: str, gate: Barrier, out: Queue[str]) -> None:
    ledger = SqlLedger(make_engine(url, pool_size=1))
    try:
        gate.wait(120)
        report = rebalance(ledger, FixedClock(T0), actor="rebalance")
        out.put(f"granted {report.granted}")
    except Exception as exc:  # reported to the test process
        out.put(type(exc).__name__)
    finally:
        ledger.engine.dispose()


@pytest.mark.postgres
def test_concurrent_bulk_rebalances_never_double_lease_or_overfill(pg_url: str) -> None:
    ledger = sql_ledger(pg_url)
    accounts = [
        Account(f"A{i}", f"Acc {i}", employees=50, industry="retail") for i in range(ACCOUNTS)
    ]
    reps = [Rep(f"R{i}", f"Rep {i}", capacity=CAPACITY) for i in range(6)]
    acc, _ = seed(ledger, FixedClock(T0), accounts, reps)
    for i, account_id in enumerate(acc.values()):
        score(ledger, account_id, 70.0 + i % 30, T0, p=0.1 + (i % 7) / 10)
    ctx = mp.get_context("spawn")
    gate, out = ctx.Barrier(WRITERS), ctx.Queue()
    procs = [ctx.Process(target=_rebalancer, args=(pg_url, gate, out)) for _ in range(WRITERS)]
    for p in procs:
        p.start()
    outcomes = Counter(out.get(timeout=300) for _ in procs)
    for p in procs:
        p.join(60)
    assert set(outcomes) <= {f"granted {ACCOUNTS}", "granted 0", "LeaseConflict", "WriteConflict"}
    assert outcomes[f"granted {ACCOUNTS}"] == 1  # the first commit took every account
    with ledger.transaction() as tx:
        active = tx.active_leases()
        loads = Counter(x.rep_id for x in active)
    assert len(active) == ACCOUNTS == len({x.account_id for x in active})
    assert max(loads.values()) <= CAPACITY
    assert verify_audit(ledger) > ACCOUNTS
    ledger.engine.dispose()
