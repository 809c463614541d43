"""Versioned leases under real threads: the review against a stage advance, two releases.

A transition writes only at the lease version it read. Two kinds of trial:
- free races: two threads released together by a barrier, many trials, any interleaving;
- forced interleavings (PostgreSQL): a third connection holds a table lock that the
  first writer reads *after* it read the lease, so the second writer commits in between.
Whatever the order, an advanced lease is never revoked for "no advance", and of two
releases exactly one succeeds.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.errors import LeaseConflict, LeaseTransitionInvalid, LeaseVersionConflict
from dtem.domain.model import Account, Opportunity, Rep
from dtem.services import leases
from dtem.services.governance import active_policy
from dtem.services.review import ReviewReport, run_review
from dtem.services.stages import change_stage
from tests.conftest import T0, sql_ledger
from tests.e2e.conftest import DTEM, free_port, run_dtem
from tests.market_seed import put_score, seed

REVIEW_DAY = date(2027, 2, 4)  # review time 06:00; a lease granted at T0 expired on 02-03
ADVANCE_AT = datetime(2027, 2, 3, 12, tzinfo=T0.tzinfo)  # after expiry, before the review
RACE_TRIALS = 40
FORCED_TRIALS = 8


@dataclass
class Market:
    ledger: SqlLedger
    rep: dict[str, int]
    account: dict[str, int]


@pytest.fixture(params=["sqlite", "postgres"])
def market(request: pytest.FixtureRequest) -> Iterator[Market]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    yield _market(url, RACE_TRIALS)


@pytest.fixture
def pg_market(pg_url: str) -> Iterator[Market]:
    yield _market(pg_url, FORCED_TRIALS)


def _market(url: str, n: int) -> Market:
    ledger = sql_ledger(url)
    accounts = [Account(f"A{i}", f"Account {i}", employees=50, industry="retail") for i in range(n)]
    acc, rep = seed(ledger, FixedClock(T0), accounts, [Rep("R1", "Rita"), Rep("R2", "Raj")])
    for account_id in acc.values():
        put_score(ledger, account_id, 80.0, T0 - timedelta(hours=1))  # above the threshold
    with ledger.transaction() as tx:
        opps = [Opportunity(f"O{i}", f"A{i}", "prospecting") for i in range(n)]
        tx.insert_opportunities(opps, T0)
    return Market(ledger, rep, acc)


def _lease(m: Market, i: int) -> int:
    """A fresh lease on account i held by R1, granted at T0 (due at the review)."""
    with m.ledger.transaction() as tx:
        active = active_policy(tx)
        return leases.grant(tx, m.account[f"A{i}"], m.rep["R1"], T0, 80.0, active, "t", "t").id


def _history(m: Market, lease_id: int) -> list[str]:
    with m.ledger.transaction() as tx:
        return [e.kind for e in tx.lease_events(lease_id)]


def _opportunity_stage(m: Market, i: int) -> str:
    with m.ledger.transaction() as tx:
        return tx.opportunities_by_external_id([f"O{i}"])[f"O{i}"].stage


def _review(m: Market) -> ReviewReport:
    return run_review(m.ledger, FixedClock(T0), on=REVIEW_DAY)


def _advance(m: Market, i: int) -> str:
    """Move opportunity i to discovery: "advanced", or "stale" when the lease moved first."""
    try:
        change_stage(m.ledger, FixedClock(ADVANCE_AT), f"O{i}", "discovery", actor="crm")
    except LeaseVersionConflict:
        return "stale"
    return "advanced"


def _together(*calls: Callable[[], object], jitter: float = 0.0) -> list[object]:
    """Run calls on their own threads, started by one barrier; return results or errors."""
    barrier = threading.Barrier(len(calls))
    out: list[object] = [None] * len(calls)

    def run(k: int) -> None:
        barrier.wait()
        if k and jitter:
            time.sleep(random.uniform(0, jitter))
        try:
            out[k] = calls[k]()
        except Exception as exc:  # the caller asserts on it
            out[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    return out


def _check_review_trial(m: Market, i: int, lease_id: int, advance: object) -> str:
    """The invariant of one trial; returns which writer came first."""
    history = _history(m, lease_id)
    assert history in (["granted", "advanced"], ["granted", "revoked"]), history
    if history == ["granted", "advanced"]:
        assert advance == "advanced" and _opportunity_stage(m, i) == "discovery"
        return "advance first"
    # revoked: the advance lost (and its stage change rolled back) or came after the lease
    assert advance in ("stale", "advanced"), advance
    if advance == "stale":
        assert _opportunity_stage(m, i) == "prospecting"
    return "revoke first"


def test_review_racing_a_stage_advance_never_revokes_an_advanced_lease(market: Market) -> None:
    started = time.perf_counter()
    _review(market)  # nothing due yet: how long a review takes before it reaches a lease
    window = time.perf_counter() - started
    tally: Counter[str] = Counter()
    for i in range(RACE_TRIALS):
        lease_id = _lease(market, i)
        report, advance = _together(
            lambda: _review(market), lambda i=i: _advance(market, i), jitter=window
        )
        assert isinstance(report, ReviewReport), report
        tally[_check_review_trial(market, i, lease_id, advance)] += 1
        tally["review retried"] += report.conflicts_retried
        tally["advance stale"] += advance == "stale"
    print(f"\n{RACE_TRIALS} trials: {dict(tally)}")
    assert tally["advance first"] + tally["revoke first"] == RACE_TRIALS


def test_two_releases_of_one_lease_one_wins_the_other_conflicts(market: Market) -> None:
    tally: Counter[str] = Counter()
    for i in range(RACE_TRIALS):
        lease_id = _lease(market, i)
        results = _together(*[lambda k=k, x=lease_id: _release(market, x, k) for k in range(2)])
        wins = [r for r in results if r == "released"]
        losses = [r for r in results if isinstance(r, LeaseConflict | LeaseTransitionInvalid)]
        assert len(wins) == 1 and len(losses) == 1, results
        tally[type(losses[0]).__name__] += 1
        assert _history(market, lease_id) == ["granted", "released"]
    print(f"\n{RACE_TRIALS} trials, the loser got: {dict(tally)}")


def _release(m: Market, lease_id: int, k: int) -> str:
    leases.release_lease(m.ledger, FixedClock(T0), lease_id, f"rep:{k}", "pto", as_rep="R1")
    return "released"


# --- forced interleavings (PostgreSQL) ---------------------------------------------------
class TableGate:
    """Holds `LOCK TABLE name` in a transaction of its own until `open()`."""

    def __init__(self, ledger: SqlLedger, table: str) -> None:
        self.conn = ledger.engine.connect()
        self.table = table
        self.tx = self.conn.begin()
        self.conn.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))

    def wait_for(self, waiters: int) -> None:
        """Until `waiters` other transactions are blocked on the table."""
        q = sa.text(
            "SELECT count(*) FROM pg_locks WHERE relation = CAST(:t AS regclass) AND NOT granted"
        )
        deadline = time.monotonic() + 30
        while self.conn.execute(q, {"t": self.table}).scalar_one() < waiters:
            assert time.monotonic() < deadline, f"nobody blocked on {self.table}"
            time.sleep(0.005)

    def open(self) -> None:
        self.tx.commit()
        self.conn.close()


@pytest.mark.postgres
def test_an_advance_committed_after_the_review_read_the_lease_wins(pg_market: Market) -> None:
    """The review reads the lease, then (blocked on `scores`) an advance commits: its revoke
    is stale, so it reads the lease again, finds a new sprint, and leaves it."""
    m = pg_market
    for i in range(FORCED_TRIALS):
        lease_id = _lease(m, i)
        gate = TableGate(m.ledger, "scores")  # the review reads the score after the lease
        found: list[object] = []
        review = threading.Thread(target=lambda into=found: into.append(_review(m)))
        review.start()
        gate.wait_for(1)
        assert _advance(m, i) == "advanced"  # commits while the review holds version 1
        gate.open()
        review.join(timeout=60)
        (report,) = found
        assert isinstance(report, ReviewReport)
        assert (report.conflicts_retried, report.revoked, report.expired_to_pool) == (1, 0, 0)
        assert _history(m, lease_id) == ["granted", "advanced"]
        with m.ledger.transaction() as tx:
            assert tx.lease(lease_id).version == 2


@pytest.mark.postgres
def test_two_releases_that_read_the_same_version_one_gets_lease_conflict(
    pg_market: Market,
) -> None:
    """Both releases read version 1 (then block on `reps`, the owner check); the first write
    wins, the second matches no row at version 1: `LeaseVersionConflict`, not 404."""
    m = pg_market
    for i in range(FORCED_TRIALS):
        lease_id = _lease(m, i)
        gate = TableGate(m.ledger, "reps")
        results: list[object] = [None, None]

        def release(k: int, into: list[object] = results, x: int = lease_id) -> None:
            try:
                into[k] = _release(m, x, k)
            except LeaseConflict as exc:
                into[k] = exc

        threads = [threading.Thread(target=release, args=(k,)) for k in range(2)]
        for th in threads:
            th.start()
        gate.wait_for(2)
        gate.open()
        for th in threads:
            th.join(timeout=60)
        assert sorted(type(r).__name__ for r in results) == ["LeaseVersionConflict", "str"]
        assert _history(m, lease_id) == ["granted", "released"]


# --- over HTTP: `dtem serve` on PostgreSQL -------------------------------------------
HTTP_TRIALS = 10


@pytest.fixture
def pg_api(pg_url: str) -> Iterator[tuple[str, Market]]:
    """`dtem serve` on a free port over the test's PostgreSQL schema, and the market."""
    m = _market(pg_url, HTTP_TRIALS + 1)
    port = free_port()
    proc = subprocess.Popen(
        [*DTEM, "serve", "--db", pg_url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not _healthy(base):
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        yield base, m
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.postgres
def test_two_releases_over_http_one_200_one_409(pg_api: tuple[str, Market]) -> None:
    base, m = pg_api
    token = json.loads(
        run_dtem(
            "token", "create", "--role", "rep", "--subject", "R1", "--json",
            db=m.ledger.engine.url.render_as_string(hide_password=False), check=True,
        ).stdout
    )["token"]  # fmt: skip
    owner = {"Authorization": f"Bearer {token}"}
    tally: Counter[str] = Counter()
    for i in range(HTTP_TRIALS + 1):
        lease_id = _lease(m, i)
        gate = TableGate(m.ledger, "reps") if i == HTTP_TRIALS else None  # last: forced

        def post(url: str = f"{base}/leases/{lease_id}/release") -> httpx.Response:
            return httpx.post(url, json={"reason": "pto"}, headers=owner, timeout=60)

        if gate is None:
            results = _together(post, post)
        else:
            with ThreadPoolExecutor(2) as pool:
                futures = [pool.submit(post) for _ in range(2)]
                gate.wait_for(2)
                gate.open()
                results = [f.result() for f in futures]
        codes = sorted(r.status_code for r in results if isinstance(r, httpx.Response))
        assert codes == [200, 409], results
        (lost,) = [r.json()["error"] for r in results if isinstance(r, httpx.Response)
                   and r.status_code == 409]  # fmt: skip
        tally["forced: " + lost if gate else lost] += 1
        assert _history(m, lease_id) == ["granted", "released"]
    assert tally["forced: LeaseVersionConflict"] == 1
    print(f"\n{HTTP_TRIALS} free + 1 forced HTTP trials, the 409 was: {dict(tally)}")


@pytest.mark.postgres
def test_two_release_commands_at_once_one_exits_0_the_other_5(pg_url: str) -> None:
    """`dtem lease release` in two processes on one lease: exit codes 0 and 5."""
    m = _market(pg_url, 3)
    for i in range(3):
        lease_id = _lease(m, i)
        cmd = [*DTEM, "lease", "release", str(lease_id), "--reason", "pto", "--db", pg_url]
        procs = [
            subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outs = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
        assert sorted(code for code, _ in outs) == [0, 5], outs
        (loser,) = [err for code, err in outs if code == 5]
        assert "Traceback" not in loser and ("changed meanwhile" in loser or "not active" in loser)
        assert _history(m, lease_id) == ["granted", "released"]
