"""NATS end to end: the product's worker vs a minimal consumer doing the same work.

Both read the same published Segment track calls from their own JetStream stream into
their own freshly seeded ledger, timed from consumer start to the last ack:

- product: `SignalConsumer` (parse, resolve, store, fold, score, route, ack);
- reference: a minimal consumer (fetch 100, `json.loads`, insert the signals with
  ON CONFLICT DO NOTHING, upsert the decayed (account, type) states, append a score per
  account touched, commit, ack) — no routing, no identity resolution beyond a domain
  lookup in a dict loaded once, no validation.

Messages carry 1 event, or 100 in a Segment `{"batch": [...]}` body; `procs` > 1 runs
that many processes on the same durable consumer (timed until the consumer has
nothing pending or unacked).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from dtem.adapters.broker.nats import BrokerSettings, ensure_stream
from dtem.adapters.ledger import tables
from dtem.adapters.ledger.engine import make_engine
from dtem.bootstrap import Container, build
from dtem.config import Settings
from dtem.domain.model import Account
from dtem.domain.policy import default_policy
from dtem.domain.scoring import decay_rate
from dtem.entrypoints.worker import SignalConsumer, run_tasks
from dtem.services.governance import ensure_policy

ACCOUNTS = 10_000
# first-party Segment events, one per signal type they map to in the default policy
TRACK_EVENTS = {
    "Demo Requested": "hand_raise",
    "Pricing Page Viewed": "pricing_visit",
    "Site Visit": "web_visit",
    "Form Submitted": "form_fill",
    "Product Used": "product_usage",
    "Email Opened": "email_engagement",
}


def track_calls(n: int, accounts: int, now: datetime) -> tuple[list[dict[str, Any]], set[Any]]:
    """`n` Segment track calls (distinct messageId) and the (domain, type) pairs they hit."""
    rng, names = random.Random(13), list(TRACK_EVENTS)
    calls, pairs = [], set()
    for i in range(n):
        domain, event = f"acct{rng.randrange(accounts)}.example.com", rng.choice(names)
        at = now - timedelta(seconds=rng.uniform(0, 30 * 86_400))
        calls.append({"type": "track", "userId": f"u{i % 5000}", "event": event,
                      "messageId": f"bench-{i}", "timestamp": at.isoformat(),
                      "properties": {"domain": domain}})  # fmt: skip
        pairs.add((domain, TRACK_EVENTS[event]))
    return calls, pairs


def payloads(calls: list[dict[str, Any]], per_message: int) -> list[bytes]:
    if per_message == 1:
        return [json.dumps(c).encode() for c in calls]
    return [
        json.dumps({"batch": calls[i : i + per_message]}).encode()
        for i in range(0, len(calls), per_message)
    ]


def seeded_container(url: str, accounts: int = ACCOUNTS) -> Container:
    """The worker's container on a migrated ledger with the policy and accounts."""
    c = build(Settings(), url)
    ensure_policy(c.ledger, c.clock)
    rows = [Account(f"A{i}", f"A{i}", domain=f"acct{i}.example.com") for i in range(accounts)]
    with c.ledger.transaction() as tx:
        tx.insert_accounts(rows, c.clock())
    return c


def broker_settings(nats_url: str) -> BrokerSettings:
    tag = uuid.uuid4().hex[:10]
    return BrokerSettings(url=nats_url, stream=f"BENCH_{tag}", subject=f"bench.{tag}.signals.>",
                          durable=f"bench{tag}", dlq_subject=f"bench.{tag}.dlq")  # fmt: skip


async def publish_all(s: BrokerSettings, bodies: list[bytes]) -> None:
    """Create the stream and publish every body, awaiting JetStream's acks 500 at a time."""
    nc = await nats.connect(s.url)
    js = nc.jetstream()
    await ensure_stream(js, s.stream, s.subject)
    subject = s.subject.replace(">", "web")
    for start in range(0, len(bodies), 500):
        await asyncio.gather(*(js.publish(subject, b) for b in bodies[start : start + 500]))
    await nc.close()


async def consumer_left(s: BrokerSettings) -> tuple[int, int]:
    """(messages not yet delivered, delivered but not acked) on the durable."""
    nc = await nats.connect(s.url)
    try:
        info = await nc.jetstream().consumer_info(s.stream, s.durable)
    except nats.js.errors.NotFoundError:  # no consumer has connected yet
        return (-1, -1)
    finally:
        await nc.close()
    return info.num_pending, info.num_ack_pending


