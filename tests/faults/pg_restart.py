"""One fault trial: PostgreSQL restarted under webhook load.

A throwaway cluster (its own port) holds the ledger; a real `dtem serve` uses it; client
threads send `/v1/batch` calls with unique message ids while the cluster is stopped
(fast: sessions are cut), kept down a few seconds and started again. Every answer must be
a 200 (then each of its calls is stored) or a 503 with Retry-After (never a 500, never a
hang), and the server must answer 200 again soon after the database is back, by itself.

Used by tests/integration/test_fault_pg_restart.py and bench/faults.py.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.engine import make_engine
from dtem.bootstrap import build
from dtem.config import Settings
from dtem.domain.model import Account
from dtem.services.governance import ensure_policy
from dtem.services.signals import sources
from tests.faults.pg_cluster import ThrowawayPostgres
from tests.faults.processes import DTEM, free_port, wait_until

CALLS_PER_BATCH = 5
TIMEOUT_S = 20.0  # a request taking longer counts as a hang


@dataclass
class RestartTrial:
    statuses: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    acknowledged: int = 0  # calls in 200 answers
    stored_of_acknowledged: int = 0
    without_retry_after: int = 0
    recovered_after_s: float | None = None  # from the database being back to the next 200
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


@dataclass
class _Load:
    base: str
    key: str
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: list[tuple[float, str, list[str], bool]] = field(default_factory=list)


def run_restart_trial(clients: int = 4, before_s: float = 3.0, down_s: float = 3.0) -> RestartTrial:
    started = time.monotonic()
    trial = RestartTrial()
    with ThrowawayPostgres() as pg:
        pg.create_database("dtem")
        url = pg.url("dtem")
        key = _prepare(url)
        port = free_port()
        server = subprocess.Popen(
            [*DTEM, "serve", "--db", url, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            load = _Load(f"http://127.0.0.1:{port}", key)
            if not wait_until(lambda: _healthy(load.base), 90, 0.2):
                raise RuntimeError("dtem serve did not start")
            back_at = _drive(load, pg, clients, before_s, down_s)
            _judge(trial, load, url, back_at)
        finally:
            server.kill()
            server.wait(10)
    trial.seconds = time.monotonic() - started
    return trial


def _prepare(url: str) -> str:
    c = build(Settings(), url)
    ensure_policy(c.ledger, c.clock)
    with c.ledger.transaction() as tx:
        tx.insert_accounts(
            [Account(f"A{i}", f"Account {i}", domain=f"a{i}.example.com") for i in range(50)],
            c.clock(),
        )
    _, key = sources.create_source(c.ledger, c.clock, "restart-trial")
    c.engine.dispose()
    return key


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _drive(
    load: _Load, pg: ThrowawayPostgres, clients: int, before_s: float, down_s: float
) -> float:
    threads = [threading.Thread(target=_client, args=(load, i)) for i in range(clients)]
    for th in threads:
        th.start()
    time.sleep(before_s)
    pg.restart(down_seconds=down_s)
    back_at = time.monotonic()
    time.sleep(max(8.0, down_s * 2))  # the server must recover within this, by itself
    load.stop.set()
    for th in threads:
        th.join(TIMEOUT_S + 5)
    return back_at


def _client(load: _Load, n: int) -> None:
    auth = (load.key, "")
    with httpx.Client(base_url=load.base, auth=auth, timeout=TIMEOUT_S) as http:
        while not load.stop.is_set():
            ids = [f"pgr-{uuid.uuid4().hex}" for _ in range(CALLS_PER_BATCH)]
            batch = [
                {"type": "track", "userId": f"u{n}", "event": "Pricing Viewed", "messageId": m,
                 "properties": {"email": f"x{n}@a{n}.example.com"}}
                for m in ids
            ]  # fmt: skip
            try:
                r = http.post("/v1/batch", json={"batch": batch})
                status, retry = str(r.status_code), "retry-after" in r.headers
            except httpx.TimeoutException:
                status, retry = "timeout", False
            except httpx.TransportError as exc:
                status, retry = f"transport:{type(exc).__name__}", False
            with load.lock:
                load.answers.append((time.monotonic(), status, ids, retry))
            if status != "200":
                time.sleep(0.2)


def _judge(trial: RestartTrial, load: _Load, url: str, back_at: float) -> None:
    acked: set[str] = set()
    for at, status, ids, retry in load.answers:
        trial.statuses[status] += 1
        trial.sent += len(ids)
        if status == "200":
            acked.update(ids)
            if at > back_at and trial.recovered_after_s is None:
                trial.recovered_after_s = at - back_at
        elif status == "503" and not retry:
            trial.without_retry_after += 1
    bad = {s: n for s, n in trial.statuses.items() if s not in ("200", "503")}
    if bad:
        trial.problems.append(f"answers other than 200/503: {bad}")
    if trial.without_retry_after:
        trial.problems.append(f"{trial.without_retry_after} 503 answer(s) without Retry-After")
    if trial.recovered_after_s is None:
        trial.problems.append("no 200 after the database came back: the server did not recover")
    trial.acknowledged = len(acked)
    trial.stored_of_acknowledged = len(acked & _stored_ids(url))
    if trial.stored_of_acknowledged != trial.acknowledged:
        lost = trial.acknowledged - trial.stored_of_acknowledged
        trial.problems.append(f"{lost} call(s) answered 200 but not stored")


def _stored_ids(url: str) -> set[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        ids = {str(e).rsplit(":", 1)[-1] for (e,) in conn.execute(sa.select(t.signals.c.event_id))}
    engine.dispose()
    return ids
