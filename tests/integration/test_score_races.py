"""Concurrent writers lose no score update (threads, processes, the HTTP API).

Every writer sends deliveries about the same few hot accounts, with signals of several
types at shuffled times. Afterwards each (account, type) state must equal the recompute
from the stored signals, each account's newest score must be the score of its full state
(routing saw the committed total), the batch engine must agree, and no writer or client
may have seen an error. PostgreSQL takes every writer at once; SQLite queues them.
"""

from __future__ import annotations

import math
import multiprocessing
import random
import subprocess
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dtem.adapters.batch.duckdb_engine import DuckDbScorer
from dtem.adapters.ledger.sql import SqlLedger
from dtem.bootstrap import build
from dtem.config import Settings
from dtem.domain.clock import FixedClock
from dtem.domain.errors import WriteConflict
from dtem.domain.model import Account, Rep
from dtem.domain.rescoring import StateScorer
from dtem.domain.scoring import epoch_seconds
from dtem.services import governance
from dtem.services.score_batch import run_batch
from dtem.services.scoring import current_economics
from dtem.services.signals import receive_calls, sources
from dtem.services.signals.messages import parse_call
from tests.e2e.conftest import DTEM, _wait_healthy, free_port
from tests.state_check import check_states

WRITERS = 4
DELIVERIES = 6
CALLS = 40
HOT = 5  # accounts every writer hits
EVENTS = ("Demo Requested", "Pricing Page Viewed", "Page Viewed", "Form Submitted")


def _seed(url: str) -> tuple[SqlLedger, str]:
    c = build(Settings(), url)
    governance.ensure_policy(c.ledger, c.clock)
    with c.ledger.transaction() as tx:
        tx.insert_accounts(
            [Account(f"H{i}", f"Hot {i}", domain=f"hot{i}.com") for i in range(HOT)], c.clock()
        )
        tx.insert_reps([Rep(f"R{i}", f"Rep {i}", capacity=2) for i in range(3)], c.clock())
    _, key = sources.create_source(c.ledger, c.clock, "races")
    return c.ledger, key


def _calls(writer: int, delivery: int) -> list[dict[str, Any]]:
    rng = random.Random(writer * 1000 + delivery)
    now = datetime.now(UTC)
    return [
        {
            "type": "track",
            "userId": f"u{rng.randrange(20)}",
            "event": rng.choice(EVENTS),
            "messageId": uuid.uuid4().hex,
            "timestamp": (now - timedelta(seconds=rng.uniform(60, 20 * 86_400))).isoformat(),
            "properties": {"domain": f"hot{rng.randrange(HOT)}.com", "value": rng.uniform(0.5, 3)},
        }
        for _ in range(CALLS)
    ]


def write(url: str, writer: int) -> int:
    """One writer: its deliveries through the service, each one unit of work."""
    c = build(Settings(), url, create=False)
    stored = 0
    try:
        for n in range(DELIVERIES):
            calls = [parse_call("track", body) for body in _calls(writer, n)]
            stored += receive_calls(c.ledger, c.clock, calls, c.pipeline, via="race").accepted
    finally:
        c.engine.dispose()
    return stored


def _assert_no_update_lost(ledger: SqlLedger) -> None:
    at = datetime.now(UTC)
    check = check_states(ledger, at)
    assert check.states == HOT * 4  # every hot account has all four types
    assert check.wrong == 0, f"{check.wrong} of {check.states} states wrong ({check})"
    with ledger.transaction() as tx:
        active = governance.active_policy(tx)
        eco = current_economics(tx)
        facts = {f.id: f for f in tx.scoring_accounts()}
        latest = tx.latest_scores()
        states = tx.account_states(list(facts))
    for acc, row in latest.items():  # the newest score saw every committed signal
        scorer = StateScorer(active.policy, eco, epoch_seconds(row.as_of))
        full = scorer.score(facts[acc].industry, facts[acc].employees, states[acc]).score
        assert math.isclose(row.score, full, rel_tol=1e-9), (acc, row.score, full)


def _assert_batch_agrees(ledger: SqlLedger) -> None:
    at = datetime.now(UTC)
    run_batch(ledger, DuckDbScorer(threads=1), FixedClock(at), as_of=at)
    with ledger.transaction() as tx:
        active = governance.active_policy(tx)
        eco = current_economics(tx)
        facts = {f.id: f for f in tx.scoring_accounts()}
        batch = tx.latest_scores()
        states = tx.account_states(list(facts))
    scorer = StateScorer(active.policy, eco, epoch_seconds(at))
    for acc, row in batch.items():
        assert row.method == "batch"
        mine = scorer.score(facts[acc].industry, facts[acc].employees, states[acc]).score
        assert math.isclose(row.score, mine, rel_tol=1e-9), (acc, row.score, mine)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_writer_threads_on_the_same_hot_accounts_lose_no_update(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    ledger, _ = _seed(url)
    failures: list[BaseException] = []
    stored: list[int] = []

    def run(writer: int) -> None:
        try:
            stored.append(write(url, writer))
        except BaseException as exc:  # any error reaching a writer fails the test
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert failures == [] and sum(stored) == WRITERS * DELIVERIES * CALLS
    _assert_no_update_lost(ledger)
    _assert_batch_agrees(ledger)
    ledger.engine.dispose()


def test_writer_processes_on_the_same_hot_accounts_lose_no_update(pg_url: str) -> None:
    ledger, _ = _seed(pg_url)
    with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
        stored = pool.starmap(write, [(pg_url, i) for i in range(WRITERS)], chunksize=1)
    assert sum(stored) == WRITERS * DELIVERIES * CALLS
    _assert_no_update_lost(ledger)
    ledger.engine.dispose()


def test_webhook_clients_on_one_server_get_no_error_and_lose_no_update(pg_url: str) -> None:
    ledger, key = _seed(pg_url)
    port = free_port()
    server = subprocess.Popen(
        [*DTEM, "serve", "--db", pg_url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    statuses: list[int] = []

    def client(writer: int) -> None:
        with httpx.Client(base_url=base, auth=(key, ""), timeout=120) as http:
            for n in range(DELIVERIES):
                got = http.post("/v1/batch", json={"batch": _calls(writer, n)})
                statuses.append(got.status_code)

    try:
        _wait_healthy(base, server)  # type: ignore[arg-type]
        threads = [threading.Thread(target=client, args=(i,)) for i in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert statuses == [200] * (WRITERS * DELIVERIES)
    _assert_no_update_lost(ledger)
    ledger.engine.dispose()


def test_a_deadlock_between_two_units_of_work_is_a_write_conflict(pg_url: str) -> None:
    ledger, _ = _seed(pg_url)
    with ledger.transaction() as tx:
        a, b = sorted(tx.all_account_ids().values())[:2]
    both_hold_one = threading.Barrier(2)
    outcomes: list[str] = []

    def lock(first: int, second: int) -> None:
        try:
            with ledger.transaction() as tx:
                tx.lock_account_states([first])
                both_hold_one.wait(timeout=30)
                tx.lock_account_states([second])  # each waits on the other: a cycle
        except WriteConflict:
            outcomes.append("conflict")
        else:
            outcomes.append("committed")

    threads = [threading.Thread(target=lock, args=pair) for pair in ((a, b), (b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["committed", "conflict"]
    ledger.engine.dispose()
