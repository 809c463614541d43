"""The capacity interest rate: λ's step at each review moves the threshold in force.

Saturated reps raise λ (and the bar), idle reps lower it; a lowered bar routes what now
clears it at once; stored scores never move; k = 0 keeps λ fixed; one step per date.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import T0
from tests.market_seed import put_score, seed

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.capacity import lambda_step, threshold_in_force
from dtem.domain.clock import FixedClock
from dtem.domain.errors import PolicyInvalid
from dtem.domain.model import Account, Rep
from dtem.domain.policy import LambdaController, Policy, default_policy
from dtem.services import capacity_rate, governance, leases, review, routing
from dtem.services.governance import active_policy

DAY = date(2027, 1, 5)


def _market(capacity: int, hot: int, lukewarm: int) -> tuple[MemoryLedger, FixedClock, Any]:
    """`hot` accounts at 80 and `lukewarm` at 50; one rep (hourly cost 60) of `capacity`."""
    ledger, clock = MemoryLedger(), FixedClock(T0)
    accounts = [Account(f"H{i}", f"Hot {i}", employees=50, industry="retail") for i in range(hot)]
    accounts += [
        Account(f"L{i}", f"Luke {i}", employees=50, industry="retail") for i in range(lukewarm)
    ]
    acc, _ = seed(ledger, clock, accounts, [Rep("R1", "Rita", capacity=capacity, hourly_cost=60)])
    for key, account_id in acc.items():
        put_score(ledger, account_id, 80.0 if key.startswith("H") else 50.0, T0)
    return ledger, clock, acc


def _lease_all_hot(ledger: MemoryLedger, clock: FixedClock, hot: int) -> list[int]:
    out = []
    for i in range(hot):
        res = routing.route(ledger, clock, f"H{i}", "crossed_up")
        assert res.outcome == "leased" and res.lease is not None and res.lease.id is not None
        out.append(res.lease.id)
    return out


def test_saturated_reps_raise_lambda_and_the_bar_idle_reps_lower_it() -> None:
    ledger, clock, _ = _market(capacity=2, hot=2, lukewarm=0)
    _lease_all_hot(ledger, clock, 2)  # U = 2 / 2 = 100%
    report = review.run_review(ledger, clock, DAY)
    expected = 60.0 * math.exp(0.5 * (1.0 - 0.85))
    assert report.lambda_before == 60.0
    assert report.lambda_hourly == pytest.approx(expected)
    assert report.utilisation == 1.0
    with ledger.transaction() as tx:
        active = active_policy(tx)
    assert active.lambda_ratio == pytest.approx(expected / 60.0)
    assert active.policy.threshold == pytest.approx(threshold_in_force(60.0, expected / 60.0))
    assert active.policy.threshold > 60.0 == active.stored.threshold  # the document is kept

    idle, clock2, _ = _market(capacity=10, hot=0, lukewarm=0)
    low = review.run_review(idle, clock2, DAY)
    assert low.lambda_hourly == pytest.approx(60.0 * math.exp(0.5 * (0.0 - 0.85)))
    assert low.threshold_in_force < 60.0


def test_a_raised_bar_keeps_a_crossing_account_with_the_agents() -> None:
    ledger, clock, acc = _market(capacity=2, hot=2, lukewarm=0)
    lease_ids = _lease_all_hot(ledger, clock, 2)
    for day in range(5):  # saturated for five reviews: the bar climbs above 62
        review.run_review(ledger, clock, DAY + timedelta(days=day))
    with ledger.transaction() as tx:
        bar = active_policy(tx).policy.threshold
    assert bar > 62.0
    put_score(ledger, acc["H0"], 61.0, T0)  # clears the policy's 60, not the bar in force
    leases.release_lease(ledger, clock, lease_ids[0], "R1", "done with it")
    res = routing.route(ledger, clock, "H0", "crossed_up")
    assert res.outcome == "pool"
    assert res.reason == f"score 61.0 below threshold {bar:.4g}"


def test_a_lowered_bar_routes_what_now_clears_it_the_same_review() -> None:
    ledger, clock, acc = _market(capacity=10, hot=0, lukewarm=3)
    assert routing.route(ledger, clock, "L0", "crossed_up").outcome == "pool"  # 50 < 60
    report = review.run_review(ledger, clock, DAY)
    # idle (U = 0): λ 60 → 39.2 per hour, so the bar falls from 60 to 49.5, under 50
    assert report.threshold_in_force == pytest.approx(49.51, abs=0.01)
    assert report.lowered_routed == 3 and report.outcomes == {"leased": 3}
    with ledger.transaction() as tx:
        assert len(tx.active_leases()) == 3
        decisions = tx.routing_decisions(acc["L0"])
        scores = tx.latest_scores()
    assert [d.trigger for d in decisions] == ["threshold_lowered", "crossed_up"]  # newest first
    assert {s.score for s in scores.values()} == {50.0}  # the stored scores never moved


def test_one_step_per_review_date_and_k_zero_keeps_lambda_fixed() -> None:
    ledger, clock, _ = _market(capacity=10, hot=0, lukewarm=0)
    first = review.run_review(ledger, clock, DAY)
    again = review.run_review(ledger, clock, DAY)
    assert again.lambda_before == 0.0  # no second step for that date
    with ledger.transaction() as tx:
        assert [s.on for s in tx.lambda_steps()] == [DAY]
        assert tx.policy_in_force() == (1, pytest.approx(first.lambda_hourly / 60.0))

    fixed, clock2, _ = _market(capacity=10, hot=0, lukewarm=0)
    doc = default_policy().to_dict() | {"lambda_controller": {"k": 0.0}}
    version = governance.store_policy(fixed, doc, clock2, "admin", "fixed λ")
    governance.activate_policy(fixed, version, clock2, "admin")
    for d in range(3):
        assert review.run_review(fixed, clock2, DAY + timedelta(days=d)).lambda_hourly == 60.0
    assert [s.threshold_in_force for s in capacity_rate.lambda_history(fixed)] == [60.0] * 3


def test_the_history_records_utilisation_bloat_and_the_version() -> None:
    ledger, clock, _ = _market(capacity=4, hot=2, lukewarm=0)
    _lease_all_hot(ledger, clock, 2)
    review.run_review(ledger, clock, DAY)
    (step,) = capacity_rate.lambda_history(ledger)
    assert (step.active_leases, step.capacity, step.utilisation) == (2, 4, 0.5)
    assert step.policy_version == 1 and step.threshold == 60.0
    assert step.open_pipeline == 0.0 and step.pipeline_bloat == 0.0
    assert step.mean_deal == Policy().default_deal_value  # no won deal yet
    assert capacity_rate.step_to_dict(step)["on"] == DAY.isoformat()


def test_the_controller_settings_are_validated_with_the_field_named() -> None:
    bad = {"lambda_controller": {"k": -1.0, "target_utilisation": 1.5, "floor": 5, "cap": 1}}
    with pytest.raises(PolicyInvalid) as err:
        Policy.from_dict(default_policy().to_dict() | bad)
    text = "; ".join(err.value.problems)
    assert "lambda_controller.k" in text and "target_utilisation" in text and "floor" in text


@given(
    lam=st.floats(1.0, 500.0),
    u=st.floats(0.0, 1.5),
    k=st.floats(0.0, 5.0),
)
def test_a_step_stays_in_bounds_and_moves_with_the_sign_of_u_minus_target(
    lam: float, u: float, k: float
) -> None:
    ctl = LambdaController(k=k, target_utilisation=0.85, floor=10.0, cap=1000.0)
    nxt = lambda_step(lam, u, ctl)
    assert 10.0 <= nxt <= 1000.0
    if 10.0 <= lam <= 1000.0:
        assert nxt >= lam if u >= 0.85 else nxt <= lam
    if k == 0.0:
        assert nxt == min(max(lam, 10.0), 1000.0)


@given(t=st.floats(1.0, 99.0), ratio=st.floats(0.05, 20.0), score=st.floats(0.01, 99.99))
def test_the_moved_bar_is_rescoring_at_the_new_lambda(t: float, ratio: float, score: float) -> None:
    """Clearing T' with the stored score ⇔ clearing T with the score at λ × ratio."""
    e_half = 0.05
    e = e_half * score / (100.0 - score)  # the stored score's raw equity
    rescored = 100.0 * (e / ratio) / (e / ratio + e_half)
    bar = threshold_in_force(t, ratio)
    if abs(rescored - t) > 1e-6:
        assert (score >= bar) == (rescored >= t)


def test_without_capacity_lambda_holds() -> None:
    ledger, clock = MemoryLedger(), FixedClock(T0)
    governance.ensure_policy(ledger, clock)  # no rep at all: utilisation means nothing
    report = review.run_review(ledger, clock, DAY)
    assert (report.lambda_before, report.lambda_hourly) == (60.0, 60.0)
    assert report.threshold_in_force == 60.0
