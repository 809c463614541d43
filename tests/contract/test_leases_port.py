"""LeasesPort: leases and their history behave the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dtem.domain.clock import FixedClock
from dtem.domain.errors import LeaseConflict, LeaseVersionConflict, NotFound
from dtem.domain.model import Account, LeaseState, Rep, Tier
from dtem.domain.store_market import LeaseEnd, LeaseEventRow, LeaseFilter, LeaseGrant
from tests.conftest import T0
from tests.market_seed import seed

DAY = timedelta(days=1)


def _seed(ledger: Any) -> tuple[int, int]:
    with ledger.transaction() as tx:
        tx.insert_accounts([Account("A1", "Acme", domain="acme.com", tier=Tier.HUMAN_ONLY)], T0)
        tx.insert_reps([Rep("R1", "Rita", segments=("smb|retail",), capacity=5)], T0)
        acc = tx.accounts_by_external_id(["A1"])["A1"]
        rep = tx.reps_by_external_id(["R1"])["R1"]
    assert acc.id is not None and rep.id is not None
    return acc.id, rep.id


def _market(ledger: Any) -> tuple[dict[str, int], dict[str, int]]:
    accounts = [Account(f"A{i}", f"Acc {i}", employees=50, industry="Retail") for i in range(3)]
    return seed(ledger, FixedClock(T0), accounts, [Rep("R1", "Rita"), Rep("R2", "Raj")])


def test_second_active_lease_on_an_account_is_a_lease_conflict(ledger: Any) -> None:
    account_id, rep_id = _seed(ledger)
    with ledger.transaction() as tx:
        tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "crossing")
    with pytest.raises(LeaseConflict), ledger.transaction() as tx:
        tx.grant_lease(account_id, rep_id, T0, T0 + timedelta(days=30), 70.0, 1, "again")
    with ledger.transaction() as tx:
        assert len(tx.active_leases()) == 1


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


def test_a_lease_reads_back_by_id_after_it_ended(ledger: Any) -> None:
    account_id, rep_id = _seed(ledger)
    with ledger.transaction() as tx:
        granted = tx.grant_lease(account_id, rep_id, T0, T0 + 30 * DAY, 70.0, 3, "crossing")
        tx.end_lease(granted.id, granted.version, LeaseState.RELEASED, T0 + DAY, "rep asked")
    with ledger.transaction() as tx:
        found = tx.lease(granted.id)
        assert tx.active_lease(account_id) is None and tx.active_leases() == []
        with pytest.raises(NotFound):
            tx.lease(granted.id + 1000)
    assert (found.account_id, found.rep_id, found.score_at_grant, found.policy_version) == (
        account_id,
        rep_id,
        70.0,
        3,
    )
    assert found.state is LeaseState.RELEASED and found.ended_at == T0 + DAY


def test_leases_due_and_found_by_rep(ledger: Any) -> None:
    acc, rep = _market(ledger)
    with ledger.transaction() as tx:
        a = tx.grant_lease(acc["A0"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.grant_lease(acc["A1"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.grant_lease(acc["A2"], rep["R2"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.end_lease(a.id, a.version, LeaseState.REVOKED, T0 + 31 * DAY, "no advance")
    with ledger.transaction() as tx:
        assert [x.id for x in tx.leases_due(T0 + 30 * DAY)] == [2, 3]
        assert tx.leases_due(T0 + 29 * DAY) == []
        assert len(tx.find_leases(LeaseFilter(rep_id=rep["R1"]))) == 2
        assert len(tx.find_leases(LeaseFilter(rep_id=rep["R1"], active_only=True))) == 1
        assert [x.id for x in tx.find_leases(LeaseFilter(account_id=acc["A2"]))] == [3]


def test_leases_page_by_id_and_ended_only(ledger: Any) -> None:
    acc, rep = _market(ledger)
    with ledger.transaction() as tx:
        ids = [
            tx.grant_lease(acc[a], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x").id
            for a in ("A0", "A1", "A2")
        ]
        first = tx.lease(ids[0])
        tx.end_lease(first.id, first.version, LeaseState.LOST, T0 + DAY, "stage lost")
    with ledger.transaction() as tx:
        newest = tx.find_leases(LeaseFilter(rep_id=rep["R1"], limit=2))
        after = tx.find_leases(LeaseFilter(rep_id=rep["R1"], limit=2, before_id=newest[-1].id))
        ended = tx.find_leases(LeaseFilter(rep_id=rep["R1"], ended_only=True))
    assert [x.id for x in newest] == [ids[2], ids[1]]
    assert [x.id for x in after] == [ids[0]]
    assert [x.id for x in ended] == [ids[0]]


def test_lease_events_round_trip(ledger: Any) -> None:
    acc, rep = _market(ledger)
    with ledger.transaction() as tx:
        lease = tx.grant_lease(acc["A1"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        event = LeaseEventRow(lease.id, "granted", T0, "router", "x", 1, {"k": 1}, seq=1)
        tx.add_lease_event(lease.id, event)
    with ledger.transaction() as tx:
        assert tx.lease_events(lease.id) == [event]


def _grants(acc: dict[str, int], rep: int, keys: list[str]) -> list[LeaseGrant]:
    return [LeaseGrant(acc[k], rep, T0, T0 + 30 * DAY, 70.0, 1, "rebalance") for k in keys]


def test_bulk_grants_and_ends_keep_one_active_lease_per_account(ledger: Any) -> None:
    acc, rep = _market(ledger)
    with ledger.transaction() as tx:
        granted = tx.grant_leases(_grants(acc, rep["R1"], ["A0", "A1", "A2"]))
        assert [x.account_id for x in granted] == [acc["A0"], acc["A1"], acc["A2"]]
        assert all(x.version == 1 and x.ended_at is None for x in granted)
        tx.add_lease_events(
            [LeaseEventRow(x.id, "granted", T0, "rebalance", "r", 1, {}, seq=1) for x in granted]
        )
    with pytest.raises(LeaseConflict), ledger.transaction() as tx:  # A1 is leased
        tx.grant_leases(_grants(acc, rep["R2"], ["A1"]))
    ends = [LeaseEnd(x.id, 1, LeaseState.REASSIGNED, T0 + DAY, "rebalanced") for x in granted]
    with ledger.transaction() as tx:
        ended = tx.end_leases(ends[:2])
        assert [(x.id, x.version, x.state) for x in ended] == [
            (granted[0].id, 2, LeaseState.REASSIGNED),
            (granted[1].id, 2, LeaseState.REASSIGNED),
        ]
        again = tx.grant_leases(_grants(acc, rep["R2"], ["A0", "A1"]))
        assert tx.active_lease_counts() == {rep["R1"]: 1, rep["R2"]: 2}
        assert [len(tx.lease_events(x.id)) for x in granted] == [1, 1, 1]
    with pytest.raises(LeaseVersionConflict), ledger.transaction() as tx:
        tx.end_leases(ends[1:])  # A1's lease moved on to version 2: nothing ends
    with ledger.transaction() as tx:
        assert {x.id for x in tx.active_leases()} == {granted[2].id} | {x.id for x in again}


def test_a_bulk_grant_naming_an_account_twice_grants_nothing(ledger: Any) -> None:
    acc, rep = _market(ledger)
    with pytest.raises(LeaseConflict), ledger.transaction() as tx:
        tx.grant_leases(_grants(acc, rep["R1"], ["A0", "A1", "A0"]))
    with ledger.transaction() as tx:
        assert tx.active_leases() == []
