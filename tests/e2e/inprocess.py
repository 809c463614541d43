"""The API in-process over HTTP (Starlette's TestClient) on a fresh SQLite file or a fresh
PostgreSQL schema, with a bearer token per role (the rep token acts as R1)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from dtem.bootstrap import Container, build
from dtem.config import Settings
from dtem.domain.clock import FixedClock
from dtem.domain.model import Rep
from dtem.entrypoints.api.app import create_app
from dtem.services import access
from dtem.services.governance import ensure_policy
from tests.conftest import T0


@dataclass
class Api:
    client: TestClient
    c: Container
    tokens: dict[str, str]

    def get(self, path: str, role: str = "admin", **kw: Any) -> httpx.Response:
        return self.client.get(path, headers=self._auth(role), **kw)

    def post(self, path: str, role: str = "admin", **kw: Any) -> httpx.Response:
        return self.client.post(path, headers=self._auth(role), **kw)

    def _auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def serve(request: pytest.FixtureRequest) -> Iterator[Api]:
    """The body of a test module's `api` fixture, parametrised by "sqlite" / "postgres":

    @pytest.fixture(params=["sqlite", "postgres"])
    def api(request): yield from serve(request)
    """
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    c = build(Settings(), url)
    c.clock = FixedClock(T0)
    ensure_policy(c.ledger, c.clock)
    with c.ledger.transaction() as tx:
        tx.insert_reps([Rep("R1", "Rita", team="Enterprise"), Rep("R2", "Raj")], T0)
    subjects = {"rep": "R1", "agent": "bot"}
    tokens = {
        role: access.create_token(c.ledger, c.clock, role, role, subject=subjects.get(role))[1]
        for role in access.ROLES
    }
    with TestClient(create_app(c), raise_server_exceptions=False) as client:
        yield Api(client, c, tokens)
    c.engine.dispose()
