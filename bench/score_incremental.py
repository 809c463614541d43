"""Incremental scoring benchmark: events/s of the decayed-state update.

1. In memory: the product's pure update (`absorb` per event into a dict of states) vs a
   hand-written dict update of the same formula (the baseline), same events, same run.
2. End to end through the ledger: the ingestion hook's work per delivery — insert the
   signals, fold them into `account_state`, re-score, append scores and triggers — on
   SQLite and (when DTEM_TEST_POSTGRES_URL or --pg is given) PostgreSQL, with one
   transaction per 1000 events and per event.

    .venv/bin/python bench/score_incremental.py
    .venv/bin/python bench/score_incremental.py --pg postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import math
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account
from dtem.domain.policy import default_policy
from dtem.domain.rescoring import absorb_all
from dtem.domain.scoring import Decayed, absorb, decay_rate
from dtem.domain.signals import SignalRecord
from dtem.services.governance import active_policy, ensure_policy
from dtem.services.scoring import apply_signals

T0 = datetime(2027, 1, 4, tzinfo=UTC)
TYPES = ("hand_raise", "pricing_visit", "web_visit", "form_fill", "intent_surge", "hiring")


def memory_events(n: int, accounts: int) -> list[tuple[int, str, float, float]]:
    rng = random.Random(5)
    base = T0.timestamp()
    return [
        (rng.randrange(accounts), rng.choice(TYPES), base + rng.uniform(0, 90 * 86_400), 1.0)
        for _ in range(n)
    ]


def bench_memory(n: int, accounts: int) -> tuple[float, float, float]:
    """(product absorb_all events/s, absorb per event, baseline) over the same events."""
    policy = default_policy()
    rates = {t: decay_rate(policy.signal_types[t].half_life_days) for t in TYPES}
    events = memory_events(n, accounts)
    keyed = [((acc, kind), v, ts, rates[kind]) for acc, kind, ts, v in events]
    folded: dict[tuple[int, str], Decayed] = {}
    t = time.perf_counter()
    absorb_all(folded, keyed)
    product = n / (time.perf_counter() - t)
    states: dict[tuple[int, str], Decayed] = {}
    t = time.perf_counter()
    for acc, kind, ts, v in events:
        key = (acc, kind)
        states[key] = absorb(states.get(key), v, ts, rates[kind])
    per_call = n / (time.perf_counter() - t)
    assert states == folded  # same arithmetic, bit for bit
    plain: dict[tuple[int, str], tuple[float, float]] = {}
    exp = math.exp
    t = time.perf_counter()
    for acc, kind, ts, v in events:  # baseline: in-order formula only, no late-event branch
        key = (acc, kind)
        i, at = plain.get(key, (0.0, ts))
        plain[key] = (i * exp(-rates[kind] * (ts - at)) + v, ts) if ts >= at else (i, at)
    return product, per_call, n / (time.perf_counter() - t)


def ledger_at(url: str, accounts: int) -> tuple[SqlLedger, dict[str, int]]:
    engine = make_engine(url)
    migrate(engine)
    ledger = SqlLedger(engine)
    ensure_policy(ledger, FixedClock(T0))
    with ledger.transaction() as tx:
        tx.insert_accounts([Account(f"A{i}", f"A{i}") for i in range(accounts)], T0)
        return ledger, tx.all_account_ids()


def bench_ledger(url: str, n: int, per_tx: int, accounts: int = 10_000) -> float:
    """Events/s of insert + apply_signals, `per_tx` events per transaction."""
    ledger, ids = ledger_at(url, accounts)
    with ledger.transaction() as tx:
        active = active_policy(tx)
    rng = random.Random(9)
    id_list = list(ids.values())
    sigs = [
        SignalRecord(uuid.uuid4().hex, "k", "id", rng.choice(TYPES), at, 1.0, "x", at,
                     rng.choice(id_list))
        for i in range(n)
        if (at := T0 + timedelta(seconds=rng.uniform(0, 30 * 86_400)))
    ]  # fmt: skip
    t = time.perf_counter()
    for start in range(0, n, per_tx):
        chunk = sigs[start : start + per_tx]
        with ledger.transaction() as tx:
            tx.insert_signals(chunk)
            apply_signals(tx, chunk, active, chunk[-1].received_at)
    rate = n / (time.perf_counter() - t)
    ledger.engine.dispose()
    return rate


def pg_schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with make_engine(base).begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    with make_engine(base).begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="in-memory events")
    ap.add_argument("--ledger-events", type=int, default=20_000)
    ap.add_argument("--single-events", type=int, default=2_000, help="one event per txn")
    ap.add_argument("--pg", default=os.environ.get("DTEM_TEST_POSTGRES_URL"))
    args = ap.parse_args()
    product, per_call, baseline = bench_memory(args.events, 100_000)
    rows = [
        ("memory: hand-written dict update (baseline)", baseline),
        ("memory: product absorb_all() (ingest path)", product),
        ("memory: product absorb() called per event", per_call),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for per_tx, n in ((1000, args.ledger_events), (1, args.single_events)):
            url = f"sqlite:///{tmp}/bench_{per_tx}.db"
            rows.append((f"SQLite: insert+apply, {per_tx}/txn", bench_ledger(url, n, per_tx)))
    if args.pg:
        for per_tx, n in ((1000, args.ledger_events), (1, args.single_events)):
            url, schema = pg_schema_url(args.pg)
            try:
                rows.append(
                    (f"PostgreSQL: insert+apply, {per_tx}/txn", bench_ledger(url, n, per_tx))
                )
            finally:
                drop_schema(args.pg, schema)
    print(f"\n{'path':<46}{'events/s':>14}")
    for name, rate in rows:
        print(f"{name:<46}{rate:>14,.0f}")
    print(f"product / baseline (memory): {product / baseline:.2f}")


if __name__ == "__main__":
    main()
