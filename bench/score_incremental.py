"""Incremental scoring benchmark: events/s of the decayed-state update.

1. In memory: the product's pure update (`absorb` per event into a dict of states) vs a
   hand-written dict update of the same formula (the baseline), same events, same run.
2. End to end through the ledger: the ingestion hook's work per delivery — insert the
   signals, fold them into `account_state`, re-score, append scores and triggers — on
   SQLite and (when DTEM_TEST_POSTGRES_URL or --pg is given) PostgreSQL, with one
   transaction per 1000 events and per event.
3. End to end from NATS (`nats_paths.py`): Segment track calls published to a unique
   JetStream stream, consumed by the product's worker (`SignalConsumer`: parse, store,
   score, route, ack; 100 messages per fetch and transaction) and, in the same run on
   the same messages, by a minimal reference consumer doing the same storage work;
   1 event per message, 100 per message (Segment batch), and on PostgreSQL 2 worker
   processes on one durable consumer. Needs NATS (DTEM_TEST_NATS_URL or --nats).

    .venv/bin/python bench/score_incremental.py
    .venv/bin/python bench/score_incremental.py --pg postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/score_incremental.py --events 1000 --ledger-events 100 \
        --single-events 10 --nats-events 500 --nats-batched-events 1000  # quick check
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
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
from nats_paths import run_pair

Row = tuple[str, float, float | None]  # (path, product events/s, reference events/s)

T0 = datetime(2027, 1, 4, tzinfo=UTC)
TYPES = ("hand_raise", "pricing_visit", "web_visit", "form_fill", "intent_surge", "hiring")


def memory_events(n: int, accounts: int) -> list[tuple[int, str, float, float]]:
    rng = random.Random(5)
    base = T0.timestamp()
    return [
        (rng.randrange(accounts), rng.choice(TYPES), base + rng.uniform(0, 90 * 86_400), 1.0)
        for _ in range(n)
    ]


def bench_memory(n: int, accounts: int, repeat: int = 3) -> tuple[float, float, float]:
    """(product absorb_all events/s, absorb per event, baseline) over the same events.

    The three run interleaved `repeat` times and each keeps its best run, so a burst of
    load on a shared machine hits them alike instead of skewing one.
    """
    policy = default_policy()
    rates = {t: decay_rate(policy.signal_types[t].half_life_days) for t in TYPES}
    events = memory_events(n, accounts)
    keyed = [((acc, kind), v, ts, rates[kind]) for acc, kind, ts, v in events]

    def product() -> dict[tuple[int, str], Decayed]:
        folded: dict[tuple[int, str], Decayed] = {}
        absorb_all(folded, keyed)
        return folded

    def per_call() -> dict[tuple[int, str], Decayed]:
        states: dict[tuple[int, str], Decayed] = {}
        for acc, kind, ts, v in events:
            key = (acc, kind)
            states[key] = absorb(states.get(key), v, ts, rates[kind])
        return states

    def baseline() -> dict[tuple[int, str], tuple[float, float]]:
        plain: dict[tuple[int, str], tuple[float, float]] = {}
        exp = math.exp
        for acc, kind, ts, v in events:  # in-order formula only, no late-event branch
            key = (acc, kind)
            i, at = plain.get(key, (0.0, ts))
            plain[key] = (i * exp(-rates[kind] * (ts - at)) + v, ts) if ts >= at else (i, at)
        return plain

    runs: tuple[Callable[[], object], ...] = (product, per_call, baseline)
    best = dict.fromkeys(runs, math.inf)
    for _ in range(repeat):
        for fn in runs:
            t = time.perf_counter()
            fn()
            best[fn] = min(best[fn], time.perf_counter() - t)
    assert product() == per_call()  # same arithmetic, bit for bit
    return n / best[product], n / best[per_call], n / best[baseline]


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


NATS_URL = "nats://127.0.0.1:4222"


@contextlib.contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench_nats.db"


def pg_url(base: str) -> Callable[[], contextlib.AbstractContextManager[str]]:
    @contextlib.contextmanager
    def fresh() -> Iterator[str]:
        url, schema = pg_schema_url(base)
        try:
            yield url
        finally:
            drop_schema(base, schema)

    return fresh


def nats_rows(nats_url: str, n: int, batched: int, pg: str | None) -> list[Row]:
    """NATS -> consumer -> committed score: the product's worker and the reference."""
    if n <= 0:
        return []
    backends: list[tuple[str, Callable[[], contextlib.AbstractContextManager[str]]]] = [
        ("SQLite", sqlite_url)
    ]
    if pg:
        backends.append(("PostgreSQL", pg_url(pg)))
    rows: list[Row] = []
    for name, fresh in backends:
        for per_message, events, procs in ((1, n, 1), (100, batched, 1), (100, batched, 2)):
            if procs > 1 and name == "SQLite":
                continue  # one writer at a time: a second process only queues
            diagnose = name == "SQLite" and per_message > 1
            kinds = ("product", "reference") + (("product, no routing",) if diagnose else ())
            rates = run_pair(fresh, nats_url, events, per_message, procs, kinds)
            label = f"{name}: NATS, {per_message} ev/msg, {procs} proc"
            rows.append((label, rates[0], rates[1]))
            if diagnose:
                rows.append(("  same, product without routing", rates[2], rates[1]))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="in-memory events")
    ap.add_argument("--ledger-events", type=int, default=20_000, help="0 skips the ledger rows")
    ap.add_argument("--single-events", type=int, default=2_000, help="one event per txn")
    ap.add_argument("--pg", default=os.environ.get("DTEM_TEST_POSTGRES_URL"))
    ap.add_argument("--nats-events", type=int, default=20_000, help="0 skips the NATS rows")
    ap.add_argument("--nats-batched-events", type=int, default=50_000, help="100 per message")
    ap.add_argument("--nats", default=os.environ.get("DTEM_TEST_NATS_URL", NATS_URL))
    args = ap.parse_args()
    load = os.getloadavg()[0]
    product, per_call, baseline = bench_memory(args.events, 100_000)
    rows: list[Row] = [
        ("memory: product absorb_all() (ingest path)", product, baseline),
        ("memory: product absorb() called per event", per_call, baseline),
    ]
    if args.ledger_events > 0:
        rows += ledger_rows(args.ledger_events, args.single_events, args.pg)
    rows += nats_rows(args.nats, args.nats_events, args.nats_batched_events, args.pg)
    print(f"\n{'path':<40}{'product ev/s':>14}{'reference ev/s':>16}{'ratio':>8}")
    for name, rate, ref in rows:
        shown = (f"{ref:>16,.0f}", f"{rate / ref:>8.2f}") if ref else (f"{'-':>16}", f"{'-':>8}")
        print(f"{name:<40}{rate:>14,.0f}{shown[0]}{shown[1]}")
    print(f"load average (1 min) {load:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print("references: memory = hand-written dict update; NATS = minimal consumer (nats_paths)")


def ledger_rows(n: int, single: int, pg: str | None) -> list[Row]:
    """insert + apply_signals through the ledger (no reference: the product's own path)."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for per_tx, count in ((1000, n), (1, single)):
            url = f"sqlite:///{tmp}/bench_{per_tx}.db"
            rows.append(
                (f"SQLite: insert+apply, {per_tx}/txn", bench_ledger(url, count, per_tx), None)
            )
    if pg:
        for per_tx, count in ((1000, n), (1, single)):
            with pg_url(pg)() as url:
                rate = bench_ledger(url, count, per_tx)
            rows.append((f"PostgreSQL: insert+apply, {per_tx}/txn", rate, None))
    return rows


if __name__ == "__main__":
    main()
