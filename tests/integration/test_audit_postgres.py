"""Concurrent audit appends on PostgreSQL: the head row lock keeps one gap-free chain."""

from __future__ import annotations

import threading

import pytest

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.services.audit import verify_audit
from tests.conftest import T0, sql_ledger

WRITERS = 6
APPENDS = 30


def _writer(url: str, who: int, errors: list[BaseException]) -> None:
    ledger = SqlLedger(make_engine(url, pool_size=1))  # its own connection
    try:
        for i in range(APPENDS):
            with ledger.transaction() as tx:
                tx.append_audit(f"writer:{who}", "test.append", {"i": i}, T0)
    except BaseException as exc:  # reported to the test thread, which fails on it
        errors.append(exc)
    finally:
        ledger.engine.dispose()


@pytest.mark.postgres
def test_concurrent_appends_keep_one_gap_free_chain_and_head(pg_url: str) -> None:
    ledger = sql_ledger(pg_url)
    with ledger.transaction() as tx:  # the very first append races too: start from nothing
        assert tx.audit_head() is None
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_writer, args=(pg_url, w, errors)) for w in range(WRITERS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert verify_audit(ledger) == WRITERS * APPENDS
    with ledger.transaction() as tx:
        actors = [e.actor for e in tx.audit_entries()]
    assert {a: actors.count(a) for a in set(actors)} == {
        f"writer:{w}": APPENDS for w in range(WRITERS)
    }
    ledger.engine.dispose()
