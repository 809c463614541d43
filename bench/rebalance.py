"""The daily review with the rebalance and its writes, on a 100k-account × 500-rep ledger.

Seeds a ledger with bulk inserts (hot scored accounts with varied size, industry and
propensity, reps with varied records and capacities leaving `--seats` free seats), then
times `dtem review --rebalance` as the CLI runs it: `review.run_review`, then
`rebalance.rebalance` (snapshot, top-K arcs, the min-cost-flow solve, greedy for the
report, and the writes: grants, moves, their lease events, audit entries). Printed: the
review, the bare min-cost-flow solve (the reference: the optimum cannot be had faster
than that), the writes (`apply_batch`), the whole, and a second reference measured in
the same run: a raw bulk INSERT of the same numbers of lease, event and audit rows
into scratch tables without constraints. Then checks the ledger: one active lease per
account, no rep over capacity, the audit chain verifies.

Usage:  .venv/bin/python bench/rebalance.py [--pg postgresql://postgres@127.0.0.1:5432/test]
        [--accounts 100000] [--reps 500] [--seats 1600] [--top-k 50] [--load 0]
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from busy_load import busy, load_average
from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.services import rebalance as rb
from dtem.services import review
from dtem.services.audit import verify_audit
from dtem.services.governance import ensure_policy

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
INDUSTRIES = ("retail", "software", "finance", "health", "energy")
STAGES = ("closed_won", "closed_lost")
COUNTRIES = ("US", "DE", "FR")
LANGUAGES = (["en"], ["en", "de"], ["en", "fr"])


def seed(engine: sa.Engine, accounts: int, reps: int, seats: int) -> None:
    """Hot unleased accounts and reps whose capacities add up to `seats`."""
    migrate(engine)
    ensure_policy(SqlLedger(engine), FixedClock(NOW))
    base, extra = divmod(seats, reps)
    with engine.begin() as conn:
        conn.execute(sa.insert(t.accounts), [
            {"id": i + 1, "external_id": f"A{i}", "name": f"Account {i}",
             "industry": INDUSTRIES[i % 5], "employees": (40, 400, 4000)[i % 3],
             "country": COUNTRIES[i % 7 % 3], "tier": 2, "do_not_contact": False, "created_at": NOW,
             "updated_at": NOW}
            for i in range(accounts)
        ])  # fmt: skip
        conn.execute(sa.insert(t.reps), [
            {"id": r + 1, "external_id": f"R{r}", "name": f"Rep {r}",
             "segments": [f"*|{INDUSTRIES[r % 5]}", f"*|{INDUSTRIES[r // 5 % 5]}"],
             "languages": LANGUAGES[r % 3], "capacity": base + (r < extra), "hourly_cost": 80.0,
             "active": True, "created_at": NOW, "updated_at": NOW}
            for r in range(reps)
        ])  # fmt: skip
        conn.execute(sa.insert(t.scores), [
            {"account_id": i + 1, "as_of": NOW - timedelta(hours=1), "score": 80.0 + i % 20,
             "equity": 0.1, "propensity": 0.05 + (i * 7919 % 1000) / 2500, "velocity": 150.0,
             "cost": 600.0, "policy_version": 1, "method": "batch"}
            for i in range(accounts)
        ])  # fmt: skip
        conn.execute(sa.insert(t.opportunities), [  # two closed deals a rep and segment
            {"external_id": f"O{r}-{seg}-{k}", "account_id": seg + 15 * (r % 50) + 1,
             "rep_id": r + 1, "stage": STAGES[(r * 31 + seg * 17 + k) % 5 > 2],
             "amount": 10_000.0, "updated_at": NOW}
            for r in range(reps) for seg in range(15) for k in range(2)
        ])  # fmt: skip
    if engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))


def timed_writes() -> tuple[list[float], Callable[..., Any]]:
    """`apply_batch` wrapped to record its seconds (the rebalance's writes)."""
    seconds: list[float] = []
    inner = rb.apply_batch

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - t0)

    return seconds, wrapper


