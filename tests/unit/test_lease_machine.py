"""The lease state machine: pure transitions, and random command sequences through the
service never double-lease an account nor change a lease without an audit entry."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import T0, sql_ledger
from tests.market_seed import seed

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain import leases as lm
from dtem.domain.clock import FixedClock
from dtem.domain.errors import LeaseConflict, LeaseTransitionInvalid, LeaseVersionConflict
from dtem.domain.model import Account, LeaseState, Rep
from dtem.domain.policy import default_policy
from dtem.domain.store_market import LeaseFilter
from dtem.services import leases
from dtem.services.governance import active_policy

POLICY = default_policy()


def _granted() -> Any:
    (ev,) = lm.decide(None, lm.GrantLease(1, 2, T0, 70.0, 1, "crossed_up", "router"), POLICY)
    return lm.evolve(None, ev)


def test_grant_starts_one_sprint() -> None:
    lease = _granted()
    assert lease.state is LeaseState.GRANTED
    assert lease.expires_at == T0 + timedelta(days=POLICY.sprint_days)


def test_grant_on_an_active_lease_is_a_conflict() -> None:
    with pytest.raises(LeaseConflict):
        lm.decide(_granted(), lm.GrantLease(1, 3, T0, 70.0, 1, "x", "router"), POLICY)


def test_later_stage_extends_the_lease_by_a_sprint_from_the_advance() -> None:
    at = T0 + timedelta(days=20)
    cmd = lm.RecordAdvance(at, "discovery", "qualification", 1, "import")
    (ev,) = lm.decide(_granted(), cmd, POLICY)
    lease = lm.evolve(_granted(), ev)
    assert lease.state is LeaseState.ADVANCED
    assert lease.expires_at == at + timedelta(days=POLICY.sprint_days)


def test_first_opportunity_is_an_advance_and_same_stage_is_not() -> None:
    first = lm.decide(_granted(), lm.RecordAdvance(T0, "prospecting", None, 1, "api"), POLICY)
    again = lm.RecordAdvance(T0, "discovery", "discovery", 1, "api")
    assert [e.kind for e in first] == ["advanced"]
    assert lm.decide(_granted(), again, POLICY) == []


def test_won_and_lost_stages_close_the_lease() -> None:
    won = lm.decide(_granted(), lm.RecordAdvance(T0, "closed_won", "proposal", 1, "api"), POLICY)
    lost = lm.decide(_granted(), lm.RecordAdvance(T0, "closed_lost", None, 1, "api"), POLICY)
    assert lm.evolve(_granted(), won[0]).state is LeaseState.WON
    assert lm.evolve(_granted(), lost[0]).state is LeaseState.LOST


def test_expiry_inside_the_sprint_does_nothing_and_after_it_revokes_or_pools() -> None:
    lease = _granted()
    assert lm.decide(lease, lm.ExpireLease(T0 + timedelta(days=29), False, 1), POLICY) == []
    late = T0 + timedelta(days=31)
    (revoked,) = lm.decide(lease, lm.ExpireLease(late, False, 1), POLICY)
    (pooled,) = lm.decide(lease, lm.ExpireLease(late, True, 1), POLICY)
    assert (revoked.kind, pooled.kind) == ("revoked", "expired")


def test_every_transition_makes_the_next_version() -> None:
    granted = _granted()
    (advanced,) = lm.decide(granted, lm.RecordAdvance(T0, "prospecting", None, 1, "api"), POLICY)
    moved = lm.evolve(granted, advanced)
    ended = lm.evolve(moved, lm.LeaseReleased(T0, "rep", "pto", 1))
    assert (granted.version, moved.version, ended.version) == (1, 2, 3)


def test_ended_lease_refuses_every_command() -> None:
    ended = lm.evolve(_granted(), lm.LeaseReleased(T0, "rep", "pto", 1))
    with pytest.raises(LeaseTransitionInvalid):
        lm.decide(ended, lm.ReleaseLease(T0, "again", 1, "rep"), POLICY)


# --- random sequences through the service --------------------------------------------
ACCOUNTS = ["A1", "A2", "A3"]
REPS = ["R1", "R2", "R3"]
commands = st.lists(
    st.tuples(
        st.sampled_from(["grant", "advance", "expire", "release", "reassign"]),
        st.sampled_from(ACCOUNTS),
        st.sampled_from(REPS),
        st.sampled_from(["prospecting", "discovery", "proposal", "closed_won", "closed_lost"]),
        st.integers(min_value=0, max_value=40),  # days forward
    ),
    max_size=25,
)


def _setup(ledger: Any) -> tuple[FixedClock, dict[str, int], dict[str, int]]:
    clock = FixedClock(T0)
    accounts = [Account(a, a, employees=50, industry="retail") for a in ACCOUNTS]
    acc, rep = seed(ledger, clock, accounts, [Rep(r, r) for r in REPS])
    return clock, acc, rep


def _apply(ledger: Any, clock: FixedClock, cmd: tuple[Any, ...], acc: Any, rep: Any) -> None:
    kind, account, rep_key, stage, days = cmd
    clock.advance(days=days)
    now = clock()
    with ledger.transaction() as tx:
        active = active_policy(tx)
        lease = tx.active_lease(acc[account])
        if kind == "grant":
            leases.grant(tx, acc[account], rep[rep_key], now, 70.0, active, "test", "t")
            return
        if lease is None:
            return
        command = {
            "advance": lm.RecordAdvance(now, stage, None, active.version, "t"),
            "expire": lm.ExpireLease(now, days % 2 == 0, active.version),
            "release": lm.ReleaseLease(now, "early", active.version, "t"),
            "reassign": lm.ReassignLease(now, rep[rep_key], "move", active.version, "t"),
        }[kind]
        leases.apply_events(tx, lease, lm.decide(lease, command, active.policy))


def test_a_grant_is_decided_on_the_account_s_current_lease() -> None:
    """The service hands `decide` the lease it read: the domain refuses, not just the index."""
    ledger = MemoryLedger()
    clock, acc, rep = _setup(ledger)
    with ledger.transaction() as tx:
        first = leases.grant(tx, acc["A1"], rep["R1"], clock(), 70.0, active_policy(tx), "t", "t")
    refused = pytest.raises(LeaseConflict, match=f"lease {first.id} is granted")
    with refused, ledger.transaction() as tx:
        leases.grant(tx, acc["A1"], rep["R2"], clock(), 70.0, active_policy(tx), "t", "t")


def test_a_transition_on_a_stale_read_is_refused_and_writes_nothing() -> None:
    ledger = MemoryLedger()
    clock, acc, rep = _setup(ledger)
    with ledger.transaction() as tx:
        read = leases.grant(tx, acc["A1"], rep["R1"], clock(), 70.0, active_policy(tx), "t", "t")
    with ledger.transaction() as tx:  # another unit of work moves it to version 2
        change = leases.StageChange(acc["A1"], "prospecting", None, clock())
        (advanced,) = leases.record_advances(tx, [change], active_policy(tx), "crm")
    release = lm.ReleaseLease(clock(), "early", 1, "rep")
    with pytest.raises(LeaseVersionConflict), ledger.transaction() as tx:
        leases.apply_events(tx, read, lm.decide(read, release, POLICY))
    with ledger.transaction() as tx:
        assert tx.lease(read.id) == advanced and advanced.version == 2
        assert [(e.seq, e.kind) for e in tx.lease_events(read.id)] == [
            (1, "granted"),
            (2, "advanced"),
        ]


def _check_invariants(ledger: Any) -> None:
    with ledger.transaction() as tx:
        active = tx.active_leases()
        assert len({x.account_id for x in active}) == len(active)
        audited = {
            (e.payload["lease_id"], e.action) for e in tx.audit_entries() if "lease_id" in e.payload
        }
        all_leases = tx.find_leases(LeaseFilter(limit=10_000))
        for lease in all_leases:
            for event in tx.lease_events(lease.id):
                assert (lease.id, f"lease.{event.kind}") in audited
            kinds = [e.kind for e in tx.lease_events(lease.id)]
            assert kinds[0] == "granted"
            # one event per version: seq 1..n, and the lease is at version n
            assert [e.seq for e in tx.lease_events(lease.id)] == list(range(1, lease.version + 1))
            if lease.ended_at is not None:
                assert kinds[-1] == lease.state.value


def _run_sequence(ledger: Any, seq: list[tuple[Any, ...]]) -> None:
    clock, acc, rep = _setup(ledger)
    for cmd in seq:
        # refused commands are part of the game; the state must stay sound after them
        with contextlib.suppress(LeaseConflict, LeaseTransitionInvalid):
            _apply(ledger, clock, cmd, acc, rep)
        _check_invariants(ledger)


@settings(max_examples=60, deadline=None)
@given(commands)
def test_random_commands_never_double_lease_nor_skip_the_audit(seq: list[Any]) -> None:
    _run_sequence(MemoryLedger(), seq)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seq=commands)
def test_random_commands_on_sqlite_keep_the_same_invariants(
    seq: list[Any], tmp_path_factory: Any
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('seq')}/l.db"
    ledger = sql_ledger(url)
    try:
        _run_sequence(ledger, seq)
    finally:
        ledger.engine.dispose()
