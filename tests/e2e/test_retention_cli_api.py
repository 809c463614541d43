"""Retention per signal source over the CLI and the API, on SQLite and PostgreSQL: set,
listed, validated (the error names `retention_days`), applied by `dtem review` (summary
and JSON), every change and every sweep audited with counts only, the chain verifying."""

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
from dtem.domain.model import Account
from dtem.domain.signals import PIPELINE_SCOPE, SignalRecord, source_scope
from dtem.services.governance import active_policy, ensure_policy
from dtem.services.scoring import apply_signals
from dtem.services.signals import sources
from tests.e2e.conftest import Server, run_dtem


@pytest.fixture
def ledger(any_server: Server) -> Iterator[Container]:
    c = build(Settings(), any_server.db, create=False)
    ensure_policy(c.ledger, c.clock)
    sources.create_source(c.ledger, c.clock, "website")
    with c.ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com", employees=300)], c.clock())
    yield c
    c.engine.dispose()


def _signal(n: int, age_days: float, scope: str, label: str, acc: int) -> SignalRecord:
    at = datetime.now(UTC) - timedelta(days=age_days)
    return SignalRecord(f"e{n}", "A1", "id", "pricing_visit", at, 1.0, label, at, acc, scope=scope)


def _seed_signals(c: Container) -> None:
    with c.ledger.transaction() as tx:
        acc = tx.accounts_by_external_id(["A1"])["A1"].id
        web = [_signal(1, 40, source_scope("website"), "first_party", acc),
               _signal(2, 5, source_scope("website"), "first_party", acc)]  # fmt: skip
        pipe = [_signal(3, 200, PIPELINE_SCOPE, "bombora", acc),
                _signal(4, 100, PIPELINE_SCOPE, "first_party", acc)]  # fmt: skip
        tx.insert_signals(web)
        tx.insert_signals(pipe)
        apply_signals(tx, web + pipe, active_policy(tx), datetime.now(UTC))


def _admin(server: Server) -> tuple[dict[str, str], int]:
    out = run_dtem("token", "create", "--role", "admin", "--json", db=server.db, check=True)
    token = json.loads(out.stdout)
    return {"Authorization": f"Bearer {token['token']}"}, int(token["id"])


def _audit(db: str, action: str) -> list[dict[str, Any]]:
    out = run_dtem("audit", "list", "--limit", "200", "--json", db=db, check=True)
    return [e for e in json.loads(out.stdout) if e["action"] == action]


def test_retention_is_set_applied_by_the_review_and_audited(
    any_server: Server, ledger: Container
) -> None:
    db = any_server.db
    _seed_signals(ledger)
    out = run_dtem("source", "retention", "set", "website", "--days", "30", db=db, check=True)
    assert "website" in out.stdout and "30 days" in out.stdout
    headers, token_id = _admin(any_server)
    r = httpx.put(f"{any_server.base_url}/privacy/retention/bombora",
                  json={"retention_days": 90}, headers=headers, timeout=10)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json() == {"source": "bombora", "kinds": ["pipeline"], "retention_days": 90}

    listed = httpx.get(f"{any_server.base_url}/privacy/retention", headers=headers, timeout=10)
    assert {x["source"]: x["retention_days"] for x in listed.json()} == {
        "bombora": 90, "first_party": None, "website": 30}  # fmt: skip
    cli = json.loads(run_dtem("source", "retention", "list", "--json", db=db, check=True).stdout)
    assert cli == listed.json()

    changes = _audit(db, "source.retention")
    assert [(e["payload"]["source"], e["payload"]["retention_days"]) for e in changes] == [
        ("website", 30), ("bombora", 90)]  # fmt: skip
    assert changes[1]["actor"] == f"token:{token_id}"

    text = " ".join(run_dtem("review", db=db, check=True).stdout.split())
    assert "retention: 2 signals deleted (bombora 1, website 1), 1 accounts rescored" in text
    again = json.loads(run_dtem("review", "--json", db=db, check=True).stdout)
    assert again["review"]["retention"] == {"deleted": {}, "accounts_rescored": 0}
    sweeps = _audit(db, "retention.sweep")
    assert len(sweeps) == 1
    assert sweeps[0]["payload"]["deleted"] == {"bombora": 1, "website": 1}
    assert sweeps[0]["payload"]["accounts_rescored"] == 1
    assert set(sweeps[0]["payload"]) == {"at", "policy_version", "deleted", "accounts_rescored"}
    with ledger.ledger.transaction() as tx:
        assert tx.signal_stats().total == 2  # e2 (5 days, website) and e4 (first_party)

    r = httpx.put(f"{any_server.base_url}/privacy/retention/website",
                  json={"retention_days": None}, headers=headers, timeout=10)  # fmt: skip
    assert r.status_code == 200 and r.json()["retention_days"] is None
    assert run_dtem("audit", "verify", db=db).returncode == 0
    verified = httpx.get(f"{any_server.base_url}/audit/verify", headers=headers, timeout=10)
    assert verified.status_code == 200 and verified.json()["ok"] is True


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("website", "--days", "0"), 2, "retention_days: must be a whole number of days ≥ 1"),
        (("website", "--days", "-3"), 2, "retention_days: must be a whole number of days ≥ 1"),
        (("website",), 2, "retention_days: give --days N or --forever"),
        (("website", "--days", "3", "--forever"), 2, "retention_days: give --days N or"),
        (("nowhere", "--days", "3"), 4, "source: no webhook source and no imported signals"),
    ],
)
def test_a_bad_retention_exits_naming_the_field(
    args: tuple[str, ...], code: int, message: str, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path}/r.db"
    run_dtem("init", db=db, check=True)
    run_dtem("source", "create", "website", db=db, check=True)
    out = run_dtem("source", "retention", "set", *args, db=db)
    assert out.returncode == code and message in out.stderr + out.stdout, out.stderr


def test_a_bad_retention_is_422_or_404_over_the_api(server: Server) -> None:
    run_dtem("source", "create", "website", db=server.db, check=True)
    headers, _ = _admin(server)
    url = f"{server.base_url}/privacy/retention"
    for body in ({"retention_days": 0}, {"retention_days": -1}, {"retention_days": "x"},
                 {"retention_days": 1.5}, {}, {"retention_days": 3, "days": 3}):  # fmt: skip
        r = httpx.put(f"{url}/website", json=body, headers=headers, timeout=10)
        assert r.status_code == 422 and "retention_days" in r.text + str(body), (body, r.text)
    r = httpx.put(f"{url}/nowhere", json={"retention_days": 3}, headers=headers, timeout=10)
    assert r.status_code == 404 and "source" in r.text
