"""Rebalance, bids, awards and the CRM export over real HTTP."""

from __future__ import annotations

import httpx

from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from dtem.services.access import create_token
from tests.conftest import T0, sql_ledger
from tests.e2e.conftest import Server
from tests.optim_seed import score, seed


def _setup(server: Server) -> tuple[SqlLedger, dict[str, str]]:
    ledger = sql_ledger(server.db)
    accounts = [Account(f"A{i}", f"Acct {i}", potential_value=1000.0 * (i + 1)) for i in range(3)]
    reps = [Rep("R1", "Rita", capacity=2, crm_user_id="005R1"), Rep("R2", "Raj", capacity=2)]
    acc, _ = seed(ledger, FixedClock(T0), accounts, reps)
    for account_id in acc.values():
        score(ledger, account_id, 75.0, T0)
    clock = FixedClock(T0)
    tokens = {
        role: create_token(ledger, clock, role, subject="R2" if role == "rep" else None)[1]
        for role in ("manager", "rep", "viewer")
    }
    return ledger, tokens


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_rebalance_over_http_reports_objective_bound_and_greedy(server: Server) -> None:
    _, tokens = _setup(server)
    url = f"{server.base_url}/rebalance"
    assert httpx.post(url, json={}, headers=_auth(tokens["viewer"])).status_code == 403
    body = httpx.post(url, json={"dry_run": False}, headers=_auth(tokens["manager"])).json()
    assert body["granted"] == 3 and body["method"] == "min_cost_flow"
    assert abs(body["lp_bound"] - body["objective"]) < 1e-6
    assert body["greedy_objective"] <= body["objective"]


def test_bids_and_award_over_http(server: Server) -> None:
    _, tokens = _setup(server)
    base = server.base_url
    own = {"rep": "R2", "quarter": "2027Q2", "leases": 3}
    assert httpx.post(f"{base}/bids", json=own, headers=_auth(tokens["rep"])).status_code == 201
    other = {"rep": "R1", "quarter": "2027Q2", "leases": 3}
    assert httpx.post(f"{base}/bids", json=other, headers=_auth(tokens["rep"])).status_code == 403
    bad = {"rep": "R1", "quarter": "Q2-2027", "leases": 3}
    resp = httpx.post(f"{base}/bids", json=bad, headers=_auth(tokens["manager"]))
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["body", "quarter"]
    httpx.post(f"{base}/bids", json=other, headers=_auth(tokens["manager"]))
    award = httpx.post(
        f"{base}/bids/award", json={"quarter": "2027Q2", "total": 4},
        headers=_auth(tokens["manager"]),
    ).json()  # fmt: skip
    assert award["awarded"] == 4 and {x["rep"] for x in award["lines"]} == {"R1", "R2"}
    listed = httpx.get(
        f"{base}/bids", params={"quarter": "2027Q2"}, headers=_auth(tokens["viewer"])
    )
    # no history: equal indexes, so the four leases split evenly
    assert [r["awarded"] for r in listed.json()["items"]] == [2, 2]
    first = httpx.get(f"{base}/bids", params={"limit": 1}, headers=_auth(tokens["viewer"]))
    cursor = first.json()["next_cursor"]
    rest = httpx.get(f"{base}/bids", params={"cursor": cursor}, headers=_auth(tokens["viewer"]))
    reps = [r["rep"] for r in first.json()["items"] + rest.json()["items"]]
    assert sorted(reps) == ["R1", "R2"] and rest.json()["next_cursor"] is None
    bad = httpx.get(
        f"{base}/bids", params={"cursor": "eyJrIjoieCJ9"}, headers=_auth(tokens["viewer"])
    )
    assert bad.status_code == 422 and "cursor" in bad.text


def test_export_over_http_returns_csv_and_names_reps_missing_a_crm_id(server: Server) -> None:
    ledger, tokens = _setup(server)
    base, auth = server.base_url, _auth(tokens["manager"])
    httpx.post(f"{base}/rebalance", json={}, headers=auth)
    params = {"format": "hubspot"}
    blocked = httpx.get(f"{base}/exports/assignments", params=params, headers=auth)
    assert blocked.status_code == 422 and "R2" in blocked.json()["detail"]
    with ledger.transaction() as tx:
        tx.update_reps([Rep("R2", "Raj", capacity=2, crm_user_id="005R2")], T0)
    resp = httpx.get(f"{base}/exports/assignments", params=params, headers=auth)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    lines = resp.text.splitlines()
    assert lines[0] == "Record ID,Company owner" and len(lines) == 4
    assert resp.headers["X-DTEM-Rows"] == "3"
