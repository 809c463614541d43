"""Incremental scoring benchmark: events/s of the decayed-state update.

1. In memory: the product's pure update (`absorb` per event into a dict of states) vs a
   hand-written dict update of the same formula (the baseline), same events, same run.
2. End to end through the ledger: the ingestion hook's work per delivery — insert the
   signals, fold them into `account_state`, re-score, append scores and triggers — on
   SQLite and (when DTEM_TEST_POSTGRES_URL or --pg is given) PostgreSQL, with one
   transaction per 1000 events and per event.
3. End to end from NATS: Segment track calls published to a unique JetStream stream,
   then consumed by the product's worker (`SignalConsumer`: parse, store, score, route,
   ack; 100 messages per fetch and transaction), timed from consumer start to the last
   ack, on SQLite and PostgreSQL. Needs NATS (DTEM_TEST_NATS_URL or --nats).

    .venv/bin/python bench/score_incremental.py
    .venv/bin/python bench/score_incremental.py --pg postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/score_incremental.py --events 1000 --ledger-events 100 \
        --single-events 10 --nats-events 500   # a quick check of every path
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import nats
import sqlalchemy as sa

from dtem.adapters.broker.nats import BrokerSettings, ensure_stream
from dtem.adapters.ledger import tables
from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.sql import SqlLedger
from dtem.bootstrap import Container, build
from dtem.config import Settings
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account
from dtem.domain.policy import default_policy
from dtem.domain.rescoring import absorb_all
from dtem.domain.scoring import Decayed, absorb, decay_rate
from dtem.domain.signals import SignalRecord
from dtem.entrypoints.worker import SignalConsumer, run_tasks
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


# first-party Segment events, one per signal type they map to in the default policy
TRACK_EVENTS = {
    "Demo Requested": "hand_raise",
    "Pricing Page Viewed": "pricing_visit",
    "Site Visit": "web_visit",
    "Form Submitted": "form_fill",
    "Product Used": "product_usage",
    "Email Opened": "email_engagement",
}


def track_calls(n: int, accounts: int, now: datetime) -> tuple[list[bytes], set[tuple[str, str]]]:
    """`n` Segment track calls (distinct messageId) and the (domain, type) pairs they hit.

    >>> len(track_calls(3, 10, T0)[0])
    3
    """
    rng, names = random.Random(13), list(TRACK_EVENTS)
    calls, pairs = [], set()
    for i in range(n):
        domain, event = f"acct{rng.randrange(accounts)}.example.com", rng.choice(names)
        at = now - timedelta(seconds=rng.uniform(0, 30 * 86_400))
        body = {"type": "track", "userId": f"u{i % 5000}", "event": event,
                "messageId": f"bench-{i}", "timestamp": at.isoformat(),
                "properties": {"domain": domain}}  # fmt: skip
        calls.append(json.dumps(body).encode())
        pairs.add((domain, TRACK_EVENTS[event]))
    return calls, pairs


def seeded_container(url: str, accounts: int) -> Container:
    """The worker's container on a migrated ledger with the policy and accounts."""
    c = build(Settings(), url)
    ensure_policy(c.ledger, c.clock)
    rows = [Account(f"A{i}", f"A{i}", domain=f"acct{i}.example.com") for i in range(accounts)]
    with c.ledger.transaction() as tx:
        tx.insert_accounts(rows, c.clock())
    return c


async def publish_all(s: BrokerSettings, calls: list[bytes]) -> None:
    """Create the stream and publish every call, awaiting JetStream's acks 500 at a time."""
    nc = await nats.connect(s.url)
    js = nc.jetstream()
    await ensure_stream(js, s.stream, s.subject)
    subject = s.subject.replace(">", "web")
    for start in range(0, len(calls), 500):
        await asyncio.gather(*(js.publish(subject, c) for c in calls[start : start + 500]))
    await nc.close()