def raw_insert_seconds(engine: sa.Engine, leases: int, events: int, audits: int) -> float:
    """The reference: the same numbers of rows inserted raw into scratch tables."""
    names = {"leases": leases, "lease_events": events, "audit_log": audits}
    with engine.connect() as conn:
        samples = {n: conn.execute(sa.select(t.metadata.tables[n]).limit(1)).mappings().first()
                   for n in names}  # fmt: skip
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for name, count in names.items():
            sample = samples[name]
            if sample is None or not count:
                continue
            cols = [str(c) for c in sample if c != "id"]
            scratch = sa.Table(f"scratch_{name}", sa.MetaData(),
                               *(sa.Column(c, t.metadata.tables[name].c[c].type) for c in cols),
                               prefixes=["TEMPORARY"])  # fmt: skip
            scratch.create(conn)
            conn.execute(sa.insert(scratch), [{c: sample[c] for c in cols}] * count)
        conn.rollback()
    return time.perf_counter() - t0


def run(name: str, url: str, args: argparse.Namespace) -> list[str]:
    engine = make_engine(url)
    t0 = time.perf_counter()
    seed(engine, args.accounts, args.reps, args.seats)
    seeded = time.perf_counter() - t0
    ledger, clock = SqlLedger(engine), FixedClock(NOW)
    writes, rb.apply_batch = timed_writes()
    t0 = time.perf_counter()
    reviewed = review.run_review(ledger, clock)
    t1 = time.perf_counter()
    report = rb.rebalance(ledger, clock, top_k=args.top_k)
    t2 = time.perf_counter()
    with ledger.transaction() as tx:
        active = tx.active_leases()
        rows = tx.count("lease_events"), tx.count("audit_log")
        over = [r for r in tx.all_reps() if sum(x.rep_id == r.id for x in active) > r.capacity]
    assert len(active) == len({x.account_id for x in active}) and not over, "ledger broken"
    assert verify_audit(ledger) == rows[1]
    raw = raw_insert_seconds(engine, report.granted + report.moved, *rows)
    engine.dispose()
    write = sum(writes)
    print(f"{name}: seeded in {seeded:.1f}s; review outcomes {reviewed.outcomes or '{}'}; "
          f"{report.accounts:,} hot accounts, {report.arcs:,} arcs, {report.granted:,} granted, "
          f"{report.moved:,} moved, {report.status}")  # fmt: skip
    return [
        name, f"{t1 - t0:.2f}", f"{report.solve_seconds:.2f}", f"{write:.2f}",
        f"{t2 - t0:.2f}", f"{raw:.2f}", f"{write / raw:.1f}x" if raw else "-",
        f"{(t2 - t0) / report.solve_seconds:.1f}x" if report.solve_seconds else "-",
    ]  # fmt: skip


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg", default=None, help="also on PostgreSQL (a fresh schema is used)")
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--seats", type=int, default=1_600, help="free seats over all reps")
    ap.add_argument("--top-k", type=int, default=50)
    ap.add_argument("--load", type=int, default=0, help="busy-loop processes meanwhile")
    args = ap.parse_args()
    import tempfile
    from pathlib import Path

    rows = []
    with busy(args.load, settle_seconds=30.0 if args.load else 0.0):
        before = load_average()
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args))
        if args.pg:
            rows.append(_run_pg(args))
        after = load_average()
    head = ["backend", "review s", "solve s (ref)", "writes s", "review+rebalance s",
            "raw INSERT s (ref)", "writes/raw", "total/solve"]  # fmt: skip
    print(
        f"dtem review --rebalance: {args.accounts:,} accounts × {args.reps} reps × "
        f"top-{args.top_k}, {args.seats:,} free seats; {args.load} busy processes"
    )
    print(f"load average (1 min) before {before}, after {after}")
    print(" | ".join(head))
    for row in rows:
        print(" | ".join(row))


if __name__ == "__main__":
    main()
