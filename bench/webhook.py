"""Webhook throughput: Segment batches of 100 events into `POST /v1/batch` over loopback.

Two servers, each one uvicorn worker in its own process, take the same load in the same
run:

* **DTEM**: the real API (`create_app`) on a fresh SQLite ledger with 1,000 accounts —
  the write key checked, every event validated, resolved to an account, stored and
  scored before the 200;
* **reference**: a bare FastAPI app that validates the same batch with pydantic and
  inserts one SQLite row per event (`INSERT OR IGNORE` on the message id), committed
  before the 200 — the least a durable webhook can do.

The load comes from `wrk` (C, from Debian's package `wrk`), not from Python, so the
client is not the limit: its Lua script builds a fresh batch per request with unique
message ids. Only 2xx responses count, and the events actually stored are counted in
each database afterwards; the table shows both. Latency percentiles are wrk's.

Events per second depend on what else the machine runs; the CPU seconds each server
process spends per 1,000 stored events (user + system, read from `/proc/<pid>/stat`
before and after its run) do not, so the table prints both and a ratio of each.

    apt-get install wrk    # once
    .venv/bin/python bench/webhook.py --seconds 20 --connections 16
    .venv/bin/python bench/webhook.py --postgres postgresql://postgres@127.0.0.1:5432/test

With `--postgres URL` DTEM's ledger is a fresh schema in that database (dropped
afterwards) instead of SQLite; the reference stays the same.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

BATCH = 100
ACCOUNTS = 1000

LUA = """
local counter = 0
local ts = "%(ts)s"
local prefix = "%(prefix)s"
function setup(thread)
  thread:set("tid", (tid_next or 0))
  tid_next = (tid_next or 0) + 1
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "%(auth)s"
request = function()
  counter = counter + 1
  local parts = {}
  for i = 0, %(last)d do
    local event = (i %% 3 ~= 0) and "Pricing Page Viewed" or "Page Viewed"
    parts[#parts + 1] = string.format(
      '{"type":"track","userId":"u%%d","event":"%%s","messageId":"%%s-%%d-%%d-%%d",'
      .. '"properties":{"domain":"a%%d.com","path":"/pricing"},"timestamp":"%%s"}',
      i, event, prefix, tid, counter, i, (counter * %(batch)d + i) %% %(accounts)d, ts)
  end
  return wrk.format(nil, nil, nil, '{"batch":[' .. table.concat(parts, ",") .. ']}')
end
"""


# ---------------------------------------------------------------- the two servers


def serve_dtem(db: str, port: int) -> None:
    """The product (run in a subprocess)."""
    import uvicorn

    from dtem.bootstrap import build
    from dtem.config import Settings
    from dtem.domain.model import Account
    from dtem.entrypoints.api.app import create_app
    from dtem.services import governance
    from dtem.services.signals import sources

    c = build(Settings(), db)
    governance.ensure_policy(c.ledger, c.clock)
    accounts = [Account(f"A{i}", f"Account {i}", domain=f"a{i}.com") for i in range(ACCOUNTS)]
    with c.ledger.transaction() as tx:
        tx.insert_accounts(accounts, c.clock())
    _, key = sources.create_source(c.ledger, c.clock, "bench")
    Path(os.environ["DTEM_BENCH_KEY_FILE"]).write_text(key)
    uvicorn.run(create_app(c), host="127.0.0.1", port=port, log_level="warning", access_log=False)


class Event(BaseModel):
    type: str
    userId: str | None = None  # noqa: N815 - Segment's field name
    event: str | None = None
    messageId: str  # noqa: N815
    properties: dict[str, Any] = {}
    timestamp: dt.datetime


class Batch(BaseModel):
    batch: list[Event]


def reference_app(path: str) -> FastAPI:
    """Bare FastAPI + pydantic + one committed SQLite insert per event."""
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS events (message_id TEXT PRIMARY KEY, domain TEXT,"
        " type TEXT, occurred_at TEXT)"
    )
    lock = threading.Lock()
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/batch")
    def batch(body: Batch) -> dict[str, int]:
        rows = [
            (e.messageId, str(e.properties.get("domain")), e.event, e.timestamp.isoformat())
            for e in body.batch
        ]
        with lock:
            conn.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)", rows)
            conn.commit()
        return {"accepted": len(rows)}

    return app


def serve_reference(path: str, port: int) -> None:
    import uvicorn

    uvicorn.run(reference_app(path), host="127.0.0.1", port=port, log_level="warning")


# ---------------------------------------------------------------- the load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(role: str, target: str, tmp: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "DTEM_BENCH_KEY_FILE": f"{tmp}/dtem.key"}
    proc = subprocess.Popen([sys.executable, __file__, "--serve", role, target, str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the {role} server did not start")


def run_wrk(url: str, auth: str, seconds: float, connections: int, tmp: str) -> dict[str, float]:
    """Drive `url` with wrk; return requests, 2xx requests, p50/p99 in ms."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    script = Path(tmp) / f"load-{os.getpid()}-{time.monotonic_ns()}.lua"
    script.write_text(
        LUA
        % {
            "ts": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "prefix": script.stem,
            "auth": auth,
            "last": BATCH - 1,
            "batch": BATCH,
            "accounts": ACCOUNTS,
        }
    )
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s", "--latency",
         "--timeout", "30s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*?timeout (\d+)", out)
    ok = total - (int(bad.group(1)) if bad else 0) - (int(errors.group(1)) if errors else 0)
    return {"requests": total, "ok": ok, "p50": _pct(out, "50%"), "p99": _pct(out, "99%")}


