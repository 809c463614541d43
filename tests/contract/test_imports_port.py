"""ImportsPort: what imports write reads back the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dtem.domain.model import Account, Activity, Rep, Tier
from dtem.domain.store_imports import RecordChange
from tests.conftest import T0


def _seed(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme"), Account("A2", "Globex", industry="retail")], T0)
        tx.insert_reps([Rep("R1", "Rita")], T0)


def test_batches_and_record_changes_round_trip(ledger: Any) -> None:
    with ledger.transaction() as tx:
        batch = tx.add_import_batch("accounts", "a.csv", "ab" * 32, T0, "ops", {"inserted": 2})
        tx.add_record_changes(
            batch, [RecordChange("accounts", "A1", {"name": ["Acme", "Acme Ltd"]})]
        )
        other = tx.add_import_batch("reps", "r.csv", "cd" * 32, T0, "ops", {"inserted": 0})
    with ledger.transaction() as tx:
        batches = tx.import_batches()
        changes = tx.record_changes(batch)
        assert tx.record_changes(other) == []
    assert [(b.id, b.kind, b.counts) for b in batches] == [
        (batch, "accounts", {"inserted": 2}),
        (other, "reps", {"inserted": 0}),
    ]
    assert batches[0].at == T0 and batches[0].sha256 == "ab" * 32
    assert changes == [RecordChange("accounts", "A1", {"name": ["Acme", "Acme Ltd"]})]


def test_accounts_update_by_external_id(ledger: Any) -> None:
    _seed(ledger)
    with ledger.transaction() as tx:
        old = tx.accounts_by_external_id(["A1"])["A1"]
        tx.update_accounts([Account("A1", "Acme Corp", domain="acme.com", employees=50)], T0)
        new = tx.accounts_by_external_id(["A1", "missing"])
    assert list(new) == ["A1"]
    assert new["A1"].name == "Acme Corp" and new["A1"].employees == 50 and new["A1"].id == old.id


def test_bulk_inserted_accounts_are_in_the_snapshot(ledger: Any) -> None:
    accounts = [
        Account("B1", "Beta", domain="beta.io", employees=40, tier=Tier.HUMAN_ONLY),
        Account("B2", "Gamma", industry="retail", do_not_contact=True, potential_value=9.5),
    ]
    with ledger.transaction() as tx:
        tx.bulk_insert_accounts(accounts, T0)
    with ledger.transaction() as tx:
        snapshot = tx.account_snapshot()
        ids = tx.all_account_ids()
        assert tx.count("accounts") == 2
    assert sorted(snapshot) == ["B1", "B2"] and len(snapshot) == 2
    assert snapshot["B1"] == replace(accounts[0], id=ids["B1"])
    assert snapshot["B2"] == replace(accounts[1], id=ids["B2"])
    assert snapshot.same("B1", {"name": "Beta", "employees": 40})
    assert not snapshot.same("B2", {"industry": "saas"})


def test_reps_update_by_external_id(ledger: Any) -> None:
    _seed(ledger)
    with ledger.transaction() as tx:
        old = tx.reps_by_external_id(["R1"])["R1"]
        tx.update_reps([Rep("R1", "Rita M", capacity=7, active=False)], T0)
        assert tx.count("reps") == 1
    with ledger.transaction() as tx:
        new = tx.reps_by_external_id(["R1"])["R1"]
    assert (new.name, new.capacity, new.active, new.id) == ("Rita M", 7, False, old.id)


def test_reps_keep_manager_team_and_region(ledger: Any) -> None:
    _seed(ledger)
    rep = Rep("R1", "Rita", manager="Mona Lee", team="Enterprise", region="EMEA")
    with ledger.transaction() as tx:
        tx.update_reps([rep], T0)
    with ledger.transaction() as tx:
        new = tx.reps_by_external_id(["R1"])["R1"]
    assert (new.manager, new.team, new.region) == ("Mona Lee", "Enterprise", "EMEA")


def test_account_attributes_are_replaced_and_none_removes(ledger: Any) -> None:
    _seed(ledger)
    with ledger.transaction() as tx:
        tx.set_account_attributes({"A1": {"origin": "social", "first_contact_date": "2018-02-01"}})
        tx.set_account_attributes({"A1": {"origin": "email"}, "A2": {"origin": None}})
    with ledger.transaction() as tx:
        attrs = tx.account_attributes(["A1", "A2"])
        origins = tx.all_account_attributes("origin")
    assert attrs == {"A1": {"origin": "email", "first_contact_date": "2018-02-01"}}
    assert origins == {"A1": "email"}


def test_activities_insert_and_report_known_ids(ledger: Any) -> None:
    _seed(ledger)
    with ledger.transaction() as tx:
        tx.insert_activities([Activity("X1", "A1", "call", T0, "agent", "bot")])
    with ledger.transaction() as tx:
        assert tx.existing_activity_ids(["X1", "X2"]) == {"X1"}
        assert tx.count("activities") == 1
