"""Issue 11's "done when", as an admin does it on SQLite and PostgreSQL, once at the CLI and
once over HTTP: draft a policy that lowers the threshold (a partial document), diff it,
preview it, activate it, see routing use the new version (the version a routing decision
recorded), roll it back — each step audited with its actor (the token id over HTTP), and
the audit chain verifying at the end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dtem.bootstrap import Container, build
from dtem.config import Settings
from tests.e2e.conftest import Server, run_dtem

HOT = ("A1", "A2", "A3")  # each scores about 55: under 60, over 50


@pytest.fixture
def ledger(any_server: Server, tmp_path: Path) -> Iterator[Container]:
    """Three accounts scoring about 55 from imported pricing-page visits, two reps."""
    db = any_server.db
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("external_id,name,employees\n" + "".join(f"{a},{a} Inc,200\n" for a in HOT))
    reps = tmp_path / "reps.csv"
    reps.write_text("external_id,name,capacity\nR1,Rita,10\nR2,Raj,10\n")
    seen = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    signals = tmp_path / "signals.csv"
    signals.write_text("event_id,account_id,event_name,occurred_at,value\n" + "".join(
        f"e-{a},{a},Pricing Page Viewed,{seen},14\n" for a in HOT))  # fmt: skip
    for kind, path in (("accounts", accounts), ("reps", reps), ("signals", signals)):
        run_dtem("import", kind, str(path), db=db, check=True)
    c = build(Settings(), db, create=False)
    with c.ledger.transaction() as tx:
        ids = [a.id for a in tx.accounts_by_external_id(list(HOT)).values()]
        assert all(50 < s.score < 60 for s in tx.latest_scores(ids).values())
    yield c
    c.engine.dispose()


def _policy_audit(db: str, after: int) -> list[dict[str, Any]]:
    out = run_dtem("audit", "list", "--limit", "500", "--json", db=db, check=True)
    return [e for e in json.loads(out.stdout) if e["seq"] > after]


def _last_seq(db: str) -> int:
    out = run_dtem("audit", "list", "--limit", "500", "--json", db=db, check=True)
    return max((e["seq"] for e in json.loads(out.stdout)), default=0)


def _recorded_version(c: Container, account: str) -> tuple[int, str]:
    """The policy version and outcome the account's latest routing decision recorded."""
    with c.ledger.transaction() as tx:
        acc = tx.accounts_by_external_id([account])[account].id
        latest = tx.routing_decisions(acc, limit=1)[0]
    return latest.policy_version, latest.outcome