def _pct(out: str, label: str) -> float:
    """A wrk latency percentile in milliseconds."""
    m = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if m is None:
        return float("nan")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; utime is field 14
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored(db: str, table: str) -> int:
    """Rows in `table` of a SQLite file or a database URL."""
    if "://" not in db:
        with sqlite3.connect(db) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    import sqlalchemy as sa

    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


@contextlib.contextmanager
def pg_schema(url: str) -> Iterator[str]:
    """A fresh schema in the database at `url`, as a URL whose search path is it; dropped after."""
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--postgres", metavar="URL", help="DTEM on PostgreSQL (a fresh schema)")
    ap.add_argument("--serve", nargs=3, metavar=("ROLE", "TARGET", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        role, target, port = args.serve
        (serve_dtem if role == "dtem" else serve_reference)(target, int(port))
        return
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark drives the servers with wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        dtem_db, dtem_count = f"sqlite:///{tmp}/dtem.db", f"{tmp}/dtem.db"
        if args.postgres:
            dtem_db = dtem_count = stack.enter_context(pg_schema(args.postgres))
            dtem_count = dtem_count.replace("postgresql://", "postgresql+psycopg://", 1)
        rows = []
        for name, role, target, db, table in (
            ("reference: FastAPI + SQLite", "reference", f"{tmp}/ref.db", f"{tmp}/ref.db",
             "events"),
            (f"DTEM /v1/batch ({'PostgreSQL' if args.postgres else 'SQLite'}, scored)", "dtem",
             dtem_db, dtem_count, "signals"),
        ):  # fmt: skip
            proc, base = start(role, target, tmp)
            try:
                key = Path(f"{tmp}/dtem.key").read_text() if role == "dtem" else "none"
                auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
                before, cpu_before = stored(db, table), cpu_seconds(proc.pid)
                r = run_wrk(base + "/v1/batch", auth, args.seconds, args.connections, tmp)
                cpu = cpu_seconds(proc.pid) - cpu_before
                rows.append((name, r, stored(db, table) - before, cpu))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    print(f"{args.connections} connections, {args.seconds:.0f} s each, {BATCH} events a request")
    print(
        f"{'server':<34}{'req':>8}{'2xx':>8}{'stored ev/s':>13}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU s/1k ev':>13}"
    )
    rates, cpus = [], []
    for name, r, n_stored, cpu in rows:
        rate = n_stored / args.seconds
        rates.append(rate)
        cpus.append(cpu * 1000 / max(n_stored, 1))
        print(
            f"{name:<34}{r['requests']:>8,.0f}{r['ok']:>8,.0f}{rate:>13,.0f}"
            f"{r['p50']:>9.1f}{r['p99']:>9.1f}{cpus[-1]:>13.3f}"
        )
        if n_stored < r["ok"] * BATCH:  # more is fine: requests in flight when wrk stops
            print(f"  LOST: {n_stored:,} events stored for {r['ok']:,.0f} × {BATCH} accepted")
    print(f"ratio DTEM / reference (stored events/s): {rates[1] / max(rates[0], 1e-9):.2f}")
    # CPU per event does not depend on how many cores other work leaves the servers.
    print(f"ratio reference / DTEM (CPU per stored event): {cpus[0] / max(cpus[1], 1e-9):.2f}")
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
