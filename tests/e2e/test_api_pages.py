"""Lists over HTTP are pages: `?limit=` and an opaque `?cursor=`, walked to the end without
a row shown twice or skipped, whatever is inserted meanwhile (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dtem.domain.model import Account
from dtem.domain.tiers import AccountTier, Tier
from dtem.entrypoints.api.pagination import encode_cursor
from dtem.services import leases, routing
from dtem.services.governance import active_policy
from tests.conftest import T0
from tests.e2e.inprocess import Api, serve


@pytest.fixture(params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    yield from serve(request)


def _insert_accounts(a: Api, keys: list[str], **fields: Any) -> dict[str, int]:
    with a.c.ledger.transaction() as tx:
        tx.insert_accounts([Account(k, f"Name {k}", **fields) for k in keys], T0)
        return dict(tx.all_account_ids())


def _walk(a: Api, path: str, role: str = "admin", **params: Any) -> list[list[Any]]:
    pages, cursor = [], None
    while True:
        body = a.get(path, role, params={**params, **({"cursor": cursor} if cursor else {})})
        assert body.status_code == 200, body.text
        pages.append(body.json()["items"])
        cursor = body.json()["next_cursor"]
        if cursor is None:
            return pages


def test_accounts_walk_in_pages_with_an_insert_between_pages(api: Api) -> None:
    _insert_accounts(api, [f"A{i}" for i in range(1, 8)])
    first = api.get("/accounts", params={"limit": 3}).json()
    assert [x["account"] for x in first["items"]] == ["A1", "A2", "A3"]
    _insert_accounts(api, ["A0", "A35", "A9"])  # one before the cursor, two after it
    rest, cursor = [], first["next_cursor"]
    while cursor:
        page = api.get("/accounts", params={"limit": 3, "cursor": cursor}).json()
        rest += [x["account"] for x in page["items"]]
        cursor = page["next_cursor"]
    assert rest == ["A35", "A4", "A5", "A6", "A7", "A9"]  # nothing again, nothing skipped


def test_leases_walk_newest_first_and_a_new_lease_does_not_shift_the_pages(api: Api) -> None:
    ids = _insert_accounts(api, [f"A{i}" for i in range(6)])
    with api.c.ledger.transaction() as tx:
        rep = tx.reps_by_external_id(["R1"])["R1"].id
        policy = active_policy(tx)
        granted = [
            leases.grant(tx, ids[f"A{i}"], rep, T0, 80.0, policy, "test", "t").id for i in range(5)
        ]
    first = api.get("/leases", params={"limit": 2}).json()
    with api.c.ledger.transaction() as tx:
        leases.grant(tx, ids["A5"], rep, T0, 80.0, active_policy(tx), "test", "t")
    seen = [x["id"] for x in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get("/leases", params={"limit": 2, "cursor": cursor}).json()
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
    assert seen == granted[::-1]


def test_a_cursor_that_is_not_ours_is_a_422_naming_the_cursor(api: Api) -> None:
    for cursor in ["nonsense!", "eyJrIjoiQTEifQ", "e30"]:  # garbage, a text key, {}
        got = api.get("/leases", params={"cursor": cursor})
        assert got.status_code == 422, got.text
        assert "cursor" in got.text
    assert api.get("/accounts", params={"limit": 501}).status_code == 422
    assert api.get("/accounts", params={"limit": 0}).status_code == 422


def test_values_no_column_can_hold_are_a_404_or_422_not_a_500(api: Api) -> None:
    huge = 10**20  # beyond 64 bits: as an id in the path it names nothing (404)
    for path, params, status in [
        (f"/leases/{huge}", {}, 404),
        (f"/decisions/{huge}", {}, 404),
        ("/leases", {"cursor": encode_cursor(huge)}, 422),
    ]:
        got = api.get(path, params=params)
        assert got.status_code == status, (path, got.status_code, got.text)
    for path, params in [  # NUL is text to SQLite, refused by PostgreSQL: never a 500
        ("/accounts/a%00b", {}),
        ("/accounts", {"cursor": encode_cursor("a\x00")}),
        ("/reps", {"team": "a\x00"}),
        ("/decisions", {"account": "a\x00"}),
    ]:
        got = api.get(path, params=params)
        assert got.status_code in (200, 404, 422), (path, got.status_code, got.text)
    assert api.post("/sources", json={"name": "a\x00b"}).status_code in (201, 422)


def test_accounts_filter_by_tier_and_contact_and_an_agent_sees_only_the_ai_pool(
    api: Api,
) -> None:
    ids = _insert_accounts(api, ["A1", "A2", "A3"])
    _insert_accounts(api, ["D1"], do_not_contact=True)
    with api.c.ledger.transaction() as tx:
        tx.put_account_tiers(
            [AccountTier(ids[k], Tier(t), "rule", 1, T0) for k, t in [("A1", 1), ("A2", 3)]]
        )
    tier1 = api.get("/accounts", params={"tier": 1}).json()["items"]
    assert [(x["account"], x["tier"]) for x in tier1] == [("A1", 1)]
    dnc = api.get("/accounts", params={"do_not_contact": "true"}).json()["items"]
    assert [x["account"] for x in dnc] == ["D1"]
    pool = api.get("/accounts", "agent").json()["items"]
    assert [x["account"] for x in pool] == ["A2"]
    assert api.get("/accounts", "agent", params={"tier": 1}).status_code == 403
    assert [len(p) for p in _walk(api, "/accounts", "viewer", limit=1)] == [1, 1, 1, 1]


def test_decisions_list_with_filters_and_show_one_with_its_candidates(api: Api) -> None:
    _insert_accounts(api, ["A1", "A2"])
    for key in ["A1", "A2", "A1"]:
        routing.route(api.c.ledger, api.c.clock, key, "manual", "test")
    of_a1 = api.get("/decisions", params={"account": "A1"}).json()["items"]
    assert [d["account"] for d in of_a1] == ["A1", "A1"]
    assert of_a1[0]["id"] > of_a1[1]["id"]  # newest first
    pages = _walk(api, "/decisions", limit=2)
    assert [len(p) for p in pages] == [2, 1]
    one = api.get(f"/decisions/{of_a1[0]['id']}").json()
    assert set(one) >= {"candidates", "exclusions", "outcome", "policy_version"}
    mine = api.get("/decisions", "rep").json()["items"]
    assert all(d["rep"] == "R1" for d in mine)
    since = api.get("/decisions", params={"since": "2100-01-01T00:00:00Z"})
    assert since.json() == {"items": [], "next_cursor": None}
    assert api.get("/decisions", params={"rep": "R404"}).status_code == 404


def test_reps_page_show_one_and_record_leave(api: Api) -> None:
    pages = _walk(api, "/reps", "viewer", limit=1)
    assert [[r["external_id"] for r in p] for p in pages] == [["R1"], ["R2"]]
    team = api.get("/reps", params={"team": "enterprise"}).json()["items"]
    assert [r["external_id"] for r in team] == ["R1"]
    leave = {"starts_at": "2027-02-01T00:00:00Z", "ends_at": "2027-02-15T00:00:00Z"}
    assert api.post("/reps/R1/leave", "viewer", json=leave).status_code == 403
    made = api.post("/reps/R1/leave", "manager", json=leave | {"reason": "pto"})
    assert made.status_code == 201 and made.json()["reason"] == "pto"
    shown = api.get("/reps/R1", "rep").json()
    assert shown["active_leases"] == 0 and [w["reason"] for w in shown["leave"]] == ["pto"]
    backwards = api.post("/reps/R1/leave", "manager", json=leave | {"ends_at": "2027-01-01"})
    assert backwards.status_code == 422
    assert api.get("/reps/R404").status_code == 404
