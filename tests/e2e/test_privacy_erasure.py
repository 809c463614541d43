"""Erasure on request over the CLI and the API, on SQLite and PostgreSQL: the person's
signals and identity links are gone from every table, the accounts they moved score
exactly what the remaining signals give, and the audit chain still verifies."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from dtem.adapters.ledger.tables import metadata
from dtem.bootstrap import Container, build
from dtem.config import Settings
from dtem.domain.model import Account
from dtem.domain.scoring import decay_rate, epoch_seconds, intensity_at
from dtem.services import governance
from dtem.services.scoring import explain
from dtem.services.signals import sources
from tests.e2e.conftest import Server, run_dtem

ANA_MAIL, ANA_USER = "Ana.Lopez@acme.com", "u-ana-7"
BOB_MAIL, BOB_USER = "bob@acme.com", "u-bob-9"


@pytest.fixture
def ledger(any_server: Server) -> Iterator[Container]:
    c = build(Settings(), any_server.db, create=False)
    with c.ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com", employees=300)], c.clock())
        tx.insert_accounts([Account("B1", "Beta", domain="beta.io")], c.clock())
    yield c
    c.engine.dispose()


def _calls(server: Server, c: Container) -> None:
    """Ana: a hand-raise with her address, page views by user id, identify and group;
    Bob: the same account, kept. Ana's first page view comes before any link (unmatched)."""
    _, key = sources.create_source(c.ledger, c.clock, f"web-{uuid.uuid4().hex[:6]}")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("page", {"userId": ANA_USER, "name": "Pricing", "properties": {"path": "/pricing"}}),
        ("identify", {"userId": ANA_USER, "traits": {"email": ANA_MAIL}}),
        ("group", {"userId": ANA_USER, "groupId": "A1", "traits": {"website": "acme.com"}}),
        ("track", {"userId": ANA_USER, "event": "Demo Requested",
                   "properties": {"email": ANA_MAIL.upper(), "note": f"from {ANA_MAIL}"}}),
        ("page", {"userId": ANA_USER, "name": "Docs", "properties": {"path": "/docs"}}),
        ("track", {"userId": BOB_USER, "event": "Pricing Page Viewed",
                   "properties": {"email": BOB_MAIL}}),
        ("page", {"userId": "u-cy", "name": "Home", "properties": {"domain": "beta.io"}}),
    ]  # fmt: skip
    for kind, call in calls:
        body = {**call, "messageId": uuid.uuid4().hex}
        r = httpx.post(f"{server.base_url}/v1/{kind}", json=body, auth=(key, ""), timeout=10)
        assert r.status_code == 200, r.text


def _texts_naming(c: Container, needles: list[str]) -> list[str]:
    """`table.column` of every row, in every table, whose text or JSON holds a needle."""
    found = []
    with c.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)).mappings():
                for col, value in row.items():
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    if any(n.lower() in text.lower() for n in needles):
                        found.append(f"{table.name}.{col}")
    return found


def _token(server: Server) -> dict[str, str]:
    out = run_dtem("token", "create", "--role", "admin", "--json", db=server.db, check=True)
    return {"Authorization": f"Bearer {json.loads(out.stdout)['token']}"}


def _assert_scores_are_what_remains(c: Container) -> None:
    """The last score and the decayed state equal a recomputation from the stored signals."""
    with c.ledger.transaction() as tx:
        active = governance.active_policy(tx)
        acc = tx.accounts_by_external_id(["A1"])["A1"].id
        last = tx.latest_scores([acc])[acc]
        states = tx.account_states([acc])[acc]
        fresh = explain(tx, "A1", active, last.as_of)
    assert math.isclose(last.score, fresh.score.score, rel_tol=1e-9, abs_tol=1e-12)
    now = epoch_seconds(last.as_of)
    types = active.policy.signal_types
    from_state = {
        t: intensity_at(d, now, decay_rate(types[t].half_life_days)) for t, d in states.items()
    }
    assert set(from_state) == {t for t, v in fresh.intensities.items() if v > 0}
    for t, v in from_state.items():
        assert math.isclose(v, fresh.intensities[t], rel_tol=1e-9), t


