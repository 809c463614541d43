"""`dtem policy activate N --at TS`: a version activated when its time comes, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock
from dtem.domain.errors import ArgumentInvalid, NotFound
from dtem.services import governance


def _ledger() -> tuple[MemoryLedger, FixedClock, int]:
    ledger, clock = MemoryLedger(), FixedClock(T0)
    governance.ensure_policy(ledger, clock)
    version = governance.store_policy(ledger, {"threshold": 50.0}, clock, "ana", "lower")
    return ledger, clock, version


def _actions(ledger: MemoryLedger) -> list[str]:
    return [e.action for e in ledger.state.audit]


def test_a_scheduled_version_is_activated_when_due_and_only_then() -> None:
    ledger, clock, version = _ledger()
    at = T0 + timedelta(hours=6)
    sched = governance.schedule_activation(ledger, version, at, clock, "ana")
    assert governance.ensure_policy(ledger, clock).version == 1  # not due yet
    assert governance.apply_due_activations(ledger, clock) == []
    clock.now = at
    active = governance.ensure_policy(ledger, clock)  # the first call at or after TS
    assert active.version == version and active.policy.threshold == 50.0
    assert governance.pending_schedules(ledger) == []
    assert governance.apply_due_activations(ledger, clock) == []  # applied once
    entry = next(e for e in reversed(ledger.state.audit) if e.action == "policy.activate")
    assert entry.payload["schedule"] == sched.id and entry.payload["scheduled_by"] == "ana"
    assert _actions(ledger).count("policy.schedule") == 1


def test_a_past_or_naive_time_is_refused_and_a_cancelled_one_never_applies() -> None:
    ledger, clock, version = _ledger()
    with pytest.raises(ArgumentInvalid, match="not in the future"):
        governance.schedule_activation(ledger, version, T0 - timedelta(minutes=1), clock, "ana")
    with pytest.raises(ArgumentInvalid, match="time zone"):
        naive = datetime(2030, 1, 1)
        governance.schedule_activation(ledger, version, naive, clock, "ana")
    with pytest.raises(NotFound):
        governance.schedule_activation(ledger, 42, T0 + timedelta(days=1), clock, "ana")
    sched = governance.schedule_activation(ledger, version, T0 + timedelta(days=1), clock, "ana")
    governance.cancel_schedule(ledger, sched.id, clock, "bo")
    with pytest.raises(NotFound):
        governance.cancel_schedule(ledger, sched.id, clock, "bo")
    clock.now = T0 + timedelta(days=2)
    assert governance.ensure_policy(ledger, clock).version == 1
    assert "policy.schedule_cancel" in _actions(ledger)


def test_a_version_its_gate_refuses_is_closed_as_refused_not_forced() -> None:
    ledger, clock, version = _ledger()
    with ledger.transaction() as tx:
        tx.add_policy_check(version, {"passed": False, "reasons": ["too few wins"]}, T0)
    governance.schedule_activation(ledger, version, T0 + timedelta(hours=1), clock, "ana")
    clock.now = T0 + timedelta(hours=2)
    assert governance.apply_due_activations(ledger, clock) == []
    assert governance.ensure_policy(ledger, clock).version == 1
    (closed,) = [x for x in ledger.state.policy_schedules if x.outcome]
    assert closed.outcome == "refused"
    refused = next(e for e in ledger.state.audit if e.action == "policy.schedule_refused")
    assert refused.payload["refused"] == ["too few wins"]


def test_two_due_schedules_apply_in_time_order() -> None:
    ledger, clock, version = _ledger()
    other = governance.store_policy(ledger, {"threshold": 55.0}, clock, "ana", "mid")
    governance.schedule_activation(ledger, version, T0 + timedelta(hours=2), clock, "ana")
    governance.schedule_activation(ledger, other, T0 + timedelta(hours=1), clock, "ana")
    clock.now = T0 + timedelta(hours=3)
    assert governance.apply_due_activations(ledger, clock) == [other, version]
    assert governance.ensure_policy(ledger, clock).version == version
    assert clock().tzinfo is UTC
