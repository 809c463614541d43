"""The market maker as users drive it: `dtem route/review/lease/overflow/reps` and the API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from dtem.adapters.ledger.engine import make_engine, migrate
from dtem.adapters.ledger.sql import SqlLedger
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Opportunity, Rep
from dtem.entrypoints.cli.app import app
from tests.e2e.conftest import Server, run_dtem
from tests.market_seed import put_score, seed

NOW = datetime.now(UTC)  # the CLI uses the real clock
runner = CliRunner()


def _seed(db: str) -> SqlLedger:
    engine = make_engine(db)
    migrate(engine)
    ledger = SqlLedger(engine)
    accounts = [
        Account("HOT-1", "Hot One", employees=50, industry="retail", country="DE"),
        Account("HOT-2", "Hot Two", employees=50, industry="retail"),
    ]
    reps = [Rep("R1", "Rita", languages=("German",)), Rep("R2", "Raj", languages=("en",))]
    acc, _ = seed(ledger, FixedClock(NOW), accounts, reps)
    for key in acc.values():
        put_score(ledger, key, 82.0, NOW - timedelta(hours=1))
    return ledger


def _cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def test_route_explains_and_lease_commands_follow_it(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/m.db"
    _seed(db)
    text = _cli("route", "HOT-1", "--explain", "--db", db)
    assert "leased" in text and "R2" in text and "language (de)" in text
    listed = _cli("lease", "list", "--json", "--db", db)
    assert [(x["account"], x["rep"]) for x in listed] == [("HOT-1", "R1")]
    shown = _cli("lease", "show", str(listed[0]["id"]), "--json", "--db", db)
    assert [(e["kind"], e["seq"]) for e in shown["events"]] == [("granted", 1)]
    assert shown["version"] == 1
    _cli("lease", "reassign", str(listed[0]["id"]), "--to", "R2", "--reason", "cover", "--db", db)
    now_held = _cli("lease", "list", "--json", "--db", db)
    assert [x["rep"] for x in now_held] == ["R2"]
    _cli("lease", "release", str(now_held[0]["id"]), "--reason", "no fit", "--db", db)
    assert _cli("lease", "list", "--json", "--db", db) == []


def test_leave_sends_account_to_overflow_and_review_is_idempotent(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/m.db"
    _seed(db)
    until = (NOW + timedelta(days=3)).strftime("%Y-%m-%d")
    for rep in ("R1", "R2"):
        _cli("reps", "availability", "add", rep, "--from", "2020-01-01", "--to", until, "--db", db)
    routed = _cli("route", "HOT-2", "--json", "--db", db)
    assert routed["outcome"] == "overflow" and routed["exclusions"] == {
        "R1": "on_leave",
        "R2": "on_leave",
    }
    (queued,) = _cli("overflow", "list", "--json", "--db", db)
    assert queued["account"] == "HOT-2" and "2 on_leave" in queued["reason"]
    day = (NOW + timedelta(days=1)).strftime("%Y-%m-%d")
    first = _cli("review", "--date", day, "--json", "--db", db)["review"]
    second = _cli("review", "--date", day, "--json", "--db", db)["review"]
    assert first["overflow_retried"] == 1 and second["overflow_retried"] == 0
    assert len(_cli("overflow", "list", "--json", "--db", db)) == 1


def test_unknown_account_exits_4(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/l.db"
    assert runner.invoke(app, ["init", "--db", db]).exit_code == 0
    result = runner.invoke(app, ["route", "NOPE", "--db", db])
    assert result.exit_code == 4


def _token(server: Server, role: str, subject: str | None = None) -> dict[str, str]:
    extra = ["--subject", subject] if subject else []
    out = run_dtem("token", "create", "--role", role, *extra, "--json", db=server.db, check=True)
    return {"Authorization": f"Bearer {json.loads(out.stdout)['token']}"}


def test_api_routes_advances_and_guards_leases(server: Server) -> None:
    ledger = _seed(server.db)
    with ledger.transaction() as tx:
        tx.insert_opportunities([Opportunity("OPP-1", "HOT-1", "prospecting")], NOW)
    base, manager = server.base_url, _token(server, "manager")
    assert httpx.post(f"{base}/routing/HOT-1", json={}).status_code == 401
    routed = httpx.post(f"{base}/routing/HOT-1", json={"trigger": "hand_raise"}, headers=manager)
    body = routed.json()
    assert routed.status_code == 200 and body["outcome"] == "leased" and body["rep"] == "R1"
    moved = httpx.post(
        f"{base}/opportunities/OPP-1/stage", json={"stage": "Discovery"}, headers=manager
    ).json()
    assert moved["previous_stage"] == "prospecting" and moved["leases"][0]["state"] == "advanced"
    lease_id = body["lease_id"]
    intruder = _token(server, "rep", "R2")
    resp = httpx.post(f"{base}/leases/{lease_id}/release", json={}, headers=intruder)
    assert resp.status_code == 404  # another rep's lease: as if it did not exist
    resp = httpx.post(
        f"{base}/leases/{lease_id}/reassign", json={"to_rep": "R2", "reason": "x"}, headers=intruder
    )
    assert resp.status_code == 403
    owner = _token(server, "rep", "R1")
    assert [x["id"] for x in httpx.get(f"{base}/leases", headers=owner).json()["items"]] == [
        lease_id
    ]
    resp = httpx.post(f"{base}/leases/{lease_id}/release", json={"reason": "pto"}, headers=owner)
    assert resp.status_code == 200 and resp.json()["state"] == "released"
    assert resp.json()["version"] == 3  # granted 1, advanced 2, released 3
    again = httpx.post(f"{base}/leases/{lease_id}/release", json={}, headers=owner)
    assert again.status_code == 409
    assert httpx.get(f"{base}/overflow", headers=owner).json()["items"] == []
