"""Fault trials, more of them than `make test` runs: kill -9 and database restarts.

    .venv/bin/python bench/faults.py worker --trials 10            # SQLite ledger
    .venv/bin/python bench/faults.py worker --trials 10 --db postgres
    .venv/bin/python bench/faults.py review --trials 10
    .venv/bin/python bench/faults.py restart --trials 3

`worker`: `dtem worker` killed -9 twice per trial at random points while it consumes
NATS JetStream (DTEM_TEST_NATS_URL, default nats://127.0.0.1:4222); every signal stored
once, every account state equal to the batch recompute. `review`: `dtem review` and
`dtem review --rebalance --move-leases` killed -9 on a ledger with many leases; reruns
complete, one active lease per account at most, the audit chain verifies. `restart`:
PostgreSQL restarted under webhook load; only 200s (all stored) and 503s, and recovery.
`--db postgres` uses a fresh schema of DTEM_TEST_POSTGRES_URL per trial. Prints one row
per trial and a summary; exits 1 if any trial found a problem.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the trials live in tests/faults

import sqlalchemy as sa
from tests.faults.pg_restart import run_restart_trial
from tests.faults.review_kill import run_review_trial
from tests.faults.worker_kill import run_worker_trial

from dtem.adapters.ledger.engine import make_engine


@contextmanager
def ledger_url(kind: str) -> Iterator[str]:
    """A fresh SQLite file, or a fresh PostgreSQL schema (dropped afterwards)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/ledger.db"
        return
    base = os.environ.get("DTEM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    schema = f"f_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def worker_trial(seed: int, args: argparse.Namespace) -> Any:
    nats_url = os.environ.get("DTEM_TEST_NATS_URL", "nats://127.0.0.1:4222")
    with ledger_url(args.db) as url:
        return run_worker_trial(url, nats_url, seed, signals=args.signals, kills=args.kills)


def review_trial(seed: int, args: argparse.Namespace) -> Any:
    with ledger_url(args.db) as url:
        return run_review_trial(url, seed, leases=args.leases, triggers=args.leases)


def restart_trial(_seed: int, _args: argparse.Namespace) -> Any:
    return run_restart_trial()


TRIALS: dict[str, Callable[[int, argparse.Namespace], Any]] = {
    "worker": worker_trial,
    "review": review_trial,
    "restart": restart_trial,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=sorted(TRIALS))
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--signals", type=int, default=400, help="worker: signals per trial")
    parser.add_argument("--kills", type=int, default=2, help="worker: kills per trial")
    parser.add_argument("--leases", type=int, default=150, help="review: stale leases")
    args = parser.parse_args()
    failed = 0
    for i in range(args.trials):
        result = TRIALS[args.kind](args.seed + i, args)
        failed += bool(result.problems)
        print(f"trial {i + 1:>3}  {'FAIL' if result.problems else 'ok  '}  {result}", flush=True)
    print(f"\n{args.kind} on {args.db}: {args.trials} trials, {failed} with problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
