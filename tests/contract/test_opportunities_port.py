"""OpportunitiesPort: opportunities and stage history on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from dtem.domain.model import Account, Opportunity, Rep
from dtem.domain.store_imports import StageEntry
from tests.conftest import T0


def _seed(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme"), Account("A2", "Globex", industry="retail")], T0)
        tx.insert_reps([Rep("R1", "Rita")], T0)


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


def test_product_and_amount_in_cents_come_back_as_stored(ledger: Any) -> None:
    _seed(ledger)
    opp = Opportunity("O1", "A1", "proposal", 1234567.89, product="analytics pro")
    with ledger.transaction() as tx:
        tx.insert_opportunities([opp, Opportunity("O2", "A2", "proposal", 0.1)], T0)
    with ledger.transaction() as tx:
        found = tx.opportunities_by_external_id(["O1", "O2"])
    assert found["O1"].product == "analytics pro" and found["O1"].amount == 1234567.89
    assert found["O2"].product is None and found["O2"].amount == 0.1


def test_unattached_opportunities_keep_their_key_and_attach_by_update(ledger: Any) -> None:
    _seed(ledger)
    waiting = [
        Opportunity("O1", None, "prospecting", 50.0, account_key="A9", key_kind="id"),
        Opportunity("O2", None, "proposal", account_key="Acme Ñandú", key_kind="name"),
        Opportunity("O3", None, "proposal"),  # named no account at all
    ]
    with ledger.transaction() as tx:
        tx.insert_opportunities([*waiting, Opportunity("O4", "A1", "proposal")], T0)
    with ledger.transaction() as tx:
        every = [o.external_id for o in tx.unattached_opportunities()]
        first = [o.external_id for o in tx.unattached_opportunities(limit=1)]
        by_name = tx.unattached_opportunities("name", ["ACME ñANDÚ"])
        by_id = tx.unattached_opportunities("id", ["A9", "A1"])
        assert tx.unattached_opportunities("domain", ["acme.com"]) == []
    assert every == ["O1", "O2", "O3"] and first == ["O1"]
    assert [(o.external_id, o.account_key) for o in by_name] == [("O2", "Acme Ñandú")]
    assert [(o.external_id, o.account_external_id, o.amount) for o in by_id] == [("O1", None, 50.0)]
    with ledger.transaction() as tx:
        tx.update_opportunities([Opportunity("O2", "A1", "proposal")], T0)
    with ledger.transaction() as tx:
        o2 = tx.opportunities_by_external_id(["O2"])["O2"]
        assert [o.external_id for o in tx.unattached_opportunities()] == ["O1", "O3"]
    assert (o2.account_external_id, o2.account_key, o2.key_kind) == ("A1", None, None)