def _steps(entries: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(actor, action, the payload's version fields) of the policy and lease entries."""
    keys = {"policy": ("version", "previous", "from", "to"), "lease": ("policy_version",)}
    out = []
    for e in entries:
        area = e["action"].split(".")[0]
        if area in keys:
            fields = {k: e["payload"][k] for k in keys[area] if k in e["payload"]}
            out.append((e["actor"], e["action"], fields))
    return out


def test_an_admin_lowers_the_threshold_and_rolls_it_back_at_the_cli(
    any_server: Server, ledger: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = any_server.db
    monkeypatch.setenv("DTEM_ACTOR", "ana")
    start = _last_seq(db)
    before = json.loads(run_dtem("route", "A1", "--json", db=db, check=True).stdout)
    assert (before["policy_version"], before["outcome"]) == (1, "pool")

    draft = tmp_path / "lower.yaml"
    draft.write_text("threshold: 50  # more accounts for the humans\n")
    stored = run_dtem("policy", "store", str(draft), "--note", "lower", "--json", db=db)
    assert stored.returncode == 0, stored.stderr
    assert json.loads(stored.stdout)["version"] == 2
    diff = json.loads(run_dtem("policy", "diff", "1", "2", "--json", db=db, check=True).stdout)
    assert [(c["path"], c["before"], c["after"]) for c in diff["changes"]] == [
        ("threshold", 60.0, 50.0)]  # fmt: skip
    preview = json.loads(run_dtem("policy", "preview", "2", "--json", db=db, check=True).stdout)
    assert (preview["version"], preview["active_version"]) == (2, 1)
    assert (preview["hot_before"], preview["hot_after"], preview["crossed_up"]) == (0, 3, 3)
    assert {x["account"] for x in preview["examples_up"]} == set(HOT)
    assert _recorded_version(ledger, "A1") == (1, "pool")  # the preview wrote nothing

    run_dtem("policy", "activate", "2", db=db, check=True)
    routed = json.loads(run_dtem("route", "A1", "--json", db=db, check=True).stdout)
    assert (routed["policy_version"], routed["outcome"]) == (2, "leased")
    assert _recorded_version(ledger, "A1") == (2, "leased")

    rolled = run_dtem("policy", "rollback", "--reason", "reps flooded", db=db, check=True)
    assert "v3 is now active" in rolled.stdout
    after = json.loads(run_dtem("route", "A2", "--json", db=db, check=True).stdout)
    assert (after["policy_version"], after["outcome"]) == (3, "pool")
    assert _recorded_version(ledger, "A2") == (3, "pool")

    assert _steps(_policy_audit(db, start)) == [
        ("ana", "policy.store", {"version": 2}),
        ("ana", "policy.activate", {"version": 2, "previous": 1}),
        ("ana", "lease.granted", {"policy_version": 2}),
        ("ana", "policy.store", {"version": 3}),
        ("ana", "policy.rollback", {"version": 3, "from": 2, "to": 1}),
    ]
    verified = run_dtem("audit", "verify", db=db)
    assert verified.returncode == 0, verified.stderr


def test_an_admin_lowers_the_threshold_and_rolls_it_back_over_http(
    any_server: Server, ledger: Container
) -> None:
    db, base = any_server.db, any_server.base_url
    token = json.loads(run_dtem("token", "create", "--role", "admin", "--json", db=db).stdout)
    me, headers = f"token:{token['id']}", {"Authorization": f"Bearer {token['token']}"}
    start = _last_seq(db)
    http = httpx.Client(base_url=base, headers=headers, timeout=120)

    first = http.post("/routing/A1", json={"trigger": "manual"})
    assert first.status_code == 200, first.text
    assert (first.json()["policy_version"], first.json()["outcome"]) == (1, "pool")

    stored = http.post("/policies", json={"document": {"threshold": 50}, "note": "lower"})
    assert stored.status_code == 201, stored.text
    assert stored.json()["version"] == 2 and stored.json()["policy"]["threshold"] == 50
    v1 = http.get("/policy/1").json()["policy"]
    assert stored.json()["policy"] == {**v1, "threshold": 50}  # merged: the rest is v1's
    diff = http.get("/policies/1/diff", params={"to": 2})
    assert diff.status_code == 200, diff.text
    assert [(c["path"], c["before"], c["after"]) for c in diff.json()["changes"]] == [
        ("threshold", 60.0, 50.0)]  # fmt: skip
    preview = http.post("/policies/2/preview")
    assert preview.status_code == 200, preview.text
    assert (preview.json()["crossed_up"], preview.json()["hot_after"]) == (3, 3)

    activated = http.post("/policy/activate", json={"version": 2})
    assert activated.status_code == 200 and activated.json()["version"] == 2
    routed = http.post("/routing/A1", json={"trigger": "manual"})
    assert (routed.json()["policy_version"], routed.json()["outcome"]) == (2, "leased")
    decisions = http.get("/decisions", params={"account": "A1"})
    assert decisions.status_code == 200, decisions.text
    assert [(d["policy_version"], d["outcome"]) for d in decisions.json()["items"]] == [
        (2, "leased"), (1, "pool")]  # fmt: skip

    rolled = http.post("/policies/rollback", json={"reason": "reps flooded"})
    assert rolled.status_code == 200 and rolled.json()["version"] == 3
    assert rolled.json()["policy"]["threshold"] == 60.0
    after = http.post("/routing/A2", json={"trigger": "manual"})
    assert (after.json()["policy_version"], after.json()["outcome"]) == (3, "pool")

    assert _steps(_policy_audit(db, start)) == [
        (me, "policy.store", {"version": 2}),
        (me, "policy.activate", {"version": 2, "previous": 1}),
        (me, "lease.granted", {"policy_version": 2}),
        (me, "policy.store", {"version": 3}),
        (me, "policy.rollback", {"version": 3, "from": 2, "to": 1}),
    ]
    verified = http.get("/audit/verify")
    assert verified.status_code == 200 and verified.json()["ok"] is True
    assert run_dtem("audit", "verify", db=db).returncode == 0
