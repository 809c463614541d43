"""Closing a comp period while lines are written into it, in separate processes on
PostgreSQL: a close waits for a line being written (and counts it), a line written after
a close moves to the next open period, and no line ever lands in a closed period."""

from __future__ import annotations

import multiprocessing as mp
import time
from datetime import date
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

import pytest

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Opportunity, Rep
from dtem.domain.store_comp import LineFilter
from dtem.services import leases
from dtem.services.comp.commissions import DealChange, settle
from dtem.services.comp.statements import close_period
from dtem.services.governance import active_policy
from tests.conftest import T0, sql_ledger
from tests.market_seed import seed

PERIOD, NEXT = "2027-01", "2027-02"
SPAWN = mp.get_context("spawn")  # a fresh interpreter: no engine inherited from the parent


def _seed_deals(url: str, n: int) -> dict[str, int]:
    """n leased accounts, each with an open opportunity; returns key -> account id."""
    ledger = sql_ledger(url)
    keys = [f"A{i:03d}" for i in range(n)]
    acc, rep = seed(ledger, FixedClock(T0), [Account(k, k) for k in keys], [Rep("R1", "Rita")])
    with ledger.transaction() as tx:
        tx.insert_opportunities([Opportunity(f"O-{k}", k, "proposal", 1000.0) for k in keys], T0)
        active = active_policy(tx)
        for k in keys:
            leases.grant(tx, acc[k], rep["R1"], T0, 80.0, active, "test", "test")
    ledger.engine.dispose()
    return acc


def _win(key: str) -> Opportunity:
    return Opportunity(f"O-{key}", key, "closed_won", 1000.0, date(2027, 1, 4))


def _write_and_hold(url: str, key: str, account_id: int, written: Event, hold: float) -> None:
    """Write a deal's line, say so, and keep the transaction open `hold` seconds."""
    ledger = SqlLedger(make_engine(url, pool_size=1))
    with ledger.transaction() as tx:
        settle(tx, [DealChange(_win(key), "proposal", account_id)], T0, "writer")
        written.set()
        time.sleep(hold)
    ledger.engine.dispose()


def _close(url: str, ready: Event | None, out: Queue[tuple[int, float]]) -> None:
    """Close the period (after `ready`); report how many lines it locked and how long."""
    ledger = SqlLedger(make_engine(url, pool_size=1))
    if ready is not None:
        ready.wait(60)
    start = time.monotonic()
    closed = close_period(ledger, FixedClock(T0), PERIOD, "closer")
    out.put((closed.lines, time.monotonic() - start))
    ledger.engine.dispose()


def _close_and_hold(url: str, closed: Event, hold: float) -> None:
    ledger = SqlLedger(make_engine(url, pool_size=1))
    with ledger.transaction() as tx:
        tx.close_comp_period(PERIOD, T0, "closer")
        closed.set()
        time.sleep(hold)
    ledger.engine.dispose()


def _write_after(url: str, key: str, account_id: int, closed: Event, out: Queue[str]) -> None:
    """Once the close is written (not yet committed), settle a win of the closed period."""
    ledger = SqlLedger(make_engine(url, pool_size=1))
    closed.wait(60)
    with ledger.transaction() as tx:
        lines = settle(tx, [DealChange(_win(key), "proposal", account_id)], T0, "writer")
    out.put(f"{lines[0].period} {lines[0].reason}")
    ledger.engine.dispose()


def _write_many(url: str, deals: list[tuple[str, int]]) -> None:
    ledger = SqlLedger(make_engine(url, pool_size=1))
    for key, account_id in deals:
        with ledger.transaction() as tx:
            settle(tx, [DealChange(_win(key), "proposal", account_id)], T0, "writer")
    ledger.engine.dispose()


def _lines(url: str) -> dict[str, list[str]]:
    ledger = SqlLedger(make_engine(url))
    with ledger.transaction() as tx:
        lines = tx.commission_lines(LineFilter())
    ledger.engine.dispose()
    out: dict[str, list[str]] = {}
    for x in lines:
        out.setdefault(x.period, []).append(x.reason)
    return out


@pytest.mark.postgres
def test_a_close_waits_for_a_line_being_written_and_counts_it(pg_url: str) -> None:
    acc = _seed_deals(pg_url, 1)
    written, out = SPAWN.Event(), SPAWN.Queue()
    writer = SPAWN.Process(target=_write_and_hold, args=(pg_url, "A000", acc["A000"], written, 1.5))
    closer = SPAWN.Process(target=_close, args=(pg_url, written, out))
    writer.start(), closer.start()
    lines, waited = out.get(timeout=120)
    writer.join(60), closer.join(60)
    assert (writer.exitcode, closer.exitcode) == (0, 0)
    assert lines == 1 and waited > 0.5  # it waited for the writer's commit, then counted it
    assert list(_lines(pg_url)) == [PERIOD]


@pytest.mark.postgres
def test_a_line_racing_a_close_moves_to_the_next_open_period(pg_url: str) -> None:
    acc = _seed_deals(pg_url, 1)
    closed, out = SPAWN.Event(), SPAWN.Queue()
    closer = SPAWN.Process(target=_close_and_hold, args=(pg_url, closed, 1.5))
    writer = SPAWN.Process(target=_write_after, args=(pg_url, "A000", acc["A000"], closed, out))
    closer.start(), writer.start()
    posted = out.get(timeout=120)
    closer.join(60), writer.join(60)
    assert (writer.exitcode, closer.exitcode) == (0, 0)
    # the writer read the closed periods before the close committed, then was refused
    assert posted == f"{NEXT} won (closed_won); {PERIOD} is closed: posted in {NEXT}"
    assert _lines(pg_url) == {NEXT: [posted.split(" ", 1)[1]]}


@pytest.mark.postgres
def test_no_line_lands_in_a_period_after_it_closed(pg_url: str) -> None:
    deals = sorted(_seed_deals(pg_url, 120).items())
    out: Queue[tuple[int, float]] = SPAWN.Queue()
    writers = [SPAWN.Process(target=_write_many, args=(pg_url, deals[i::4])) for i in range(4)]
    for w in writers:
        w.start()
    _wait_for_lines(pg_url, 10)
    closer = SPAWN.Process(target=_close, args=(pg_url, None, out))
    closer.start()
    locked, _ = out.get(timeout=120)
    for p in [*writers, closer]:
        p.join(120)
        assert p.exitcode == 0
    by_period = _lines(pg_url)
    assert len(by_period[PERIOD]) == locked  # what the close locked is all the period has
    assert sum(map(len, by_period.values())) == len(deals)  # every win paid once
    moved = by_period.get(NEXT, [])
    assert all(r.endswith(f"{PERIOD} is closed: posted in {NEXT}") for r in moved)
    assert locked >= 10 and locked + len(moved) == len(deals)


def _wait_for_lines(url: str, n: int) -> None:
    deadline = time.monotonic() + 120
    while sum(map(len, _lines(url).values())) < n:
        assert time.monotonic() < deadline, "writers wrote nothing"
        time.sleep(0.02)
