"""CrmSyncPort: watermarks and lease changes on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dtem.domain.model import Account, LeaseState, Rep
from tests.conftest import T0

H = timedelta(hours=1)


def _seed(ledger: Any) -> tuple[list[int], list[int]]:
    with ledger.transaction() as tx:
        tx.insert_accounts([Account(f"A{i}", f"Acct {i}") for i in range(3)], T0)
        tx.insert_reps([Rep("R1", "Rita"), Rep("R2", "Raj")], T0)
        acc = tx.accounts_by_external_id(["A0", "A1", "A2"])
        reps = tx.reps_by_external_id(["R1", "R2"])
    return [acc[f"A{i}"].id for i in range(3)], [reps["R1"].id, reps["R2"].id]


def test_watermarks_start_empty_and_move(ledger: Any) -> None:
    with ledger.transaction() as tx:
        assert tx.watermark("export:salesforce") is None
        tx.set_watermark("export:salesforce", T0)
        tx.set_watermark("export:salesforce", T0 + H)
    with ledger.transaction() as tx:
        assert tx.watermark("export:salesforce") == T0 + H
        assert tx.watermark("export:hubspot") is None


def test_lease_changes_and_cooldown_pairs_follow_the_lease_history(ledger: Any) -> None:
    (a0, a1, a2), (r1, r2) = _seed(ledger)
    sprint = timedelta(days=30)
    with ledger.transaction() as tx:
        old = tx.grant_lease(a0, r1, T0, T0 + sprint, 70.0, 1, "x")
        tx.end_lease(old.id, old.version, LeaseState.REVOKED, T0 + 2 * H, "no advance")
        tx.grant_lease(a1, r2, T0 + 3 * H, T0 + sprint, 70.0, 1, "y")
        tx.grant_lease(a2, r2, T0 - H, T0 + sprint, 70.0, 1, "z")
    with ledger.transaction() as tx:
        assert tx.accounts_with_lease_changes(T0, T0 + 5 * H) == [a0, a1]
        assert tx.accounts_with_lease_changes(T0 + 2 * H, T0 + 5 * H) == [a1]
        assert tx.cooling_pairs(T0) == {(a0, r1)}
        assert tx.cooling_pairs(T0 + 3 * H) == set()
