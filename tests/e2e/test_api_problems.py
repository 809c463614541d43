"""Every error the API sends is an RFC 9457 problem (`application/problem+json`) with
`type`, `title`, `status`, `detail`, `instance` and the extension `error` — domain errors,
request validation, authentication, roles, unknown paths and methods, the last-resort 500
and the 503 of a ledger that is gone. In-process on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from dtem.bootstrap import build
from dtem.config import Settings
from dtem.domain.clock import FixedClock
from dtem.domain.errors import LedgerUnavailable
from dtem.entrypoints.api.app import create_app
from dtem.services import access
from dtem.services.governance import ensure_policy
from tests.conftest import T0

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "error"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    c = build(Settings(), f"sqlite:///{tmp_path}/ledger.db")
    c.clock = FixedClock(T0)
    ensure_policy(c.ledger, c.clock)
    app = create_app(c)

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/gone", include_in_schema=False)
    def gone() -> None:
        raise LedgerUnavailable("connection refused by db.internal:5432")

    tokens = {r: access.create_token(c.ledger, c.clock, r, r)[1] for r in ("admin", "viewer")}
    with TestClient(app, raise_server_exceptions=False) as tc:
        tc.headers["Authorization"] = f"Bearer {tokens['admin']}"
        tc.viewer = tokens["viewer"]  # type: ignore[attr-defined]
        yield tc
    c.engine.dispose()


def _problem(resp: httpx.Response, status: int) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = resp.json()
    assert body.keys() >= PROBLEM_MEMBERS, body
    assert body["status"] == status
    return body


def test_a_domain_error_is_a_problem_typed_by_its_name(client: TestClient) -> None:
    body = _problem(client.post("/routing/NOPE", json={"trigger": "manual"}), 404)
    assert body["type"] == "https://dtem.dev/problems/not-found"
    assert body["title"] == "Not found" and body["error"] == "NotFound"
    assert body["instance"] == "/routing/NOPE" and "NOPE" in str(body["detail"])


def test_a_policy_refused_keeps_its_problems_member(client: TestClient) -> None:
    doc = {"threshold": -5}
    body = _problem(client.post("/policies", json={"document": doc}), 422)
    assert body["type"] == "https://dtem.dev/problems/policy-invalid"
    assert isinstance(body["problems"], list) and body["problems"]


def test_a_request_that_cannot_be_read_lists_each_field_and_reason(client: TestClient) -> None:
    body = _problem(client.post("/bids", json={"rep": "R1", "leases": "many"}), 422)
    assert body["type"] == "https://dtem.dev/problems/request-invalid"
    errors = {e["field"]: e for e in body["errors"]}  # type: ignore[attr-defined]
    assert set(errors) == {"body.quarter", "body.leases"}
    assert errors["body.quarter"]["loc"] == ["body", "quarter"]
    assert errors["body.quarter"]["reason"] == "Field required"
    assert "body.leases" in str(body["detail"])


def test_no_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    resp = client.get("/policy", headers={"Authorization": ""})
    body = _problem(resp, 401)
    assert resp.headers["www-authenticate"] == "Bearer"
    assert body["type"] == "https://dtem.dev/problems/auth-error"
    assert body["detail"] == "missing bearer token"


def test_a_role_that_may_not_is_403(client: TestClient) -> None:
    viewer = {"Authorization": f"Bearer {client.viewer}"}  # type: ignore[attr-defined]
    body = _problem(client.get("/audit/verify", headers=viewer), 403)
    assert body["type"] == "https://dtem.dev/problems/forbidden"
    assert "viewer" in str(body["detail"])


def test_an_unknown_path_and_an_unknown_method_are_problems(client: TestClient) -> None:
    body = _problem(client.get("/no/such/thing"), 404)
    assert (body["type"], body["title"], body["instance"]) == (
        "about:blank", "Not Found", "/no/such/thing"
    )  # fmt: skip
    resp = client.delete("/policy")
    _problem(resp, 405)
    assert resp.headers["allow"] == "GET"


def test_a_bug_is_a_500_problem_that_shows_no_traceback(client: TestClient) -> None:
    body = _problem(client.get("/boom"), 500)
    assert body["type"] == "https://dtem.dev/problems/internal-error"
    assert "a bug" not in str(body) and "Traceback" not in str(body)


def test_a_ledger_gone_is_503_with_retry_after_and_no_host(client: TestClient) -> None:
    resp = client.get("/gone")
    body = _problem(resp, 503)
    assert int(resp.headers["retry-after"]) > 0
    assert body["type"] == "https://dtem.dev/problems/ledger-unavailable"
    assert "db.internal" not in str(body)
