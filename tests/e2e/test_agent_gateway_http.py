"""An agent driven over real HTTP: claim → touches → hand-raise → a human's lease."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.client import AgentClient, GatewayError
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep, Tier
from dtem.domain.policy import default_policy
from dtem.services.access import create_token
from tests.e2e.conftest import Server, run_dtem
from tests.market_seed import put_score, seed

NOW = datetime.now(UTC)  # `dtem serve` runs on the real clock


def _seed(db: str) -> SqlLedger:
    ledger = SqlLedger(make_engine(db))
    accounts = [
        Account("NURTURE-1", "Nurture One", employees=50, potential_value=40_000.0),
        Account("NURTURE-2", "Nurture Two", employees=50, potential_value=20_000.0),
        Account("KEY-1", "Key One", tier=Tier.HUMAN_ONLY, potential_value=900_000.0),
        Account("OPTOUT-1", "Opted Out", do_not_contact=True, potential_value=50_000.0),
    ]
    acc, _ = seed(ledger, FixedClock(NOW), accounts, [Rep("R1", "Rita")])
    for key in acc.values():
        put_score(ledger, key, 7.0, NOW - timedelta(hours=1), propensity=0.02)
    return ledger


def _token(server: Server, role: str, subject: str | None = None) -> dict[str, str]:
    extra = ["--subject", subject] if subject else []
    out = run_dtem("token", "create", "--role", role, *extra, "--json", db=server.db, check=True)
    return {"Authorization": f"Bearer {json.loads(out.stdout)['token']}"}


def test_agent_claims_touches_and_hands_a_raised_hand_to_a_rep(any_server: Server) -> None:
    server = any_server  # SQLite, then PostgreSQL
    ledger = _seed(server.db)
    base, bot = server.base_url, _token(server, "agent", "nurture-bot")
    claimed = httpx.post(f"{base}/agent/v1/claims", json={"limit": 5}, headers=bot).json()
    assert claimed["agent"] == "nurture-bot"
    assert [c["account"] for c in claimed["claims"]] == ["NURTURE-1", "NURTURE-2"]
    for kind in ("email_sent", "reply", "meeting_booked"):
        body = {"account": "NURTURE-1", "kind": kind}
        assert httpx.post(f"{base}/agent/v1/touches", json=body, headers=bot).status_code == 200
    raised = httpx.post(
        f"{base}/agent/v1/hand-raises", json={"account": "NURTURE-1"}, headers=bot
    ).json()
    assert raised["outcome"] == "leased" and raised["rep"] == "R1"
    assert raised["score"] >= 60  # the default hand-raise weight vaults a typical account
    listed = run_dtem("lease", "list", "--json", db=server.db, check=True)
    (lease,) = json.loads(listed.stdout)
    assert lease["id"] == raised["lease_id"] and lease["account"] == "NURTURE-1"
    window = (
        "--from",
        (NOW - timedelta(days=1)).isoformat(),
        "--to",
        (NOW + timedelta(days=1)).isoformat(),
    )
    cost = json.loads(run_dtem("agent", "cost", *window, "--json", db=server.db, check=True).stdout)
    price = Decimal(str(default_policy().agent_touch_cost))
    assert cost["touches"] == 3 and Decimal(cost["total"]) == (3 * price).quantize(Decimal("0.01"))
    explained = run_dtem("explain", "NURTURE-1", db=server.db, check=True).stdout
    assert f"lease #{raised['lease_id']} to R1" in explained
    assert "routed by a hand-raise at " in explained and "threshold 60" in explained
    with ledger.transaction() as tx:
        acts = tx.agent_touch_counts(list(tx.all_account_ids().values()), NOW - timedelta(days=1))
        assert sorted(acts.values()) == [3]
    ledger.engine.dispose()


def test_a_touch_on_an_account_another_agent_holds_is_409(server: Server) -> None:
    _seed(server.db)
    base = server.base_url
    first, second = _token(server, "agent", "bot-a"), _token(server, "agent", "bot-b")
    httpx.post(f"{base}/agent/v1/claims", json={"limit": 1}, headers=first)
    body = {"account": "NURTURE-1", "kind": "call"}
    resp = httpx.post(f"{base}/agent/v1/touches", json=body, headers=second)
    assert resp.status_code == 409 and resp.json()["error"] == "ClaimNotHeld"
    hand = httpx.post(f"{base}/agent/v1/hand-raises", json={"account": "KEY-1"}, headers=second)
    assert hand.status_code == 409


def test_non_agent_tokens_get_403_and_expired_ones_401(server: Server) -> None:
    _seed(server.db)
    url = f"{server.base_url}/agent/v1/claims"
    assert httpx.post(url, json={}, headers=_token(server, "rep", "R1")).status_code == 403
    assert httpx.post(url, json={}).status_code == 401
    ledger = SqlLedger(make_engine(server.db))
    past = FixedClock(NOW - timedelta(days=3))
    _, old = create_token(ledger, past, "agent", "old", ttl_days=1, subject="old")
    assert httpx.post(url, json={}, headers={"Authorization": f"Bearer {old}"}).status_code == 401


def test_reference_agent_claims_touches_and_hands_accounts_to_a_rep(server: Server) -> None:
    _seed(server.db)
    token = _token(server, "agent", "ref-bot")["Authorization"].removeprefix("Bearer ")
    args = ("agent", "run", "--simulate", "--url", server.base_url, "--token", token)
    out = run_dtem(*args, "--rounds", "1", "--limit", "2", "--hand-raise-rate", "1", "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["claimed"] == 2 and got["hand_raises"] == 2 and got["touches"] >= 2
    assert got["leased"] == 2 and {h["rep"] for h in got["handed"]} == {"R1"}


def test_client_raises_the_gateway_refusal(server: Server) -> None:
    _seed(server.db)
    token = _token(server, "viewer")["Authorization"].removeprefix("Bearer ")
    with AgentClient(server.base_url, token) as client, pytest.raises(GatewayError) as err:
        client.claim(1)
    assert err.value.status == 403
    refused = run_dtem("agent", "run", "--simulate", "--url", server.base_url, "--token", token)
    assert refused.returncode == 8 and "403" in refused.stderr
