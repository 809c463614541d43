"""End-to-end helpers: run `dtem` as a user types it, start the API on a real port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

DTEM = [sys.executable, "-m", "dtem.entrypoints.cli.app"]


def run_dtem(
    *args: str, db: str | None = None, check: bool = False, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess; `db` is passed with --db where given; `cwd` is where
    files a command writes beside its ledger go (the demo's data/ and out/)."""
    cmd = [*DTEM, *args, *(["--db", db] if db else [])]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=300, check=False, cwd=cwd
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout[-2000:]}"
        )
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base_url: str
    db: str


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """`dtem serve` on a free loopback port with a fresh SQLite ledger."""
    with serving(f"sqlite:///{tmp_path}/api.db") as running:
        yield running


@pytest.fixture(params=["sqlite", "postgres"])
def any_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """`dtem serve` on a fresh SQLite ledger, then on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        db = f"sqlite:///{tmp_path}/api.db"
    else:
        db = request.getfixturevalue("pg_url")
    with serving(db) as running:
        yield running


@contextmanager
def serving(db: str) -> Iterator[Server]:
    """Initialise the ledger at `db` and run `dtem serve` on it until the block ends."""
    run_dtem("init", db=db, check=True)
    port = free_port()
    proc = subprocess.Popen(
        [*DTEM, "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        yield Server(base, db)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_healthy(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("server did not become healthy in 90 s")
