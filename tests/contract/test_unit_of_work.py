"""One transaction spans every port: all of it commits or none of it, on every backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dtem.domain.errors import LeaseConflict
from dtem.domain.model import Account, Rep
from tests.conftest import T0


def test_failed_transaction_writes_nothing(ledger: Any) -> None:
    with pytest.raises(RuntimeError), ledger.transaction() as tx:
        tx.insert_accounts([Account("A9", "Nine")], T0)
        tx.append_audit("test", "import", {"n": 1}, T0)
        raise RuntimeError("boom")
    with ledger.transaction() as tx:
        assert tx.count("accounts") == 0
        assert list(tx.audit_entries()) == []


def test_lease_conflict_leaves_the_transaction_usable(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme")], T0)
        tx.insert_reps([Rep("R1", "Rita")], T0)
        account_id = tx.accounts_by_external_id(["A1"])["A1"].id
        rep_id = tx.reps_by_external_id(["R1"])["R1"].id
    with ledger.transaction() as tx:
        tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "first")
        with pytest.raises(LeaseConflict):
            tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "second")
        tx.append_audit("test", "after.conflict", {}, T0)
    with ledger.transaction() as tx:
        assert [e.action for e in tx.audit_entries()] == ["after.conflict"]
