"""The API answers every error with JSON, keeps the connection usable, and says 503 (with
Retry-After) when the database is gone — checked over real HTTP against `dtem serve`."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL
from tests.e2e.conftest import DTEM, Server, _wait_healthy, free_port, run_dtem


def _token(db: str) -> dict[str, str]:
    out = run_dtem("token", "create", "--role", "admin", "--json", db=db, check=True)
    return {"Authorization": f"Bearer {json.loads(out.stdout)['token']}"}


def test_an_unknown_trigger_is_422_and_the_same_connection_serves_the_next_request(
    server: Server,
) -> None:
    headers = _token(server.db)
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as client:
        bad = client.post("/routing/ACME", json={"trigger": "whim"})
        assert bad.status_code == 422
        assert bad.json()["error"] == "ArgumentInvalid" and "whim" in bad.json()["detail"]
        missing = client.post("/routing/ACME", json={"trigger": "manual"})
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["type"] == "https://dtem.dev/problems/not-found"
        assert client.get("/health").json()["status"] == "ok"


@pytest.fixture
def doomed_database() -> Iterator[tuple[str, sa.Engine]]:
    """A PostgreSQL database of its own (the test drops it) and an admin engine."""
    if not PG_URL:
        pytest.skip("DTEM_TEST_POSTGRES_URL not set")
    admin_url = sa.engine.make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"dtem_doomed_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(drivername="postgresql", database=name)
    yield url.render_as_string(hide_password=False), admin
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_with_the_database_gone_every_endpoint_answers_503_json_with_retry_after(
    doomed_database: tuple[str, sa.Engine],
) -> None:
    db, admin = doomed_database
    run_dtem("init", db=db, check=True)
    headers = _token(db)
    made = run_dtem("source", "create", "web", "--json", db=db, check=True)
    key = json.loads(made.stdout)["write_key"]
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
        with admin.connect() as conn:
            name = sa.engine.make_url(db).database
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        with httpx.Client(base_url=base, timeout=10) as client:
            health = client.get("/health")
            assert health.status_code == 503 and health.json()["database"] == "unreachable"
            track = {"userId": "u1", "event": "Demo Requested", "messageId": "m-1"}
            answers = [
                client.post("/v1/track", json=track, auth=(key, "")),
                client.get("/leases", headers=headers),
                client.get("/health"),  # the connection is still usable after each 503
            ]
        for answer in [health, *answers]:
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["status"] == 503
            assert int(answer.headers["retry-after"]) > 0
            assert "unavailable" in json.dumps(answer.json())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
