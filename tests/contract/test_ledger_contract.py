"""The ledger contract: the same behaviour on the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dtem.domain.audit import verify_chain
from dtem.domain.errors import AuditChainBroken, LeaseConflict, LeaseVersionConflict, NotFound
from dtem.domain.model import Account, LeaseState, Rep, Tier
from dtem.domain.ports import TokenRecord
from dtem.domain.store_market import LeaseEventRow
from tests.conftest import T0

DAY = timedelta(days=1)


def _seed(ledger: Any) -> tuple[int, int]:
    with ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com", tier=Tier.HUMAN_ONLY)], T0)
        tx.insert_reps([Rep("R1", "Rita", segments=("smb|retail",), capacity=5)], T0)
        acc = tx.accounts_by_external_id(["A1"])["A1"]
        rep = tx.reps_by_external_id(["R1"])["R1"]
    assert acc.id is not None and rep.id is not None
    return acc.id, rep.id


def test_second_active_lease_on_an_account_is_a_lease_conflict(ledger: Any) -> None:
    account_id, rep_id = _seed(ledger)
    with ledger.transaction() as tx:
        tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "crossing")
    with pytest.raises(LeaseConflict), ledger.transaction() as tx:
        tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "again")
    with ledger.transaction() as tx:
        assert len(tx.active_leases()) == 1


def test_lease_conflict_leaves_the_transaction_usable(ledger: Any) -> None:
    account_id, rep_id = _seed(ledger)
    with ledger.transaction() as tx:
        tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "first")
        with pytest.raises(LeaseConflict):
            tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "second")
        tx.append_audit("test", "after.conflict", {}, T0)
    with ledger.transaction() as tx:
        assert [e.action for e in tx.audit_entries()] == ["after.conflict"]


def test_ended_lease_frees_the_account_for_a_new_one(ledger: Any) -> None:
    account_id, rep_id = _seed(ledger)
    with ledger.transaction() as tx:
        lease = tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "x")
        ended = tx.end_lease(
            lease.id, lease.version, LeaseState.REVOKED, T0 + timedelta(days=31), "no advance"
        )
        assert ended.state is LeaseState.REVOKED and ended.ended_at is not None
        again = tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 65.0, 1, "y")
        assert tx.active_lease(account_id) == again
    with pytest.raises(LeaseVersionConflict), ledger.transaction() as tx:
        tx.end_lease(lease.id, lease.version, LeaseState.RELEASED, T0, "twice")
    with pytest.raises(NotFound), ledger.transaction() as tx:
        tx.end_lease(lease.id + 1000, 1, LeaseState.RELEASED, T0, "no such lease")


def test_extend_lease_moves_expiry_and_state(ledger: Any) -> None:
    account_id, rep_id = _seed(ledger)
    with ledger.transaction() as tx:
        lease = tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "x")
        later = T0 + timedelta(days=60)
        extended = tx.extend_lease(lease.id, lease.version, later, LeaseState.ADVANCED)
    assert extended.expires_at == later and extended.state is LeaseState.ADVANCED


def test_each_transition_moves_the_lease_one_version_on(ledger: Any) -> None:
    account_id, rep_id = _seed(ledger)
    with ledger.transaction() as tx:
        granted = tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "x")
        moved = tx.extend_lease(granted.id, 1, T0 + timedelta(days=40), LeaseState.ADVANCED)
    with ledger.transaction() as tx:
        ended = tx.end_lease(granted.id, 2, LeaseState.WON, T0 + DAY, "stage closed_won")
        assert tx.lease(granted.id) == ended
    assert (granted.version, moved.version, ended.version) == (1, 2, 3)


def test_a_write_at_a_stale_version_is_a_conflict_and_changes_nothing(ledger: Any) -> None:
    account_id, rep_id = _seed(ledger)
    with ledger.transaction() as tx:
        read = tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "x")
    with ledger.transaction() as tx:  # another writer advances it: version 2
        advanced = tx.extend_lease(read.id, 1, T0 + timedelta(days=45), LeaseState.ADVANCED)
    for stale_write in (
        lambda tx: tx.end_lease(read.id, read.version, LeaseState.REVOKED, T0, "no advance"),
        lambda tx: tx.extend_lease(read.id, read.version, T0, LeaseState.ADVANCED),
    ):
        with pytest.raises(LeaseVersionConflict) as caught, ledger.transaction() as tx:
            stale_write(tx)
        assert (caught.value.read_version, caught.value.current_version) == (1, 2)
    with ledger.transaction() as tx:
        assert tx.lease(read.id) == advanced and tx.active_lease(account_id) == advanced


def test_a_second_event_for_one_lease_version_is_a_conflict(ledger: Any) -> None:
    account_id, rep_id = _seed(ledger)
    with ledger.transaction() as tx:
        lease = tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "x")
        tx.add_lease_event(lease.id, LeaseEventRow(lease.id, "granted", T0, "a", "x", 1, {}, 1))
    with pytest.raises(LeaseVersionConflict), ledger.transaction() as tx:
        tx.add_lease_event(lease.id, LeaseEventRow(lease.id, "granted", T0, "b", "y", 1, {}, 1))
    with ledger.transaction() as tx:
        assert [(e.seq, e.actor) for e in tx.lease_events(lease.id)] == [(1, "a")]


def test_failed_transaction_writes_nothing(ledger: Any) -> None:
    with pytest.raises(RuntimeError), ledger.transaction() as tx:
        tx.insert_accounts([Account("A9", "Nine")], T0)
        tx.append_audit("test", "import", {"n": 1}, T0)
        raise RuntimeError("boom")
    with ledger.transaction() as tx:
        assert tx.count("accounts") == 0
        assert list(tx.audit_entries()) == []


def test_accounts_update_by_external_id(ledger: Any) -> None:
    _seed(ledger)
    with ledger.transaction() as tx:
        old = tx.accounts_by_external_id(["A1"])["A1"]
        tx.update_accounts([Account("A1", "Acme Corp", domain="acme.com", employees=50)], T0)
        new = tx.accounts_by_external_id(["A1", "missing"])
    assert list(new) == ["A1"]
    assert new["A1"].name == "Acme Corp" and new["A1"].employees == 50 and new["A1"].id == old.id


def test_reps_round_trip_lists(ledger: Any) -> None:
    _seed(ledger)
    with ledger.transaction() as tx:
        (rep,) = tx.all_reps()
    assert rep.segments == ("smb|retail",) and rep.capacity == 5 and rep.languages == ()


def test_audit_chain_links_entries_and_detects_edits(ledger: Any) -> None:
    with ledger.transaction() as tx:
        for i in range(3):
            tx.append_audit("admin", "policy.store", {"version": i}, T0 + timedelta(minutes=i))
    with ledger.transaction() as tx:
        entries = list(tx.audit_entries())
    assert [e.seq for e in entries] == [1, 2, 3]
    assert verify_chain(entries).entries == 3
    forged = [
        *entries[:1],
        entries[1].__class__(**{**entries[1].__dict__, "actor": "mallory"}),
        entries[2],
    ]
    with pytest.raises(AuditChainBroken) as err:
        verify_chain(forged)
    assert err.value.seq == 2


def test_policy_versions_are_numbered_and_activation_is_latest(ledger: Any) -> None:
    with ledger.transaction() as tx:
        v1 = tx.add_policy({"threshold": 60.0}, T0, "admin", "first")
        v2 = tx.add_policy({"threshold": 65.0}, T0, "admin", "second")
        assert tx.active_policy_version() is None
        tx.activate_policy(v2, T0, "admin")
        tx.activate_policy(v1, T0, "admin")
    with ledger.transaction() as tx:
        assert (v1, v2) == (1, 2)
        assert tx.active_policy_version() == 1
        assert tx.policy_document(2) == {"threshold": 65.0}
        assert [p.active for p in tx.policy_versions()] == [True, False]
        with pytest.raises(NotFound):
            tx.activate_policy(7, T0, "admin")


def test_tokens_are_found_by_hash_and_revoked(ledger: Any) -> None:
    with ledger.transaction() as tx:
        token_id = tx.add_token(TokenRecord("h" * 64, "admin", "ops", T0))
        tx.revoke_token(token_id, T0)
    with ledger.transaction() as tx:
        found = tx.token_by_hash("h" * 64)
        assert found is not None and found.revoked_at == T0 and found.role == "admin"
        assert tx.token_by_hash("x" * 64) is None
