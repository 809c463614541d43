"""The imports store: the same behaviour on the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from dtem.domain.model import Account, Activity, Opportunity, Rep
from dtem.domain.store_imports import RecordChange, StageEntry
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


def test_all_accounts_returns_every_field(ledger: Any) -> None:
    _seed(ledger)
    with ledger.transaction() as tx:
        accounts = tx.all_accounts()
    assert set(accounts) == {"A1", "A2"}
    assert accounts["A2"].industry == "retail" and accounts["A2"].id is not None


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


def test_opportunities_resolve_accounts_and_reps_and_keep_stage_history(ledger: Any) -> None:
    _seed(ledger)
    opp = Opportunity("O1", "A1", "prospecting", 1000.0, date(2027, 1, 2), None, "R1")
    with ledger.transaction() as tx:
        tx.insert_opportunities(
            [opp, Opportunity("O2", "A2", "proposal", rep_external_id="R9")], T0
        )
        tx.append_stage_history([StageEntry("O1", "prospecting", T0, "import")])
    later = T0 + timedelta(days=2)
    with ledger.transaction() as tx:
        tx.update_opportunities(
            [Opportunity("O1", "A1", "proposal", 1200.0, date(2027, 1, 2), None, "R1")], later
        )
        tx.append_stage_history([StageEntry("O1", "proposal", later, "import")])
    with ledger.transaction() as tx:
        found = tx.opportunities_by_external_id(["O1", "O2", "O3"])
        history = tx.stage_history("O1")
        assert len(tx.all_opportunities()) == 2
    assert found["O1"].stage == "proposal" and found["O1"].amount == 1200.0
    assert found["O1"].rep_external_id == "R1" and found["O1"].created_date == date(2027, 1, 2)
    assert found["O2"].rep_external_id is None  # an unknown rep is stored as no rep
    assert [(h.stage, h.changed_at) for h in history] == [("prospecting", T0), ("proposal", later)]


def test_activities_insert_and_report_known_ids(ledger: Any) -> None:
    _seed(ledger)
    with ledger.transaction() as tx:
        tx.insert_activities([Activity("X1", "A1", "call", T0, "agent", "bot")])
    with ledger.transaction() as tx:
        assert tx.existing_activity_ids(["X1", "X2"]) == {"X1"}
        assert tx.count("activities") == 1
