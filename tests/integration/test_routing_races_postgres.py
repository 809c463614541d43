"""Eight routers with their own connections route the same hot accounts on PostgreSQL:
each account ends with exactly one active lease, losers see the lease and say so, and no
rep goes over capacity."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.services import routing
from tests.conftest import T0, sql_ledger
from tests.market_seed import put_score, seed

WORKERS = 8
ACCOUNTS = 20


def _router(
    url: str, accounts: list[str], tally: Counter[str], errors: list[BaseException]
) -> None:
    ledger = SqlLedger(make_engine(url, pool_size=1))
    clock = FixedClock(T0 + timedelta(hours=1))
    try:
        for key in accounts:
            tally[routing.route(ledger, clock, key, "crossed_up").outcome] += 1
    except Exception as exc:  # surfaced by the main thread
        errors.append(exc)
    finally:
        ledger.engine.dispose()


@pytest.mark.postgres
def test_concurrent_routers_never_double_lease_and_losers_see_already_leased(
    pg_url: str,
) -> None:
    ledger = sql_ledger(pg_url)
    keys = [f"HOT-{i}" for i in range(ACCOUNTS)]
    accounts = [Account(k, k, employees=50, industry="retail") for k in keys]
    reps = [Rep(f"R{i}", f"Rep {i}", capacity=4) for i in range(6)]  # 24 seats for 20
    acc, _ = seed(ledger, FixedClock(T0), accounts, reps)
    for account_id in acc.values():
        put_score(ledger, account_id, 80.0, T0)
    tally: Counter[str] = Counter()
    errors: list[Exception] = []
    threads = [
        threading.Thread(target=_router, args=(pg_url, keys[w:] + keys[:w], tally, errors))
        for w in range(WORKERS)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert tally == Counter({"leased": ACCOUNTS, "already_leased": ACCOUNTS * (WORKERS - 1)})
    with ledger.transaction() as tx:
        active = tx.active_leases()
        assert len(active) == ACCOUNTS == len({x.account_id for x in active})
        assert max(tx.active_lease_counts().values()) <= 4
        assert tx.count("routing_decisions") == ACCOUNTS * WORKERS
    ledger.engine.dispose()