async def drop_streams(s: BrokerSettings) -> None:
    nc = await nats.connect(s.url)
    js = nc.jetstream()
    for name in (s.stream, s.dlq_stream):
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(name)
    await nc.close()


class ReferenceConsumer:
    """The minimal consumer: the same work as the worker's hot path, nothing more."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        policy = default_policy()
        self.weights = {k: t.weight for k, t in policy.signal_types.items()}
        self.rates = {k: decay_rate(t.half_life_days) for k, t in policy.signal_types.items()}
        self.e_half = policy.e_half
        with self.engine.connect() as conn:
            accounts = conn.execute(sa.select(tables.accounts.c.id, tables.accounts.c.domain))
            self.by_domain = {d: i for i, d in accounts}
        self.insert = (
            postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        )
        self.events = 0

    async def run(self, s: BrokerSettings, until: Callable[[int], bool], idle: float) -> None:
        nc = await nats.connect(s.url)
        sub = await nc.jetstream().pull_subscribe(s.subject, durable=s.durable, stream=s.stream)
        last = time.monotonic()
        while not until(self.events) and time.monotonic() - last < idle:
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except TimeoutError:
                continue
            self.store([e for m in msgs for e in _events(json.loads(m.data))])
            for m in msgs:
                await m.ack()
            last = time.monotonic()
        await nc.close()

    def store(self, events: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        rows = [self._row(e, now) for e in events]
        touched = {(r["account_id"], r["type"]) for r in rows}
        with self.engine.begin() as conn:
            conn.execute(self.insert(tables.signals).on_conflict_do_nothing(), rows)
            states = self._fold(conn, rows, {a for a, _ in touched})
            st = self.insert(tables.account_state)
            upsert = st.on_conflict_do_update(
                index_elements=["account_id", "type"],
                set_={"intensity": st.excluded.intensity, "as_of": st.excluded.as_of},
            )
            new = [
                {"account_id": a, "type": t, "intensity": i, "as_of": _at(at)}
                for (a, t), (i, at) in sorted(states.items()) if (a, t) in touched
            ]  # fmt: skip
            conn.execute(upsert, new)
            conn.execute(tables.scores.insert(), self._scores(states, now))
        self.events += len(events)

    def _row(self, e: dict[str, Any], now: datetime) -> dict[str, Any]:
        domain = e["properties"]["domain"]
        return {"scope": "pipeline", "event_id": e["messageId"],
                "account_id": self.by_domain.get(domain), "account_key": domain,
                "key_kind": "domain", "type": TRACK_EVENTS[e["event"]], "event_name": e["event"],
                "source": "first_party", "occurred_at": datetime.fromisoformat(e["timestamp"]),
                "value": 1.0, "attributes": {"properties": e["properties"]},
                "received_at": now}  # fmt: skip

    def _fold(self, conn: Any, rows: list[dict[str, Any]], accounts: set[int]) -> dict[Any, Any]:
        st = tables.account_state
        q = sa.select(st.c.account_id, st.c.type, st.c.intensity, st.c.as_of)
        states = {
            (a, t): (i, _utc(at).timestamp())
            for a, t, i, at in conn.execute(q.where(st.c.account_id.in_(accounts)))
        }
        for r in rows:
            key, ts, rate = (
                (r["account_id"], r["type"]),
                r["occurred_at"].timestamp(),
                self.rates[r["type"]],
            )
            i, at = states.get(key, (0.0, ts))
            if ts >= at:
                states[key] = (i * math.exp(-rate * (ts - at)) + r["value"], ts)
            else:
                states[key] = (i + r["value"] * math.exp(-rate * (at - ts)), at)
        return states

    def _scores(self, states: dict[Any, Any], now: datetime) -> list[dict[str, Any]]:
        logits: dict[int, float] = {}
        t = now.timestamp()
        for (a, kind), (i, at) in states.items():
            decayed = i * math.exp(-self.rates[kind] * max(t - at, 0.0))
            logits[a] = logits.get(a, -4.0) + self.weights[kind] * math.log1p(decayed)
        out = []
        for a, logit in logits.items():
            p = 1.0 / (1.0 + math.exp(-logit))
            equity = p * 200.0 / 1000.0
            score = 100 * equity / (equity + self.e_half)
            out.append({"account_id": a, "as_of": now, "score": score, "equity": equity,
                        "propensity": p, "velocity": 200.0, "cost": 1000.0,
                        "policy_version": 1, "method": "incremental"})  # fmt: skip
        return out


def _events(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, list):
        return doc
    batch: list[dict[str, Any]] = doc.get("batch", [doc])
    return batch


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def consume(kind: str, url: str, s: BrokerSettings, messages: int, n: int) -> float:
    """Events/s of one consumer of `kind` (product | reference) reading `n` events."""
    t = time.perf_counter()
    if kind.startswith("product"):
        c = build(Settings(), url)
        if kind == "product, no routing":  # where the time goes: the route stage's share
            c = replace(c, pipeline=replace(c.pipeline, route=lambda *_args: None))
        consumer = SignalConsumer(c, s, batch=100, max_messages=messages, idle_timeout=30)
        asyncio.run(run_tasks([consumer.run], asyncio.Event()))
        assert consumer.stats.stored == n, consumer.stats
        c.engine.dispose()
    else:
        ref = ReferenceConsumer(url)
        asyncio.run(ref.run(s, lambda done: done >= n, idle=30))
        ref.engine.dispose()
    return n / (time.perf_counter() - t)


def consume_in_processes(kind: str, url: str, s: BrokerSettings, n: int, procs: int) -> float:
    """Events/s of `procs` processes on one durable, until nothing is pending or unacked."""
    ctx = mp.get_context("spawn")
    go, ready = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_child, args=(kind, url, s, go, ready)) for _ in range(procs)]
    for w in workers:
        w.start()
    for _ in workers:
        ready.get(timeout=120)
    t = time.perf_counter()
    go.set()
    while asyncio.run(consumer_left(s)) != (0, 0):
        time.sleep(0.02)
    rate = n / (time.perf_counter() - t)
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0, f"{kind} worker process exited {w.exitcode}"
    return rate


def _child(kind: str, url: str, s: BrokerSettings, go: Any, ready: Any) -> None:
    """One worker process: build everything, say ready, wait for go, drain, stop idle."""
    if kind == "product":
        c = build(Settings(), url)
        consumer = SignalConsumer(c, s, batch=100, idle_timeout=1.0)
        ready.put(kind)
        go.wait()
        asyncio.run(run_tasks([consumer.run], asyncio.Event()))
        c.engine.dispose()
    else:
        ref = ReferenceConsumer(url)
        ready.put(kind)
        go.wait()
        asyncio.run(ref.run(s, lambda _done: False, idle=1.0))
        ref.engine.dispose()


def check_written(url: str, n: int, pairs: set[Any]) -> None:
    """The ledger holds n matched signals, one state row per (account, type), scores."""
    engine = make_engine(url)
    count = sa.func.count()
    with engine.connect() as conn:
        matched = tables.signals.c.account_id.is_not(None)
        got = conn.execute(sa.select(count).where(matched)).scalar_one()
        states = conn.execute(sa.select(count).select_from(tables.account_state)).scalar_one()
        scored = conn.execute(
            sa.select(sa.func.count(sa.distinct(tables.scores.c.account_id)))
        ).scalar_one()
    engine.dispose()
    assert got == n, f"{got} matched signals, expected {n}"
    assert states == len(pairs), f"{states} account_state rows, expected {len(pairs)}"
    assert scored == len({d for d, _ in pairs}), f"{scored} accounts scored"


KINDS = ("product", "reference")


def run_pair(
    fresh_url: Callable[[], Any], nats_url: str, n: int, per_message: int, procs: int,
    kinds: tuple[str, ...] = KINDS,
) -> list[float]:  # fmt: skip
    """Events/s of each kind (product, reference, ...) on the same messages, fresh ledger."""
    rates = []
    for kind in kinds:
        with fresh_url() as url:
            c = seeded_container(url)
            calls, pairs = track_calls(n, ACCOUNTS, c.clock())
            c.engine.dispose()
            bodies = payloads(calls, per_message)
            s = broker_settings(nats_url)
            try:
                asyncio.run(publish_all(s, bodies))
                if procs == 1:
                    rates.append(consume(kind, url, s, len(bodies), n))
                else:
                    rates.append(consume_in_processes(kind, url, s, n, procs))
                assert asyncio.run(consumer_left(s)) == (0, 0), "every message acked"
            finally:
                asyncio.run(drop_streams(s))
            check_written(url, n, pairs)
    return rates
