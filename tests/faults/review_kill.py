"""One fault trial: `dtem review` and a rebalance killed with SIGKILL on a busy ledger.

The ledger holds `leases` leases granted a sprint and more ago (the review revokes and
re-routes each) and `triggers` hot unleased accounts with a crossing to route. A real
`dtem review` is killed -9 once a random number of its transactions committed, then
rerun to the end; a real `dtem review --rebalance --move-leases` is killed -9 at a
random moment of its run (timed against a `--dry-run` of the same rebalance), then rerun.
Afterwards no account has two active leases, every lease agrees with its last event,
and `dtem audit verify` passes.

Used by tests/integration/test_fault_review_kill.py and bench/faults.py.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

import sqlalchemy as sa

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.engine import make_engine
from dtem.bootstrap import build
from dtem.config import Settings
from dtem.domain.model import Account, Rep
from dtem.domain.score_records import ScoreEvent, ScoreRecord
from dtem.domain.store_market import LeaseFilter
from dtem.services import leases
from dtem.services.governance import active_policy, ensure_policy
from tests.faults.processes import DTEM, wait_until

INDUSTRIES = ("retail", "saas", "finance")


@dataclass
class ReviewTrial:
    seed: int
    leases_before: int = 0
    killed_review_at: int = 0  # audit entries the killed review had committed
    killed_rebalance_after_s: float = 0.0
    rebalance_finished_before_kill: bool = False
    active_leases: int = 0
    audit_entries: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def run_review_trial(db_url: str, seed: int, leases: int = 150, triggers: int = 150) -> ReviewTrial:
    started = time.monotonic()
    rng = random.Random(seed)
    trial = ReviewTrial(seed)
    day = datetime.now(UTC).date()
    trial.leases_before = _seed_market(db_url, day, leases, triggers, rng)
    engine = make_engine(db_url)
    try:
        trial.killed_review_at = _kill_review(db_url, engine, day, rng, leases + triggers)
        _dtem("review", "--date", day.isoformat(), "--json", db=db_url)
        trial.killed_rebalance_after_s, trial.rebalance_finished_before_kill = _kill_rebalance(
            db_url, engine, day, rng
        )
        _dtem("review", "--date", day.isoformat(), "--rebalance", "--move-leases", db=db_url)
        _check(trial, engine, db_url)
    finally:
        engine.dispose()
    trial.seconds = time.monotonic() - started
    return trial


def _dtem(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    cmd = [*DTEM, *args, "--db", db]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"dtem {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc


def _seed_market(db_url: str, day: date, n_leases: int, n_triggers: int, rng: random.Random) -> int:
    """Accounts, 20 reps, stale leases and fresh crossings; returns the active leases."""
    c = build(Settings(), db_url)
    ensure_policy(c.ledger, c.clock)
    review_at = datetime.combine(day, clock_time(0), tzinfo=UTC)
    long_ago = review_at - timedelta(days=45)
    n = n_leases + n_triggers + 50
    accounts = [
        Account(f"A{i}", f"Account {i}", industry=rng.choice(INDUSTRIES),
                employees=rng.choice([20, 200, 2000]), potential_value=rng.uniform(1e4, 1e5))
        for i in range(n)
    ]  # fmt: skip
    with c.ledger.transaction() as tx:
        tx.insert_accounts(accounts, long_ago)
        tx.insert_reps([Rep(f"R{i}", f"Rep {i}", capacity=25) for i in range(20)], long_ago)
        ids = sorted(tx.all_account_ids().values())
        reps = [r.id for r in tx.all_reps() if r.id is not None]
        active = active_policy(tx)
        scores = [_score(a, rng.uniform(61, 95), long_ago, active.version) for a in ids]
        tx.append_scores(scores)
        for i, account_id in enumerate(ids[:n_leases]):
            leases.grant(tx, account_id, reps[i % len(reps)], long_ago, 70.0, active, "seed", "t")
        hot = ids[n_leases : n_leases + n_triggers]
        at = review_at - timedelta(hours=1)
        tx.append_score_events([ScoreEvent(a, at, "crossed_up", 75.0, active.version) for a in hot])
    c.engine.dispose()
    return n_leases


def _score(account_id: int, value: float, at: datetime, version: int) -> ScoreRecord:
    return ScoreRecord(account_id, at, value, value / 1000, 0.3, 150.0, 600.0, version, "batch")


def _audit_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.audit_log)).scalar_one())


def _kill_review(db_url: str, engine: sa.Engine, day: date, rng: random.Random, work: int) -> int:
    """Start `dtem review`; SIGKILL it after a random number of audited steps."""
    start = _audit_count(engine)
    target = start + rng.randrange(1, work)
    cmd = [*DTEM, "review", "--date", day.isoformat(), "--json", "--db", db_url]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _audit_count(engine) >= target or proc.poll() is not None, 120, 0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    return _audit_count(engine) - start


def _kill_rebalance(
    db_url: str, engine: sa.Engine, day: date, rng: random.Random
) -> tuple[float, bool]:
    """Time a dry run, then SIGKILL a real one at a random share of that time."""
    began = time.monotonic()
    _dtem("rebalance", "--move-leases", "--dry-run", db=db_url)
    delay = rng.uniform(0.2, 1.0) * (time.monotonic() - began)
    cmd = [*DTEM, "review", "--date", day.isoformat(), "--rebalance", "--move-leases",
           "--json", "--db", db_url]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        finished = wait_until(lambda: proc.poll() is not None, delay, 0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    return delay, finished


def _check(trial: ReviewTrial, engine: sa.Engine, db_url: str) -> None:
    le = t.leases
    with engine.connect() as conn:
        doubles = conn.execute(
            sa.select(le.c.account_id).where(le.c.ended_at.is_(None))
            .group_by(le.c.account_id).having(sa.func.count() > 1)
        ).all()  # fmt: skip
        trial.active_leases = int(
            conn.execute(sa.select(sa.func.count()).where(le.c.ended_at.is_(None))).scalar_one()
        )
    if doubles:
        trial.problems.append(f"{len(doubles)} account(s) with two active leases")
    trial.problems += _leases_disagreeing_with_events(db_url)
    verify = subprocess.run(
        [*DTEM, "audit", "verify", "--json", "--db", db_url],
        capture_output=True,
        text=True,
        check=False,
    )
    if verify.returncode != 0:
        trial.problems.append(f"audit verify: {verify.stderr.strip()}")
    trial.audit_entries = _audit_count(engine)


def _leases_disagreeing_with_events(db_url: str) -> list[str]:
    """Each lease's state is its last event's; an ended lease ended by that event."""
    c = build(Settings(), db_url, create=False)
    problems: list[str] = []
    with c.ledger.transaction() as tx:
        for lease in tx.find_leases(LeaseFilter(limit=1_000_000)):
            kinds = [e.kind for e in tx.lease_events(lease.id)]
            if not kinds or kinds[0] != "granted":
                problems.append(f"lease {lease.id}: history starts with {kinds[:1]}")
            elif lease.ended_at is not None and kinds[-1] != lease.state.value:
                problems.append(f"lease {lease.id}: {lease.state.value} but last event {kinds[-1]}")
    c.engine.dispose()
    return problems
