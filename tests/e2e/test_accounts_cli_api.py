"""`dtem accounts` as a user types it, and the accounts API: tier and why, named tiers,
do-not-contact, who may change them."""

from __future__ import annotations

import json

import httpx

from dtem.adapters.ledger.engine import make_engine
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Rep
from tests.conftest import T0
from tests.e2e.conftest import Server, run_dtem
from tests.market_seed import seed


def _seed(db: str) -> None:
    ledger = SqlLedger(make_engine(db))
    accounts = [
        Account("ACME", "Acme", employees=40, potential_value=40_000.0),
        Account("OPT", "Opted", do_not_contact=True, potential_value=9_000.0),
    ]
    seed(ledger, FixedClock(T0), accounts, [Rep("R1", "Rita")])
    ledger.engine.dispose()


def _bearer(server: Server, role: str) -> dict[str, str]:
    subject = "R1" if role == "rep" else "ana"
    out = run_dtem("token", "create", "--role", role, "--subject", subject, "--json", db=server.db)
    return {"Authorization": f"Bearer {json.loads(out.stdout)['token']}"}


def test_cli_names_a_tier_shows_why_and_lists_by_tier(server: Server) -> None:
    _seed(server.db)
    named = run_dtem("accounts", "tier", "ACME", "--set", "1", "--note", "key logo", db=server.db)
    assert named.returncode == 0, named.stderr
    assert "ACME: tier 1 — set to tier 1 by" in named.stdout and "key logo" in named.stdout
    shown = json.loads(run_dtem("accounts", "show", "ACME", "--json", db=server.db).stdout)
    assert shown["tier"] == 1 and shown["override"]["note"] == "key logo"
    listed = run_dtem("accounts", "list", "--tier", "1", "--json", db=server.db, check=True)
    assert [r["account"] for r in json.loads(listed.stdout)] == ["ACME"]
    dnc = run_dtem("accounts", "list", "--dnc", "--json", db=server.db, check=True)
    assert [r["account"] for r in json.loads(dnc.stdout)] == ["OPT"]
    text = run_dtem("accounts", "show", "OPT", db=server.db, check=True).stdout
    assert "do-not-contact: yes" in text and "tier 2: hybrid" in text
    bad = run_dtem("accounts", "tier", "ACME", "--set", "4", db=server.db)
    assert bad.returncode == 2 and "tier must be one of 1, 2, 3, auto" in bad.stderr
    missing = run_dtem("accounts", "dnc", "NOPE", "--on", db=server.db)
    assert missing.returncode == 4 and "NOPE" in missing.stderr


def test_api_sets_tier_and_contact_for_managers_only(server: Server) -> None:
    _seed(server.db)
    base, manager, rep = server.base_url, _bearer(server, "manager"), _bearer(server, "rep")
    url = f"{base}/accounts/ACME"
    assert httpx.put(f"{url}/tier", json={"tier": "3"}, headers=rep).status_code == 403
    put = httpx.put(f"{url}/tier", json={"tier": "3", "note": "smb"}, headers=manager)
    assert put.status_code == 200 and put.json()["tier"] == 3
    assert put.json()["override"]["by"].endswith(":ana")
    off = httpx.put(f"{url}/do-not-contact", json={"do_not_contact": True}, headers=manager)
    assert off.status_code == 200 and off.json() == {"account": "ACME", "do_not_contact": True}
    shown = httpx.get(url, headers=rep).json()
    assert (shown["tier"], shown["do_not_contact"]) == (3, True)
    assert httpx.put(f"{url}/tier", json={"tier": "9"}, headers=manager).status_code == 422
    assert httpx.get(f"{base}/accounts/NOPE", headers=rep).status_code == 404
    explained = httpx.get(f"{url}/explain", headers=rep).json()
    assert explained["account_status"]["reason"].startswith("set to tier 3 by")
    log = run_dtem("audit", "list", "--json", db=server.db, check=True)
    actions = [e["action"] for e in json.loads(log.stdout)]
    assert {"account.tier", "account.do_not_contact"} <= set(actions)
