"""Concurrent routers on PostgreSQL: the database keeps one active lease per account."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.errors import LeaseConflict
from dtem.domain.model import Account, LeaseState, Rep
from tests.conftest import T0, sql_ledger

WORKERS = 8
ACCOUNTS = 100
ROUNDS = 3


def _seed(ledger: SqlLedger) -> tuple[list[int], list[int]]:
    with ledger.transaction() as tx:
        tx.insert_accounts([Account(f"A{i}", f"Account {i}") for i in range(ACCOUNTS)], T0)
        tx.insert_reps([Rep(f"R{i}", f"Rep {i}") for i in range(WORKERS)], T0)
        accounts = sorted(tx.all_account_ids().values())
        reps = [r.id for r in tx.all_reps() if r.id is not None]
    return accounts, reps


def _race(url: str, account_ids: list[int], rep_id: int, seed: int, tally: Counter[str]) -> None:
    ledger = SqlLedger(make_engine(url, pool_size=1))  # its own connection
    order = account_ids[:]
    random.Random(seed).shuffle(order)
    for account_id in order:
        try:
            with ledger.transaction() as tx:
                tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "race")
                tx.append_audit(f"rep:{rep_id}", "lease.grant", {"account": account_id}, T0)
            tally["won"] += 1
        except LeaseConflict:
            tally["conflict"] += 1
    ledger.engine.dispose()


@pytest.mark.postgres
def test_concurrent_grants_never_double_lease_and_losers_get_lease_conflict(pg_url: str) -> None:
    ledger = sql_ledger(pg_url)
    accounts, reps = _seed(ledger)
    for round_no in range(ROUNDS):
        tally: Counter[str] = Counter()
        threads = [
            threading.Thread(
                target=_race, args=(pg_url, accounts, reps[w], round_no * 100 + w, tally)
            )
            for w in range(WORKERS)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert tally["won"] == ACCOUNTS
        assert tally["conflict"] == ACCOUNTS * (WORKERS - 1)
        with ledger.engine.connect() as conn:
            doubles = conn.execute(
                sa.select(t.leases.c.account_id)
                .where(t.leases.c.ended_at.is_(None))
                .group_by(t.leases.c.account_id)
                .having(sa.func.count() > 1)
            ).all()
        assert doubles == []
        with ledger.transaction() as tx:
            assert tx.count("audit_log") == ACCOUNTS * (round_no + 1)
            for lease in tx.active_leases():
                tx.end_lease(lease.id, lease.version, LeaseState.RELEASED, T0, "next round")
    with ledger.transaction() as tx:
        assert tx.count("leases") == ACCOUNTS * ROUNDS
