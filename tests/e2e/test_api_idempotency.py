"""`Idempotency-Key` on POSTs over real HTTP (`dtem serve`), on SQLite and PostgreSQL: a
retry gets the first answer replayed, another body under the same key is 422, a key is
per credential, and two server processes racing with one key run the request once."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from dtem.bootstrap import build
from dtem.config import Settings
from dtem.domain.clock import FixedClock
from dtem.entrypoints.api.app import create_app
from dtem.entrypoints.api.idempotency import MAX_BODY
from dtem.services import access
from tests.conftest import T0
from tests.e2e.conftest import DTEM, Server, _wait_healthy, free_port, run_dtem


def _admin(db: str) -> dict[str, str]:
    out = run_dtem("token", "create", "--role", "admin", "--json", db=db, check=True)
    return {"Authorization": f"Bearer {json.loads(out.stdout)['token']}"}


def _store(note: str) -> dict[str, object]:
    return {"document": {"threshold": 61}, "note": note}


def _versions(client: httpx.Client) -> int:
    return len(client.get("/policies", params={"limit": 500}).json()["items"])


def test_a_retry_is_answered_from_the_first_and_runs_nothing_again(any_server: Server) -> None:
    headers = _admin(any_server.db)
    with httpx.Client(base_url=any_server.base_url, headers=headers, timeout=30) as client:
        before = _versions(client)
        key = {"Idempotency-Key": f"store-{uuid.uuid4()}"}
        first = client.post("/policies", json=_store("once"), headers=key)
        again = client.post("/policies", json=_store("once"), headers=key)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert _versions(client) == before + 1

        other = client.post("/policies", json=_store("another"), headers=key)
        assert other.status_code == 422
        assert other.headers["content-type"] == "application/problem+json"
        assert other.json()["type"] == "https://dtem.dev/problems/idempotency-key-reused"

        bad = client.post("/policies", json=_store("x"), headers={"Idempotency-Key": "a b"})
        assert bad.status_code == 422 and "Idempotency-Key" in bad.json()["detail"]
        assert _versions(client) == before + 1

        second_admin = _admin(any_server.db)  # the same key under another token is its own
        theirs = client.post("/policies", json=_store("once"), headers={**key, **second_admin})
        assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
        assert _versions(client) == before + 2


def test_a_refusal_is_replayed_too_but_a_forbidden_call_is_not_kept(server: Server) -> None:
    headers = _admin(server.db)
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        key = {"Idempotency-Key": "route-nope"}
        missing = client.post("/routing/NOPE", json={"trigger": "manual"}, headers=key)
        replay = client.post("/routing/NOPE", json={"trigger": "manual"}, headers=key)
        assert (missing.status_code, replay.status_code) == (404, 404)
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.headers["content-type"] == "application/problem+json"
        nobody = {"Authorization": "Bearer nope", "Idempotency-Key": "k401"}
        for _ in range(2):
            refused = client.post("/policies", json=_store("x"), headers=nobody)
            assert refused.status_code == 401 and "idempotent-replayed" not in refused.headers


def test_a_key_expires_after_24_hours(tmp_path: Path) -> None:
    c = build(Settings(), f"sqlite:///{tmp_path}/ledger.db")
    clock = FixedClock(T0)
    c.clock = clock
    token = access.create_token(c.ledger, c.clock, "admin", "admin")[1]
    auth = {"Authorization": f"Bearer {token}", "Idempotency-Key": "daily"}
    with TestClient(create_app(c)) as client:
        assert client.post("/policies", json=_store("a"), headers=auth).status_code == 201
        clock.advance(hours=23)
        assert client.post("/policies", json=_store("b"), headers=auth).status_code == 422
        clock.advance(hours=2)
        fresh = client.post("/policies", json=_store("b"), headers=auth)
        assert fresh.status_code == 201 and "idempotent-replayed" not in fresh.headers
    c.engine.dispose()


def test_a_body_too_large_to_hold_is_refused_with_413_and_runs_nothing(tmp_path: Path) -> None:
    c = build(Settings(), f"sqlite:///{tmp_path}/ledger.db")
    token = access.create_token(c.ledger, c.clock, "admin", "admin")[1]
    auth = {"Authorization": f"Bearer {token}", "Idempotency-Key": "big"}
    padding = "x" * (MAX_BODY + 1)
    with TestClient(create_app(c)) as client:
        before = len(client.get("/policies", headers=auth).json()["items"])
        declared = client.post("/policies", json={**_store("big"), "pad": padding}, headers=auth)

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            yield b'{"note": "big", "document": {"threshold": 61}, "pad": "'
            for _ in range(17):
                yield b"x" * (1024 * 1024)
            yield b'"}'

        streamed = client.post(
            "/policies", content=chunks(), headers={**auth, "Content-Type": "application/json"}
        )
        for answer in (declared, streamed):
            assert answer.status_code == 413, answer.text
            assert answer.json()["type"] == "https://dtem.dev/problems/body-too-large"
            assert str(MAX_BODY) in answer.json()["detail"]
        small = client.post("/policies", json=_store("small"), headers=auth)  # key not taken
        assert small.status_code == 201
        assert len(client.get("/policies", headers=auth).json()["items"]) == before + 1
    c.engine.dispose()


@pytest.fixture
def two_servers(pg_url: str) -> Iterator[list[str]]:
    """Two `dtem serve` processes on one PostgreSQL ledger."""
    run_dtem("init", db=pg_url, check=True)
    with ExitStack() as stack:
        bases = []
        for _ in range(2):
            port = free_port()
            proc = subprocess.Popen(
                [*DTEM, "serve", "--db", pg_url, "--port", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            stack.callback(proc.wait, 10)
            stack.callback(proc.terminate)
            _wait_healthy(f"http://127.0.0.1:{port}", proc)
            bases.append(f"http://127.0.0.1:{port}")
        yield bases


def test_two_processes_racing_with_one_key_run_the_request_once(
    two_servers: list[str], pg_url: str
) -> None:
    headers = _admin(pg_url)
    clients = [httpx.Client(base_url=b, headers=headers, timeout=60) for b in two_servers]
    before = _versions(clients[0])
    rounds = 8

    def post(i: int, client: httpx.Client) -> httpx.Response:
        key = {"Idempotency-Key": f"race-{i}"}
        return client.post("/policies", json=_store(f"race {i}"), headers=key)

    answers: dict[int, list[httpx.Response]] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for i in range(rounds):  # one key at a time, sent to both processes at once
            answers[i] = list(pool.map(post, [i, i], clients))
    for pair in answers.values():
        ran = [r for r in pair if r.status_code == 201 and "idempotent-replayed" not in r.headers]
        others = [r for r in pair if r not in ran]
        assert len(ran) == 1, [(r.status_code, r.text) for r in pair]
        (other,) = others
        assert other.status_code == 409 or other.headers.get("idempotent-replayed") == "true"
        if other.status_code == 409:
            assert other.json()["type"] == "https://dtem.dev/problems/idempotency-key-in-flight"
    assert _versions(clients[0]) == before + rounds
    for client in clients:
        client.close()
