"""Reading the ledger's signals for batch scoring: `signal_columns` vs a plain fetch.

Inserts N signals into a fresh SQLite ledger and (with DTEM_TEST_POSTGRES_URL or --pg)
a PostgreSQL schema, then times, interleaved in the same run, the product's
`tx.signal_columns(as_of)` (numpy columns: ids, types, µs since 1970, values) against a
reference: a plain DB-API `fetchall()` of the same four columns and rows, which builds
a tuple per row and converts nothing (the floor for any row-by-row reader).

    .venv/bin/python bench/signal_columns.py --signals 500000
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.model import Account
from dtem.domain.signals import SignalRecord
from score_incremental import pg_url

T0 = datetime(2027, 1, 4, tzinfo=UTC)
PLAIN = (
    "SELECT account_id, type, occurred_at, value FROM signals"
    " WHERE account_id IS NOT NULL AND superseded = :no AND occurred_at <= :until"
)


def seeded(url: str, n: int) -> SqlLedger:
    engine = make_engine(url)
    migrate(engine)
    ledger = SqlLedger(engine)
    with ledger.transaction() as tx:
        tx.insert_accounts([Account(f"A{i}", f"A{i}") for i in range(1000)], T0)
        ids = list(tx.all_account_ids().values())
    rng = random.Random(1)
    for start in range(0, n, 50_000):
        with ledger.transaction() as tx:
            tx.insert_signals([
                SignalRecord(f"e{i}", "k", "id", "web_visit", at, rng.expovariate(1.0), "x", at,
                             rng.choice(ids))
                for i in range(start, min(start + 50_000, n))
                if (at := T0 - timedelta(microseconds=rng.randrange(180 * 86_400 * 10**6)))
            ])  # fmt: skip
    return ledger


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(ledger: SqlLedger, repeat: int) -> tuple[float, float, float, float]:
    """Median (product wall, product CPU, reference wall, reference CPU) seconds."""

    def product() -> None:
        with ledger.transaction() as tx:
            assert len(tx.signal_columns(T0)) > 0

    def reference() -> None:
        with ledger.engine.connect() as conn:
            until: Any = T0
            if conn.dialect.name == "sqlite":
                until = T0.replace(tzinfo=None).isoformat(" ", "microseconds")
            cursor = conn.connection.cursor()  # plain DB-API: no SQLAlchemy row objects
            sql = PLAIN.replace(":no", "?" if conn.dialect.name == "sqlite" else "%s")
            sql = sql.replace(":until", "?" if conn.dialect.name == "sqlite" else "%s")
            cursor.execute(sql, (False, until))
            assert cursor.fetchall()

    runs = [(timed(product), timed(reference)) for _ in range(repeat)]
    return (
        statistics.median(p[0] for p, _ in runs),
        statistics.median(p[1] for p, _ in runs),
        statistics.median(r[0] for _, r in runs),
        statistics.median(r[1] for _, r in runs),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--signals", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pg", default=os.environ.get("DTEM_TEST_POSTGRES_URL"))
    args = ap.parse_args()
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ledger = seeded(f"sqlite:///{tmp}/signals.db", args.signals)
        rows.append(("SQLite", *measure(ledger, args.repeat)))
        ledger.engine.dispose()
    if args.pg:
        with pg_url(args.pg)() as url:
            ledger = seeded(url, args.signals)
            rows.append(("PostgreSQL", *measure(ledger, args.repeat)))
            ledger.engine.dispose()
    print(f"\n{args.signals:,} signals, median of {args.repeat}")
    print(f"{'backend':<12}{'product s':>11}{'CPU s':>8}{'plain fetchall s':>18}{'CPU s':>8}"
          f"{'ratio wall':>12}{'ratio CPU':>11}")  # fmt: skip
    for name, pw, pc, rw, rc in rows:
        print(
            f"{name:<12}{pw:>11.3f}{pc:>8.3f}{rw:>18.3f}{rc:>8.3f}{pw / rw:>12.2f}{pc / rc:>11.2f}"
        )
    print(f"load average (1 min) {load:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
