"""What the CLI does on signals, sources, tokens, the audit log, comp periods and policy
activation, over HTTP through the same services (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from dtem.domain.model import Account, Opportunity
from dtem.domain.signals import SignalRecord
from dtem.domain.store_comp import CommissionLine
from dtem.services import leases
from dtem.services.comp.plans import ensure_plans
from dtem.services.governance import active_policy
from tests.conftest import T0
from tests.e2e.inprocess import Api, serve


@pytest.fixture(params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    yield from serve(request)


def _signal(event: str, key: str, account_id: int | None = None) -> SignalRecord:
    reason = None if account_id else "unknown_domain"
    return SignalRecord(event, key, "domain", "page_view", T0, 1.0, "test", T0,
                        account_id=account_id, unmatched_reason=reason)  # fmt: skip


def test_signal_stats_and_unmatched_signals_page_by_page(api: Api) -> None:
    with api.c.ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com")], T0)
        a1 = tx.all_account_ids()["A1"]
        tx.insert_signals([_signal("e1", "x.io"), _signal("e2", "acme.com", a1),
                           _signal("e3", "y.io"), _signal("e4", "z.io")])  # fmt: skip
    stats = api.get("/signals/stats", "viewer").json()
    assert stats["total"] == 4 and stats["unmatched"] == {"unknown_domain": 3}
    first = api.get("/signals/unmatched", "manager", params={"limit": 2}).json()
    rest = api.get("/signals/unmatched", params={"cursor": first["next_cursor"]}).json()
    assert [s["event_id"] for s in first["items"] + rest["items"]] == ["e1", "e3", "e4"]
    assert rest["next_cursor"] is None and first["items"][0]["reason"] == "unknown_domain"
    assert api.get("/signals/stats", "rep").status_code == 403


def test_sources_are_created_with_a_key_shown_once_listed_and_revoked(api: Api) -> None:
    made = api.post("/sources", json={"name": "website"})
    assert made.status_code == 201 and made.json()["write_key"]
    track = {"userId": "u1", "event": "Demo Requested", "messageId": "m-1"}
    key = made.json()["write_key"]
    assert api.client.post("/v1/track", json=track, auth=(key, "")).status_code == 200
    assert api.post("/sources", json={"name": "website"}).status_code == 409
    listed = api.get("/sources").json()["items"]
    assert [(s["name"], s["revoked_at"]) for s in listed] == [("website", None)]
    assert "write_key" not in listed[0] and "key_hash" not in listed[0]
    revoked = api.post("/sources/website/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert api.client.post("/v1/track", json=track, auth=(key, "")).status_code == 401
    assert api.post("/sources/nope/revoke").status_code == 404
    assert api.get("/sources", "manager").status_code == 403


def test_tokens_are_created_once_listed_without_secrets_and_revoked(api: Api) -> None:
    made = api.post("/tokens", json={"role": "rep", "subject": "R2", "ttl_days": 30})
    assert made.status_code == 201, made.text
    secret = made.json()["token"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.client.get("/leases", headers=bearer).status_code == 200
    listed = api.get("/tokens", params={"limit": 500}).json()["items"]
    mine = next(t for t in listed if t["id"] == made.json()["id"])
    assert mine["subject"] == "R2" and mine["expires_at"] is not None
    assert secret not in str(listed)
    refused = api.post("/tokens", json={"role": "rep", "subject": "R404"})
    assert refused.status_code == 404
    assert api.post("/tokens", json={"role": "viewer", "ttl_days": 0}).status_code == 422
    gone = api.post(f"/tokens/{made.json()['id']}/revoke")
    assert gone.status_code == 200
    assert api.client.get("/leases", headers=bearer).status_code == 401
    assert api.post("/tokens", "manager", json={"role": "viewer"}).status_code == 403


def test_the_audit_log_pages_newest_first_and_filters(api: Api) -> None:
    api.post("/sources", json={"name": "one"})
    api.post("/sources", json={"name": "two"})
    newest = api.get("/audit", params={"limit": 1, "action": "source.create"}).json()
    assert newest["items"][0]["payload"]["name"] == "two"
    older = api.get(
        "/audit", params={"action": "source.create", "cursor": newest["next_cursor"]}
    ).json()
    assert [e["payload"]["name"] for e in older["items"]] == ["one"]
    everything = api.get("/audit", params={"limit": 500}).json()["items"]
    seqs = [e["seq"] for e in everything]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == len(set(seqs))
    assert api.get("/audit", "manager").status_code == 403


def test_comp_periods_close_and_list(api: Api) -> None:
    closed = api.post("/comp/periods/2027-01/close")
    assert closed.status_code == 200 and closed.json()["closed_now"] is True
    again = api.post("/comp/periods/2027-01/close").json()
    assert again["closed_now"] is False and again["closed_at"] == closed.json()["closed_at"]
    assert api.post("/comp/periods/2027-02/close").status_code == 422  # not started yet
    assert api.post("/comp/periods/2027-13/close").status_code == 422
    listed = api.get("/comp/periods", "viewer").json()
    assert [p["period"] for p in listed["items"]] == ["2027-01"]
    assert api.post("/comp/periods/2026-12/close", "manager").status_code == 403


def test_a_policy_version_is_activated_at_its_own_path_and_the_old_path_still_works(
    api: Api,
) -> None:
    stored = api.post("/policies", json={"document": {"threshold": 60}}).json()["version"]
    got = api.post(f"/policies/{stored}/activate", json={"reason": "lower bar"})
    assert got.status_code == 200 and got.json()["version"] == stored
    assert api.get("/policy").json()["version"] == stored
    old = api.post("/policy/activate", json={"version": 1})
    assert old.status_code == 200 and api.get("/policy").json()["version"] == 1
    assert api.post(f"/policies/{stored}/activate").status_code == 200  # no body needed
    assert api.post("/policies/999/activate").status_code == 404
    assert api.post(f"/policies/{stored}/activate", "manager").status_code == 403


def test_policy_versions_and_the_overflow_queue_are_pages(api: Api) -> None:
    for n in range(3):
        api.post("/policies", json={"document": {"threshold": 61 + n}})
    first = api.get("/policies", "viewer", params={"limit": 2}).json()
    rest = api.get("/policies", "viewer", params={"cursor": first["next_cursor"]}).json()
    versions = [v["version"] for v in first["items"] + rest["items"]]
    assert versions == [1, 2, 3, 4] and rest["next_cursor"] is None
    assert [v["version"] for v in rest["items"] if v["active"]] == []
    with api.c.ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme"), Account("A2", "Globex")], T0)
        ids = tx.all_account_ids()
        made = [tx.add_overflow(ids[k], T0, "no eligible rep") for k in ("A1", "A2")]
        tx.resolve_overflow(made[0], T0, "leased")
    open_now = api.get("/overflow").json()
    assert [e["account"] for e in open_now["items"]] == ["A2"]
    every = api.get("/overflow", params={"all": "true", "limit": 1}).json()
    more = api.get("/overflow", params={"all": "true", "cursor": every["next_cursor"]}).json()
    assert [e["account"] for e in every["items"] + more["items"]] == ["A1", "A2"]
    assert every["items"][0]["resolution"] == "leased"


def test_commission_lines_page_by_id_and_a_rep_sees_only_its_own(api: Api) -> None:
    with api.c.ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme")], T0)
        tx.insert_opportunities([Opportunity(f"O{i}", "A1", "closed_won") for i in (1, 2, 3)], T0)
        rep = tx.reps_by_external_id(["R1"])["R1"].id
        lease = leases.grant(tx, tx.all_account_ids()["A1"], rep, T0, 80.0,
                             active_policy(tx), "test", "t")  # fmt: skip
        plan = ensure_plans(tx, T0, "test")[0].version
        for i in (1, 2, 3):
            tx.add_commission_line(
                CommissionLine(f"O{i}", rep, lease.id, 0, "deal", "2027-01", T0.date(),
                               Decimal("80.00"), plan, Decimal("0.1"), Decimal("100.00"),
                               Decimal("10.00"), T0, 1)
            )  # fmt: skip
    first = api.get("/comp/lines", "rep", params={"rep": "R1", "limit": 2}).json()
    rest = api.get("/comp/lines", "rep", params={"rep": "R1", "cursor": first["next_cursor"]})
    lines = first["items"] + rest.json()["items"]
    assert [x["opportunity"] for x in lines] == ["O1", "O2", "O3"]
    assert lines[0]["commission"] == "10.00" and rest.json()["next_cursor"] is None
    assert api.get("/comp/lines", "rep", params={"rep": "R2"}).status_code == 403
    other = api.get("/comp/lines", "manager", params={"rep": "R1", "period": "2027-02"})
    assert other.json()["items"] == []
    assert api.get("/comp/lines", "viewer", params={"rep": "R1"}).status_code == 403
