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
