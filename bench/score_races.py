"""Concurrent writers on PostgreSQL: do any per-account score states lose an update?

Seeds a fresh schema with a few hot accounts, then either
- `--mode serve`: starts one `dtem serve` and sends `/v1/batch` deliveries from
  `--clients` concurrent connections, every delivery about the same hot accounts; or
- `--mode worker`: publishes the same calls to a fresh NATS JetStream stream and runs
  `--clients` `dtem worker` processes on one durable consumer.
Afterwards every (account, signal type) state is compared with the recompute from the
stored signals (tests/state_check.py). Prints responses by status (-1: the connection
was dropped), states checked and states wrong (0 when no update was lost), and the worst
relative error.

    .venv/bin/python bench/score_races.py --db postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/score_races.py --mode worker --clients 2 --nats nats://127.0.0.1:4222
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.state_check

from tests.state_check import check_states

from dtem.adapters.broker.nats import ensure_stream
from dtem.adapters.ledger.engine import make_engine
from dtem.bootstrap import build
from dtem.config import Settings
from dtem.domain.model import Account
from dtem.services import governance
from dtem.services.signals import sources

DTEM = [sys.executable, "-m", "dtem.entrypoints.cli.app"]
EVENTS = ("Demo Requested", "Pricing Page Viewed", "Page Viewed", "Form Submitted")


def fresh_schema(base: str) -> tuple[str, str]:
    """A new schema on `base` and the URL whose search_path is it."""
    schema = f"races_{uuid.uuid4().hex[:10]}"
    with make_engine(base).begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    return schema, f"{base}{sep}options=-csearch_path%3D{schema}"


def seed(url: str, accounts: int) -> str:
    """Migrate, activate the default policy, add the hot accounts; return a write key."""
    c = build(Settings(), url)
    governance.ensure_policy(c.ledger, c.clock)
    with c.ledger.transaction() as tx:
        rows = [Account(f"H{i}", f"Hot {i}", domain=f"hot{i}.com") for i in range(accounts)]
        tx.insert_accounts(rows, c.clock())
    _, key = sources.create_source(c.ledger, c.clock, "races")
    c.engine.dispose()
    return key


def calls(rng: random.Random, n: int, accounts: int, now: datetime) -> list[dict[str, object]]:
    """`n` track calls about the hot accounts, at random times in the past 30 days."""
    return [
        {
            "type": "track",
            "userId": f"u{rng.randrange(50)}",
            "event": rng.choice(EVENTS),
            "messageId": uuid.uuid4().hex,
            "timestamp": (now - timedelta(seconds=rng.uniform(60, 30 * 86_400))).isoformat(),
            "properties": {
                "domain": f"hot{rng.randrange(accounts)}.com",
                "value": rng.uniform(0.5, 3),
            },
        }
        for _ in range(n)
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def send_all(base: str, key: str, a: argparse.Namespace) -> Counter[int]:
    """Each client sends `--batches` deliveries of `--size` calls; count the statuses."""
    statuses: Counter[int] = Counter()
    now = datetime.now(UTC)

    async def client(seed_: int) -> None:
        rng = random.Random(seed_)
        async with httpx.AsyncClient(base_url=base, auth=(key, ""), timeout=120) as http:
            for _ in range(a.batches):
                body = {"batch": calls(rng, a.size, a.accounts, now)}
                try:
                    statuses[(await http.post("/v1/batch", json=body)).status_code] += 1
                except httpx.TransportError:  # the server dropped the connection
                    statuses[-1] += 1

    await asyncio.gather(*(client(i) for i in range(a.clients)))
    return statuses


def run_serve(url: str, key: str, a: argparse.Namespace) -> Counter[int]:
    with tempfile.TemporaryFile() as log:  # the server's log: read if it fails to start
        return _serve_and_send(url, key, a, log)


def _serve_and_send(url: str, key: str, a: argparse.Namespace, log: Any) -> Counter[int]:
    port = free_port()
    proc = subprocess.Popen(
        [*DTEM, "serve", "--db", url, "--port", str(port)], stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                log.seek(0)
                raise SystemExit(f"dtem serve did not start: {log.read().decode()[-2000:]}")
            time.sleep(0.2)
        return asyncio.run(send_all(base, key, a))
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def publish(nats_url: str, stream: str, subject: str, bodies: list[bytes]) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, stream, subject)
    for start in range(0, len(bodies), 500):
        chunk = bodies[start : start + 500]
        await asyncio.gather(*(js.publish(subject.replace(">", "web"), b) for b in chunk))
    await nc.close()


async def drop_stream(nats_url: str, *names: str) -> None:
    nc = await nats.connect(nats_url)
    for name in names:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await nc.jetstream().delete_stream(name)
    await nc.close()


def run_workers(url: str, a: argparse.Namespace) -> Counter[int]:
    """Publish every call, then drain them with `--clients` worker processes."""
    tag = uuid.uuid4().hex[:8]
    stream, subject, dlq = f"RACES_{tag}", f"races.{tag}.signals.>", f"races.{tag}.dlq"
    rng, now = random.Random(7), datetime.now(UTC)
    bodies = [
        json.dumps(c).encode()
        for _ in range(a.clients * a.batches)
        for c in calls(rng, a.size, a.accounts, now)
    ]
    asyncio.run(publish(a.nats, stream, subject, bodies))
    args = ["--nats-url", a.nats, "--stream", stream, "--subject", subject, "--durable",
            f"races{tag}", "--dlq-subject", dlq, "--idle-timeout", "5", "--json"]  # fmt: skip
    try:
        procs = [
            subprocess.Popen(
                [*DTEM, "worker", "--db", url, *args], stdout=subprocess.PIPE, text=True
            )
            for _ in range(a.clients)
        ]
        outs = [p.communicate(timeout=600)[0] for p in procs]
        stats = [json.loads(out[out.index("{") :]) for out in outs]
    finally:
        asyncio.run(drop_stream(a.nats, stream, f"{stream}_DLQ"))
    return Counter({200: sum(s["stored"] for s in stats), 0: sum(s["dead_letters"] for s in stats)})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", default=os.environ.get("DTEM_TEST_POSTGRES_URL"), help="PostgreSQL URL")
    p.add_argument("--nats", default=os.environ.get("DTEM_TEST_NATS_URL", "nats://127.0.0.1:4222"))
    p.add_argument("--mode", choices=("serve", "worker"), default="serve")
    p.add_argument("--clients", type=int, default=4, help="HTTP connections or worker processes")
    p.add_argument("--batches", type=int, default=25, help="deliveries per client")
    p.add_argument("--size", type=int, default=100, help="calls per delivery")
    p.add_argument("--accounts", type=int, default=20, help="hot accounts all clients write to")
    a = p.parse_args()
    if not a.db or not a.db.startswith("postgres"):
        raise SystemExit("--db must be a PostgreSQL URL (or set DTEM_TEST_POSTGRES_URL)")
    schema, url = fresh_schema(a.db)
    try:
        key = seed(url, a.accounts)
        started = time.perf_counter()
        got = run_serve(url, key, a) if a.mode == "serve" else run_workers(url, a)
        seconds = time.perf_counter() - started
        engine = make_engine(url)
        from dtem.adapters.ledger.sql import SqlLedger

        check = check_states(SqlLedger(engine), datetime.now(UTC))
        engine.dispose()
    finally:
        with make_engine(a.db).begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    label = "responses by status" if a.mode == "serve" else "stored (200) / dead letters (0)"
    print(f"mode {a.mode}, {a.clients} clients x {a.batches} deliveries x {a.size} calls "
          f"on {a.accounts} hot accounts, {seconds:.1f} s")  # fmt: skip
    print(f"{label}: {dict(sorted(got.items()))}")
    print(f"states checked: {check.states}, wrong: {check.wrong}, "
          f"worst relative error: {check.worst_relative_error:.3g}")  # fmt: skip


if __name__ == "__main__":
    main()