async def consumer_left(s: BrokerSettings) -> tuple[int, int]:
    """(messages not yet delivered, delivered but not acked) on the worker's durable."""
    nc = await nats.connect(s.url)
    info = await nc.jetstream().consumer_info(s.stream, s.durable)
    await nc.close()
    return info.num_pending, info.num_ack_pending


async def drop_streams(s: BrokerSettings) -> None:
    nc = await nats.connect(s.url)
    js = nc.jetstream()
    for name in (s.stream, s.dlq_stream):
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(name)
    await nc.close()


def bench_nats(url: str, nats_url: str, n: int, accounts: int = 10_000) -> float:
    """Events/s from NATS to committed score through the worker; checks what it wrote."""
    tag = uuid.uuid4().hex[:10]
    s = BrokerSettings(url=nats_url, stream=f"BENCH_{tag}", subject=f"bench.{tag}.signals.>",
                       durable=f"bench{tag}", dlq_subject=f"bench.{tag}.dlq")  # fmt: skip
    c = seeded_container(url, accounts)
    calls, pairs = track_calls(n, accounts, c.clock())
    try:
        asyncio.run(publish_all(s, calls))
        consumer = SignalConsumer(c, s, batch=100, max_messages=n, idle_timeout=30)
        t = time.perf_counter()
        asyncio.run(run_tasks([consumer.run], asyncio.Event()))
        rate = n / (time.perf_counter() - t)
        assert consumer.stats.stored == n, consumer.stats
        assert asyncio.run(consumer_left(s)) == (0, 0), "every message acked"
        check_written(c, n, pairs)
    finally:
        asyncio.run(drop_streams(s))
        c.engine.dispose()
    return rate


def check_written(c: Container, n: int, pairs: set[tuple[str, str]]) -> None:
    """The ledger holds n matched signals, one state row per (account, type), scores."""
    count = sa.func.count()
    with c.engine.connect() as conn:
        matched = tables.signals.c.account_id.is_not(None)
        got = conn.execute(sa.select(count).where(matched)).scalar_one()
        states = conn.execute(sa.select(count).select_from(tables.account_state)).scalar_one()
        scored = conn.execute(
            sa.select(sa.func.count(sa.distinct(tables.scores.c.account_id)))
        ).scalar_one()
    assert got == n, f"{got} matched signals, expected {n}"
    assert states == len(pairs), f"{states} account_state rows, expected {len(pairs)}"
    assert scored == len({d for d, _ in pairs}), f"{scored} accounts scored"


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


def nats_rows(nats_url: str, n: int, pg: str | None) -> list[tuple[str, float]]:
    """The end-to-end rows: NATS -> worker -> committed score, per backend."""
    if n <= 0:
        return []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rate = bench_nats(f"sqlite:///{tmp}/bench_nats.db", nats_url, n)
        rows.append(("SQLite: NATS -> worker -> score, 100/txn", rate))
    if pg:
        url, schema = pg_schema_url(pg)
        try:
            rows.append(
                ("PostgreSQL: NATS -> worker -> score, 100/txn", bench_nats(url, nats_url, n))
            )
        finally:
            drop_schema(pg, schema)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="in-memory events")
    ap.add_argument("--ledger-events", type=int, default=20_000)
    ap.add_argument("--single-events", type=int, default=2_000, help="one event per txn")
    ap.add_argument("--pg", default=os.environ.get("DTEM_TEST_POSTGRES_URL"))
    ap.add_argument("--nats-events", type=int, default=20_000, help="0 skips the NATS rows")
    ap.add_argument("--nats", default=os.environ.get("DTEM_TEST_NATS_URL", NATS_URL))
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
    rows += nats_rows(args.nats, args.nats_events, args.pg)
    print(f"\n{'path':<46}{'events/s':>14}")
    for name, rate in rows:
        print(f"{name:<46}{rate:>14,.0f}")
    print(f"product / baseline (memory): {product / baseline:.2f}")


if __name__ == "__main__":
    main()
