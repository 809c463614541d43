"""PolicyPort: policy versions behave the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from dtem.domain.errors import NotFound
from dtem.domain.ports import LambdaStep
from tests.conftest import T0


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


def test_a_version_keeps_its_check_and_others_have_none(ledger: Any) -> None:
    with ledger.transaction() as tx:
        v1 = tx.add_policy({"threshold": 60.0}, T0, "admin", "hand-written")
        v2 = tx.add_policy({"threshold": 65.0}, T0, "admin", "trained")
        tx.add_policy_check(v2, {"passed": False, "reasons": ["too few wins"]}, T0)
    with ledger.transaction() as tx:
        assert tx.policy_check(v1) is None
        assert tx.policy_check(v2) == {"passed": False, "reasons": ["too few wins"]}


def test_activations_are_kept_in_order_with_time_and_actor(ledger: Any) -> None:
    later = T0 + timedelta(hours=1)
    with ledger.transaction() as tx:
        v1 = tx.add_policy({"threshold": 60.0}, T0, "admin", "first")
        v2 = tx.add_policy({"threshold": 65.0}, T0, "admin", "second")
        assert tx.policy_activations() == []
        tx.activate_policy(v1, T0, "admin")
        tx.activate_policy(v2, later, "ops")
        tx.activate_policy(v1, later, "admin")
    with ledger.transaction() as tx:
        history = tx.policy_activations()
    assert [(a.version, a.activated_at, a.actor) for a in history] == [
        (v1, T0, "admin"), (v2, later, "ops"), (v1, later, "admin")
    ]  # fmt: skip


def _step(on_day: int, ratio: float, version: int) -> LambdaStep:
    return LambdaStep(
        on=date(2027, 1, on_day), at=T0 + timedelta(days=on_day), policy_version=version,
        lambda_before=60.0, lambda_after=60.0 * ratio, policy_lambda=60.0, ratio=ratio,
        utilisation=0.95, target_utilisation=0.85, k=0.5, active_leases=19, capacity=20,
        threshold=60.0, threshold_in_force=61.5, open_pipeline=12_500.5, mean_deal=None,
        pipeline_bloat=None,
    )  # fmt: skip


def test_lambda_steps_one_per_date_and_the_latest_ratio_is_in_force(ledger: Any) -> None:
    with ledger.transaction() as tx:
        assert tx.policy_in_force() is None
        v1 = tx.add_policy({"threshold": 60.0}, T0, "admin", "first")
        tx.activate_policy(v1, T0, "admin")
        assert tx.policy_in_force() == (v1, 1.0)  # no step yet: λ is the policy's
        assert tx.add_lambda_step(_step(6, 1.05, v1)) is True
        assert tx.add_lambda_step(_step(4, 0.9, v1)) is True
        assert tx.add_lambda_step(_step(6, 2.0, v1)) is False  # that date has its step
    with ledger.transaction() as tx:
        assert tx.policy_in_force() == (v1, 1.05)  # the latest date, not the latest write
        steps = tx.lambda_steps()
        assert [(s.on.day, s.ratio) for s in steps] == [(4, 0.9), (6, 1.05)]
        assert steps[-1] == _step(6, 1.05, v1)  # every field round-trips
        assert [s.on.day for s in tx.lambda_steps(limit=1)] == [6]


def test_schedules_are_ordered_by_time_and_close_once(ledger: Any) -> None:
    later, sooner = T0 + timedelta(days=2), T0 + timedelta(days=1)
    with ledger.transaction() as tx:
        v1 = tx.add_policy({"threshold": 60.0}, T0, "admin", "first")
        a = tx.schedule_policy(v1, later, T0, "ana")
        b = tx.schedule_policy(v1, sooner, T0, "bo")
        with pytest.raises(NotFound):
            tx.schedule_policy(99, later, T0, "ana")
    with ledger.transaction() as tx:
        assert [(x.id, x.at, x.actor) for x in tx.policy_schedules()] == [
            (b, sooner, "bo"), (a, later, "ana")
        ]  # fmt: skip
        assert tx.close_schedule(b, later, "applied") is True
        assert tx.close_schedule(b, later, "cancelled") is False  # closed once only
    with ledger.transaction() as tx:
        assert [x.id for x in tx.policy_schedules(pending_only=True)] == [a]
        closed = tx.policy_schedules()[0]
        assert (closed.id, closed.closed_at, closed.outcome) == (b, later, "applied")