def test_erasing_a_person_leaves_no_trace_and_exact_scores(
    any_server: Server, ledger: Container
) -> None:
    c = ledger
    _calls(any_server, c)
    before = _texts_naming(c, [ANA_MAIL, ANA_USER])
    assert "signals.attributes" in before and "identity_links.user_id" in before
    with c.ledger.transaction() as tx:
        acc = tx.accounts_by_external_id(["A1"])["A1"].id
        assert "hand_raise" in tx.account_states([acc])[acc]

    out = run_dtem("privacy", "erase", "--email", ANA_MAIL, "--json", db=any_server.db)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    # the hand-raise, two page views (one attached on `group`), all carrying her user id
    assert (report["signals"], report["identity_links"], report["accounts_rescored"]) == (3, 1, 1)
    assert report["subject"] == "email"

    assert _texts_naming(c, [ANA_MAIL, ANA_USER]) == []
    assert _texts_naming(c, [BOB_MAIL, BOB_USER]) != []  # Bob is untouched
    with c.ledger.transaction() as tx:
        assert "hand_raise" not in tx.account_states([acc])[acc]  # only Ana raised a hand
    _assert_scores_are_what_remains(c)

    again = httpx.post(
        f"{any_server.base_url}/privacy/erasures",
        json={"user_id": ANA_USER},
        headers=_token(any_server),
        timeout=10,
    )
    assert again.status_code == 201, again.text
    assert {k: again.json()[k] for k in ("signals", "identity_links", "accounts_rescored")} == {
        "signals": 0,
        "identity_links": 0,
        "accounts_rescored": 0,
    }

    assert run_dtem("audit", "verify", db=any_server.db).returncode == 0
    entries = json.loads(
        run_dtem("audit", "list", "--limit", "100", "--json", db=any_server.db, check=True).stdout
    )
    erasures = [e for e in entries if e["action"] == "privacy.erase"]
    assert [e["payload"]["request_id"] for e in erasures] == [
        report["request_id"],
        again.json()["request_id"],
    ]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((), "email, user_id: give one of them"),
        (("--email", "a@b.co", "--user-id", "u1"), "not both"),
        (("--email", "  "), "email: must not be empty"),
        (("--user-id", ""), "user_id: must not be empty"),
        (("--email", "nobody"), "email: 'nobody' is not an email address"),
    ],
)
def test_a_bad_erasure_request_exits_2_naming_the_field(
    args: tuple[str, ...], field: str, tmp_path: Any
) -> None:
    db = f"sqlite:///{tmp_path}/e.db"
    run_dtem("init", db=db, check=True)
    out = run_dtem("privacy", "erase", *args, db=db)
    assert out.returncode == 2 and field in out.stderr + out.stdout, out.stderr


def test_a_bad_erasure_request_is_422_naming_the_field(server: Server) -> None:
    headers = _token(server)
    for body, field in [
        ({}, "email, user_id"),
        ({"email": "", "user_id": None}, "email: must not be empty"),
        ({"email": "a@b.co", "user_id": "u1"}, "not both"),
        ({"mail": "a@b.co"}, "mail"),
    ]:
        r = httpx.post(f"{server.base_url}/privacy/erasures", json=body, headers=headers)
        assert r.status_code == 422 and field in r.text, (body, r.text)


def test_only_an_admin_may_erase(server: Server) -> None:
    out = run_dtem("token", "create", "--role", "viewer", "--json", db=server.db, check=True)
    viewer = {"Authorization": f"Bearer {json.loads(out.stdout)['token']}"}
    r = httpx.post(f"{server.base_url}/privacy/erasures", json={"user_id": "u"}, headers=viewer)
    assert r.status_code == 403
    assert (
        httpx.post(f"{server.base_url}/privacy/erasures", json={"user_id": "u"}).status_code == 401
    )
