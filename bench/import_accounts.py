"""Benchmark: a 1,000,000-row accounts CSV imported into a fresh SQLite ledger.

Usage:  .venv/bin/python bench/import_accounts.py [--rows 1000000] [--keep]

Generates a CSV with dirty values (domains with schemes and paths, thousands separators,
currency marks, case/space variants of industries and countries, empty cells), imports it
through the product path (`import_file`, the same code as `dtem import accounts`), then
re-imports it (the idempotent path: every row unchanged). Baselines measured in the same
run: raw `sqlite3.executemany` of the same rows pre-parsed (a floor for the write), and
DuckDB `read_csv` of the file (a floor for the read). Prints one table.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.sql import SqlLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.services.imports import import_file

HEADER = ["external_id", "name", "domain", "industry", "employees", "annual_revenue", "country"]
INDUSTRIES = ["Retail", "  retail", "RETAIL", "Technology", "technology ", "Healthcare", ""]
COUNTRIES = ["United States", "USA", "us", "Brazil", "brasil", "Germany", " germany", ""]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write `rows` accounts with the dirty values an export really has."""
    rng = random.Random(seed)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(rows):
            host = f"company{i}.com"
            domain = rng.choice(
                [host, f"https://www.{host}/about", f"http://{host}", f"WWW.{host}", ""]
            )
            revenue = rng.randrange(100_000, 900_000_000)
            money = rng.choice(
                [
                    f"{revenue:,}",
                    f"${revenue:,}",
                    str(revenue),
                    f"{revenue:,}".replace(",", " "),
                    "",
                ]
            )
            employees = rng.randrange(1, 50_000)
            staff = rng.choice([str(employees), f"{employees:,}", ""])
            out.writerow(
                [
                    f"ACC-{i:07d}",
                    f"Company {i}",
                    domain,
                    rng.choice(INDUSTRIES),
                    staff,
                    money,
                    rng.choice(COUNTRIES),
                ]
            )


def fresh_ledger(folder: Path, name: str) -> tuple[str, SqlLedger]:
    url = f"sqlite:///{folder / name}"
    engine = make_engine(url)
    migrate(engine)
    return url, SqlLedger(engine)


def product(ledger: SqlLedger, path: Path) -> tuple[float, dict[str, int]]:
    clock = FixedClock(datetime(2027, 1, 4, tzinfo=UTC))
    start = time.perf_counter()
    result = import_file(ledger, clock, "accounts", path, pipeline=signal_pipeline())
    return time.perf_counter() - start, result.counts


def raw_sqlite(db_file: Path, path: Path) -> float:
    """Floor for the write: the same rows, minimally parsed, one executemany."""
    start = time.perf_counter()
    now = datetime(2027, 1, 4, tzinfo=UTC).isoformat()
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = [
            (
                r[0],
                r[1],
                r[2] or None,
                r[3].strip().lower() or None,
                _num(r[4]),
                _num(r[5]),
                r[6] or None,
                now,
                now,
            )
            for r in reader
        ]
    conn = sqlite3.connect(db_file)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    with conn:
        conn.executemany(
            "INSERT INTO accounts (external_id, name, domain, industry, employees, annual_revenue,"
            " country, tier, do_not_contact, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 2, 0, ?, ?)",
            rows,
        )
    conn.close()
    return time.perf_counter() - start


def _num(text: str) -> float | None:
    cleaned = text.replace(",", "").replace(" ", "").replace("$", "")
    return float(cleaned) if cleaned else None


def duckdb_read(path: Path) -> float:
    start = time.perf_counter()
    duckdb.sql(
        f"SELECT count(*), count(DISTINCT external_id) FROM read_csv('{path}', all_varchar=true)"
    ).fetchall()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="dtem-bench-") as tmp:
        folder = Path(tmp)
        csv_path = folder / "accounts.csv"
        t0 = time.perf_counter()
        generate(csv_path, args.rows)
        print(
            f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB)"
            f" in {time.perf_counter() - t0:.1f} s"
        )
        _, ledger = fresh_ledger(folder, "product.db")
        first, counts = product(ledger, csv_path)
        assert counts["inserted"] == args.rows, counts
        second, counts2 = product(ledger, csv_path)
        assert counts2["unchanged"] == args.rows, counts2
        ledger.engine.dispose()
        _, base = fresh_ledger(folder, "raw.db")
        base.engine.dispose()
        raw = raw_sqlite(folder / "raw.db", csv_path)
        duck = duckdb_read(csv_path)
    rows = args.rows
    print(
        f"load average (1, 5, 15 min): before {_load(load_before)}, after {_load(os.getloadavg())}"
    )
    print(f"\n{'step':<44}{'rows':>11}{'seconds':>10}{'rows/s':>12}{'vs raw sqlite3':>16}")
    for label, secs in (
        ("dtem import accounts (fresh SQLite)", first),
        ("dtem import accounts again (all unchanged)", second),
        ("baseline: csv + sqlite3.executemany", raw),
        ("baseline: DuckDB read_csv (read only)", duck),
    ):
        print(f"{label:<44}{rows:>11,}{secs:>10.1f}{rows / secs:>12,.0f}{secs / raw:>15.2f}x")


def _load(avg: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.1f}" for v in avg)


if __name__ == "__main__":
    main()
