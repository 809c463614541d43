"""Latency of one real-time routing decision, with 500 reps and 100k active leases.

Seeds a ledger with bulk inserts (accounts, reps, 100k active leases, scores, rep records,
leave windows), then times `services.routing.route` on fresh hot accounts (each call
reads the facts, decides, grants, and writes the lease, its event, the audit entry and
the decision) against a baseline measured in the same run: the bare indexed SELECT of
the account's latest score row. Then one daily review (`dtem review`: recounts rep_records
and rep_loads over the 100k active leases) is timed. The machine is shared: the load
average is printed before and after, read it with the figures.

`--load N` runs N busy-loop processes meanwhile (the load average climbs towards N plus
the bench itself; it waits 30 s first so the 1-minute average has moved).

Usage:  .venv/bin/python bench/route.py [--pg postgresql://postgres@127.0.0.1:5432/test]
        [--n 300] [--leases 100000] [--reps 500] [--load 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from busy_load import busy
from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.services import review, routing
from dtem.services.governance import ensure_policy

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
INDUSTRIES = ("retail", "software", "finance", "health", "energy")


def _rows_accounts(n: int) -> list[dict[str, object]]:
    return [
        {"id": i + 1, "external_id": f"A{i}", "name": f"Account {i}", "industry": INDUSTRIES[i % 5],
         "employees": (40, 400, 4000)[i % 3], "country": ("US", "DE", None)[i % 3], "tier": 2,
         "do_not_contact": False, "created_at": NOW, "updated_at": NOW}
        for i in range(n)
    ]  # fmt: skip


def _rows_reps(n: int, capacity: int) -> list[dict[str, object]]:
    return [
        {"id": i + 1, "external_id": f"R{i}", "name": f"Rep {i}", "segments": [],
         "languages": ["en", "de"] if i % 2 else ["en"], "capacity": capacity,
         "hourly_cost": 80.0, "active": i % 50 != 0, "created_at": NOW, "updated_at": NOW}
        for i in range(n)
    ]  # fmt: skip


def seed(engine: sa.Engine, reps: int, leases: int, fresh: int) -> list[str]:
    """Bulk-load the market; return the external ids of the fresh hot accounts to route."""
    migrate(engine)
    ledger = SqlLedger(engine)
    clock = FixedClock(NOW)
    ensure_policy(ledger, clock)
    total = leases + fresh
    with engine.begin() as conn:
        conn.execute(sa.insert(t.accounts), _rows_accounts(total))
        conn.execute(sa.insert(t.reps), _rows_reps(reps, capacity=leases // reps + 60))
        conn.execute(sa.insert(t.leases), [
            {"account_id": i + 1, "rep_id": i % reps + 1, "state": "granted",
             "granted_at": NOW - timedelta(days=10), "expires_at": NOW + timedelta(days=20),
             "score_at_grant": 70.0, "policy_version": 1, "reason": "seed"}
            for i in range(leases)
        ])  # fmt: skip
        conn.execute(sa.insert(t.scores), [
            {"account_id": i + 1, "as_of": NOW - timedelta(hours=1), "score": 75.0,
             "equity": 0.1, "propensity": 0.3, "velocity": 150.0, "cost": 600.0,
             "policy_version": 1, "method": "batch"}
            for i in range(total)
        ])  # fmt: skip
        conn.execute(sa.insert(t.rep_records), [
            {"rep_id": r + 1, "segment": f"{band}|{ind}", "wins": r % 7, "losses": r % 5,
             "as_of": NOW}
            for r in range(reps) for band in ("smb", "mid", "enterprise") for ind in INDUSTRIES
        ])  # fmt: skip
        conn.execute(sa.insert(t.rep_unavailability), [
            {"rep_id": r + 1, "starts_at": NOW - timedelta(days=2),
             "ends_at": NOW + timedelta(days=5), "reason": "leave"}
            for r in range(0, reps, 25)
        ])  # fmt: skip
    with ledger.transaction() as tx:
        tx.rebuild_rep_loads()  # the bulk load bypassed grant_lease
    if engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    return [f"A{i}" for i in range(leases, total)]


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(xs: list[float], p: float) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[int(p) - 1]


def measure(engine: sa.Engine, keys: list[str], n: int) -> tuple[list[float], list[float]]:
    ledger, clock = SqlLedger(engine), FixedClock(NOW)
    score_q = (
        sa.select(t.scores)
        .where(t.scores.c.account_id == sa.bindparam("a"))
        .order_by(t.scores.c.as_of.desc())
        .limit(1)
    )
    ids = iter(range(1, n + 1))

    def baseline() -> None:
        with engine.connect() as conn:
            conn.execute(score_q, {"a": next(ids)}).first()

    todo = iter(keys)

    def decision() -> None:
        res = routing.route(ledger, clock, next(todo), "crossed_up")
        assert res.outcome == "leased", res.reason

    for _ in range(20):  # warm the pool and the statement caches
        baseline()
    warm = iter(keys[n:])  # the 20 spare accounts: warm the roster cache as a server would

    def warm_decision() -> None:
        res = routing.route(ledger, clock, next(warm), "crossed_up")
        assert res.outcome == "leased", res.reason

    cold = timed(warm_decision, min(20, len(keys) - n))[0]
    print(f"{engine.dialect.name}: first (cold) decision {cold:.1f} ms, then steady state")
    ids = iter(range(1, n + 1))
    base = timed(baseline, n)
    return base, timed(decision, n)


def run(name: str, url: str, args: argparse.Namespace) -> list[str]:
    engine = make_engine(url)
    t0 = time.perf_counter()
    keys = seed(engine, args.reps, args.leases, args.n + 20)
    seeded = time.perf_counter() - t0
    base, route = measure(engine, keys, args.n)
    t0 = time.perf_counter()
    review.run_review(SqlLedger(engine), FixedClock(NOW))  # recounts over every active lease
    reviewed = time.perf_counter() - t0
    with engine.connect() as conn:
        active = conn.execute(
            sa.select(sa.func.count()).select_from(t.leases).where(t.leases.c.ended_at.is_(None))
        ).scalar_one()
    engine.dispose()
    row = [name, f"{active:,}", f"{seeded:.1f}s"]
    row += [f"{pct(base, 50):.2f}", f"{pct(base, 99):.2f}"]
    row += [f"{pct(route, 50):.2f}", f"{pct(route, 95):.2f}", f"{pct(route, 99):.2f}"]
    row.append(f"{statistics.median(route) / statistics.median(base):.1f}x")
    row.append(f"{reviewed:.2f}s")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg", default=None, help="PostgreSQL URL (a fresh schema is used)")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--leases", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--load", type=int, default=0, help="busy-loop processes meanwhile")
    args = ap.parse_args()
    rows = []
    with busy(args.load, settle_seconds=30.0 if args.load else 0.0):
        before = _load_average()
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args))
        if args.pg:
            rows.append(_run_pg(args))
        after = _load_average()
    head = ["backend", "active leases", "seed", "baseline p50", "baseline p99",
            "route p50", "route p95", "route p99", "p50 ratio", "review"]  # fmt: skip
    print(f"one routing decision, {args.reps} reps, n={args.n} (milliseconds), "
          f"{args.load} busy processes")  # fmt: skip
    print(f"load average (1 min) before {before}, after {after}, {os.cpu_count()} cores")
    print(" | ".join(head))
    for row in rows:
        print(" | ".join(row))


def _load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def _run_pg(args: argparse.Namespace) -> list[str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(args.pg)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.pg else "?"
    try:
        return run("postgresql", f"{args.pg}{sep}options=-csearch_path%3D{schema}", args)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
