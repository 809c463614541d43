"""Webhook throughput: Segment batches of 100 events into `POST /v1/batch` over loopback.

Starts the real API (`create_app`, one uvicorn worker) in a subprocess on a fresh SQLite
ledger with 1,000 accounts, then sends batches from several concurrent connections for
`--seconds`. The baseline, measured in the same run against the same server, is a bare
endpoint that reads and parses the same body and discards it. Prints events/s and
request latency (p50/p99) for both, and the ratio.

    .venv/bin/python bench/webhook.py --seconds 20 --connections 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

BATCH = 100


def serve(db: str, port: int) -> None:
    """The server side (run in the subprocess)."""
    import uvicorn
    from fastapi import Request

    from dtem.bootstrap import build
    from dtem.config import Settings
    from dtem.domain.model import Account
    from dtem.entrypoints.api.app import create_app
    from dtem.services import governance
    from dtem.services.signals import sources

    c = build(Settings(), db)
    governance.ensure_policy(c.ledger, c.clock)
    with c.ledger.transaction() as tx:
        tx.insert_accounts(
            [Account(f"A{i}", f"Account {i}", domain=f"a{i}.com") for i in range(1000)], c.clock()
        )
    _, key = sources.create_source(c.ledger, c.clock, "bench")
    Path(db.removeprefix("sqlite:///") + ".key").write_text(key)
    app = create_app(c)

    @app.post("/bench/discard")
    async def discard(request: Request) -> dict[str, bool]:
        json.loads(await request.body())  # same read + parse, nothing stored
        return {"success": True}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def body(n: int) -> bytes:
    calls = [
        {
            "type": "track",
            "userId": f"u{i}",
            "event": "Pricing Page Viewed" if i % 3 else "Page Viewed",
            "messageId": uuid.uuid4().hex,
            "properties": {"domain": f"a{(n * BATCH + i) % 1000}.com", "path": "/pricing"},
            "timestamp": "2027-01-04T09:00:00Z",
        }
        for i in range(BATCH)
    ]
    return json.dumps({"batch": calls}).encode()


async def load(url: str, key: str, seconds: float, connections: int) -> tuple[int, list[float]]:
    """Send batches until time is up; return events accepted and request latencies (s)."""
    latencies: list[float] = []
    accepted = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(auth=(key, ""), limits=limits, timeout=60) as client:

        async def worker(w: int) -> None:
            nonlocal accepted
            n = w * 1_000_000
            while time.monotonic() < deadline:
                payload, n = body(n), n + 1
                t0 = time.perf_counter()
                r = await client.post(url, content=payload)
                latencies.append(time.perf_counter() - t0)
                if r.status_code == 200:
                    accepted += r.json().get("accepted", BATCH)

        await asyncio.gather(*(worker(w) for w in range(connections)))
    return accepted, latencies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(tmp: str) -> tuple[subprocess.Popen[bytes], str, str]:
    db, port = f"sqlite:///{tmp}/bench.db", free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", db, str(port)])
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base, Path(f"{tmp}/bench.db.key").read_text()
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def row(name: str, events: int, seconds: float, lat: list[float]) -> tuple[str, float]:
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    rate = events / seconds
    print(
        f"{name:<28}{rate:>12,.0f}{len(lat) / seconds:>10,.1f}{q[49] * 1e3:>10.1f}"
        f"{q[98] * 1e3:>10.1f}"
    )
    return name, rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--serve", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        proc, base, key = start(tmp)
        try:
            print(f"{'endpoint':<28}{'events/s':>12}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
            runs = {}
            for name, path in (
                ("baseline: parse + discard", "/bench/discard"),
                ("/v1/batch (stored, scored)", "/v1/batch"),
            ):
                events, lat = asyncio.run(load(base + path, key, args.seconds, args.connections))
                events = events if path == "/v1/batch" else len(lat) * BATCH
                runs[path] = row(name, events, args.seconds, lat)[1]
            print(f"ratio stored / baseline: {runs['/v1/batch'] / runs['/bench/discard']:.2f}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
