"""One fault trial: `dtem worker` killed with SIGKILL while it consumes NATS JetStream.

A fresh ledger gets accounts; a fresh stream gets `signals` DTEM signal rows; the
worker (a real `dtem worker` process) is killed -9 at random points — each when the
ledger holds a random number of the signals — and restarted until the stream is drained.
Then every published signal must be stored exactly once and every account's
incremental state must equal the batch recompute from the stored signals.

Used by tests/integration/test_fault_worker_kill.py (3 trials) and bench/faults.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import nats
import sqlalchemy as sa
from nats.js.api import AckPolicy, ConsumerConfig

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.engine import make_engine
from dtem.bootstrap import build
from dtem.config import Settings
from dtem.domain.model import Account
from dtem.domain.scoring import decay_rate, epoch_seconds, intensities_of, intensity_at
from dtem.services.governance import active_policy, ensure_policy
from tests.faults.processes import DTEM, wait_until

TYPES = ("web_visit", "pricing_visit", "form_fill", "intent_surge", "email_engagement")
ACK_WAIT_S = 2.0  # a killed worker's unacked messages come back after this


@dataclass
class WorkerTrial:
    """What one trial saw (the checks fill `problems`; empty means it passed)."""

    seed: int
    published: int
    kills: list[int] = field(default_factory=list)  # signals stored when each kill landed
    runs: int = 0
    stored: int = 0
    duplicates: int = 0
    states_checked: int = 0
    max_rel_error: float = 0.0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def run_worker_trial(
    db_url: str, nats_url: str, seed: int, signals: int = 400, accounts: int = 40, kills: int = 2
) -> WorkerTrial:
    started = time.monotonic()
    rng = random.Random(seed)
    trial = WorkerTrial(seed, signals)
    tag = uuid.uuid4().hex[:10]
    names = {"stream": f"F_{tag}", "subject": f"f{tag}.signals.>", "durable": f"w{tag}"}
    _seed_ledger(db_url, accounts)
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [_row(tag, i, rng, accounts, now) for i in range(signals)]
    asyncio.run(_publish(nats_url, names, rows))
    engine = make_engine(db_url)
    try:
        for _ in range(kills):  # each kill lands when a random share of the rest is stored
            target = min(signals - 1, _stored(engine) + rng.randrange(1, signals // kills))
            trial.kills.append(_run_and_kill(db_url, nats_url, names, engine, target))
            trial.runs += 1
        for _ in range(3):  # drain: redeliveries arrive after ACK_WAIT_S
            trial.runs += 1
            _run_to_idle(db_url, nats_url, names)
            if _stored(engine) >= signals:
                break
        _check(trial, engine, db_url, {r["event_id"] for r in rows}, now)
    finally:
        engine.dispose()
        asyncio.run(_drop(nats_url, names))
    trial.seconds = time.monotonic() - started
    return trial


def _seed_ledger(db_url: str, accounts: int) -> None:
    c = build(Settings(), db_url)
    ensure_policy(c.ledger, c.clock)
    with c.ledger.transaction() as tx:
        tx.insert_accounts(
            [Account(f"A{i}", f"Account {i}", domain=f"a{i}.example.com") for i in range(accounts)],
            c.clock(),
        )
    c.engine.dispose()


def _row(tag: str, i: int, rng: random.Random, accounts: int, now: datetime) -> dict[str, object]:
    at = now - timedelta(seconds=rng.uniform(60, 60 * 86_400))  # the past: never clamped
    return {
        "event_id": f"{tag}-{i}",
        "domain": f"a{rng.randrange(accounts)}.example.com",
        "type": rng.choice(TYPES),
        "occurred_at": at.isoformat(),
        "value": round(rng.uniform(0.5, 5.0), 3),
    }


async def _publish(url: str, names: dict[str, str], rows: list[dict[str, object]]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name=names["stream"], subjects=[names["subject"]])
    config = ConsumerConfig(
        durable_name=names["durable"],
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_S,
        max_deliver=50,
        filter_subject=names["subject"],
    )
    await js.add_consumer(names["stream"], config)  # the worker binds to it as it is
    subject = names["subject"].replace(">", "web")
    for row in rows:
        await js.publish(subject, json.dumps(row).encode())
    await nc.close()


async def _drop(url: str, names: dict[str, str]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    for stream in (names["stream"], f"{names['stream']}_DLQ"):
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(stream)
    await nc.close()


def _worker_cmd(db_url: str, nats_url: str, names: dict[str, str], idle: float) -> list[str]:
    tag = names["durable"]
    return [
        *DTEM, "worker", "--db", db_url, "--nats-url", nats_url,
        "--stream", names["stream"], "--subject", names["subject"],
        "--durable", tag, "--dlq-subject", f"{tag}.dlq", "--max-deliver", "50",
        "--batch", "10", "--no-review", "--idle-timeout", str(idle), "--json",
    ]  # fmt: skip


def _run_and_kill(
    db_url: str, nats_url: str, names: dict[str, str], engine: sa.Engine, target: int
) -> int:
    """Start a worker, SIGKILL it once the ledger holds `target` signals; return the count."""
    proc = subprocess.Popen(
        _worker_cmd(db_url, nats_url, names, idle=30),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _stored(engine) >= target or proc.poll() is not None, 40, 0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    return _stored(engine)


def _run_to_idle(db_url: str, nats_url: str, names: dict[str, str]) -> None:
    cmd = _worker_cmd(db_url, nats_url, names, idle=ACK_WAIT_S * 2.5)
    subprocess.run(cmd, capture_output=True, timeout=120, check=True)


def _stored(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.signals)).scalar_one())


def _check(
    trial: WorkerTrial, engine: sa.Engine, db_url: str, ids: set[str], now: datetime
) -> None:
    with engine.connect() as conn:
        stored = [r[0] for r in conn.execute(sa.select(t.signals.c.event_id))]
    trial.stored, trial.duplicates = len(set(stored)), len(stored) - len(set(stored))
    if set(stored) != ids or trial.duplicates:
        missing = len(ids - set(stored))
        trial.problems.append(f"{missing} signal(s) missing, {trial.duplicates} stored twice")
    _check_states(trial, db_url, now + timedelta(days=1))


def _check_states(trial: WorkerTrial, db_url: str, end: datetime) -> None:
    """Every (account, type) state decayed to `end` equals Σ v·2^(−age/h) of its signals."""
    c = build(Settings(), db_url, create=False)
    now = epoch_seconds(end)
    with c.ledger.transaction() as tx:
        policy = active_policy(tx).policy
        ids = list(tx.all_account_ids().values())
        states = tx.account_states(ids)
        for acc in ids:
            batch = intensities_of(policy, tx.account_signals(acc, end), now)
            state = states.get(acc, {})
            for kind in set(batch) | set(state):
                rate = decay_rate(policy.signal_types[kind].half_life_days)
                inc = intensity_at(state.get(kind), now, rate)
                want = batch.get(kind, 0.0)
                err = abs(inc - want) / max(abs(want), 1e-12)
                trial.max_rel_error = max(trial.max_rel_error, err)
                trial.states_checked += 1
                if not math.isclose(inc, want, rel_tol=1e-9, abs_tol=1e-12):
                    trial.problems.append(f"account {acc} {kind}: state {inc} != batch {want}")
    c.engine.dispose()
