"""The webhook app in-process on SQLite or PostgreSQL, with a fixed clock, for input tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from dtem.adapters.ledger import tables
from dtem.bootstrap import Container, build
from dtem.config import Settings
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account
from dtem.entrypoints.api.app import create_app
from dtem.services import governance
from dtem.services.signals import sources
from tests.conftest import T0


@dataclass
class Hook:
    """A running webhook: its client, a source's write key and the container behind it."""

    client: TestClient
    key: str
    c: Container

    def post(self, path: str, body: Any, key: str | None = None, **kw: Any) -> Any:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.post(path, content=content, auth=(key or self.key, ""), **kw)

    def signals(self) -> list[dict[str, Any]]:
        """Every stored signal row, in insertion order."""
        with self.c.engine.connect() as conn:
            q = sa.select(tables.signals).order_by(tables.signals.c.id)
            return [dict(r) for r in conn.execute(q).mappings()]


def start_hook(url: str, settings: Settings | None = None) -> Iterator[Hook]:
    """Build a ledger at `url` with account A1 (acme.com) and a source; serve it."""
    c = build(settings or Settings(), url)
    c.clock = FixedClock(T0)
    governance.ensure_policy(c.ledger, c.clock)
    with c.ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com")], T0)
    _, key = sources.create_source(c.ledger, c.clock, "web")
    with TestClient(create_app(c), raise_server_exceptions=False) as client:
        yield Hook(client, key, c)
    c.engine.dispose()


def hook_on(request: pytest.FixtureRequest, settings: Settings | None = None) -> Iterator[Hook]:
    """For a fixture parametrised by backend ("sqlite", "postgres"): its webhook."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    yield from start_hook(str(url), settings)
