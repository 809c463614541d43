"""The API over real HTTP: health is open, everything else needs a valid bearer token."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.policy import default_policy
from dtem.services import governance
from dtem.services.access import create_token
from tests.e2e.conftest import Server, run_dtem


def _token(server: Server, role: str = "admin") -> str:
    out = run_dtem("token", "create", "--role", role, "--json", db=server.db, check=True)
    return str(json.loads(out.stdout)["token"])


def test_health_needs_no_token_and_reports_the_database(server: Server) -> None:
    body = httpx.get(f"{server.base_url}/health").json()
    assert body["status"] == "ok" and body["database"] == "sqlite"


def test_openapi_and_docs_are_served(server: Server) -> None:
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    assert "/policy" in spec["paths"] and "/health" in spec["paths"]
    assert "swagger" in httpx.get(f"{server.base_url}/docs").text.lower()


def test_policy_endpoint_rejects_missing_and_unknown_tokens(server: Server) -> None:
    assert httpx.get(f"{server.base_url}/policy").status_code == 401
    bad = {"Authorization": "Bearer dtem_not_a_real_token"}
    assert httpx.get(f"{server.base_url}/policy", headers=bad).status_code == 401


def test_valid_token_reads_the_active_policy(server: Server) -> None:
    headers = {"Authorization": f"Bearer {_token(server)}"}
    body = httpx.get(f"{server.base_url}/policy", headers=headers).json()
    assert body["version"] == 1 and body["policy"]["threshold"] == 60.0


def test_revoked_token_gets_401(server: Server) -> None:
    token = _token(server)
    listed = json.loads(run_dtem("token", "list", "--json", db=server.db, check=True).stdout)
    run_dtem("token", "revoke", str(listed[-1]["id"]), db=server.db, check=True)
    resp = httpx.get(f"{server.base_url}/policy", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401 and "revoked" in resp.json()["detail"]


def test_expired_token_gets_401(server: Server) -> None:
    ledger = SqlLedger(make_engine(server.db))
    past = FixedClock(datetime(2020, 1, 1, tzinfo=UTC))
    _, token = create_token(ledger, past, "admin", "old", ttl_days=1)
    resp = httpx.get(f"{server.base_url}/policy", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401 and "expired" in resp.json()["detail"]


def test_viewer_may_read_but_not_activate_a_policy(server: Server) -> None:
    headers = {"Authorization": f"Bearer {_token(server, 'viewer')}"}
    assert httpx.get(f"{server.base_url}/policy", headers=headers).status_code == 200
    resp = httpx.post(f"{server.base_url}/policy/activate", json={"version": 1}, headers=headers)
    assert resp.status_code == 403


def test_admin_activating_an_unknown_version_gets_404(server: Server) -> None:
    headers = {"Authorization": f"Bearer {_token(server)}"}
    resp = httpx.post(f"{server.base_url}/policy/activate", json={"version": 42}, headers=headers)
    assert resp.status_code == 404 and "42" in resp.json()["detail"]


def test_activating_a_version_its_gate_refused_gets_409_unless_forced(server: Server) -> None:
    headers = {"Authorization": f"Bearer {_token(server)}"}
    ledger = SqlLedger(make_engine(server.db))
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    version = governance.store_policy(ledger, default_policy().to_dict(), clock, "t", "trained")
    governance.record_verdict(ledger, version, False, ["the holdout has 3 wins"], clock)
    url = f"{server.base_url}/policy/activate"
    resp = httpx.post(url, json={"version": version}, headers=headers)
    assert resp.status_code == 409 and resp.json()["problems"] == ["the holdout has 3 wins"]
    forced = {"version": version, "force": True, "reason": "pilot"}
    assert httpx.post(url, json=forced, headers=headers).json()["version"] == version
    assert httpx.post(url, json={"version": 1}, headers=headers).status_code == 200
