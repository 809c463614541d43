"""Velocity and cost by segment: empirical-Bayes shrinkage toward the global figure."""

from __future__ import annotations

import random

from dtem.domain.capacity import blended_hourly_cost
from dtem.domain.model import Rep
from dtem.domain.policy import Policy
from dtem.domain.segments import (
    Economics,
    WonDeal,
    segment_cost,
    segment_velocity,
    shrunk,
)

POLICY = Policy(shrinkage_strength=10.0)


def _history(segment_deals: int, segment_value: float) -> Economics:
    rng = random.Random(7)
    others = [WonDeal(f"mid|ind{i % 20}", rng.uniform(15_000, 25_000), 50.0) for i in range(2000)]
    mine = [WonDeal("smb|retail", segment_value, 20.0) for _ in range(segment_deals)]
    return Economics.from_deals(others + mine, version=1)


def test_segment_with_one_deal_stays_near_the_global_figure() -> None:
    eco = _history(1, 200_000.0)
    v = segment_velocity(eco, POLICY, "smb|retail")
    global_value = segment_velocity(eco, POLICY, "unseen|segment").deal_value
    assert abs(v.deal_value - global_value) < 0.1 * (200_000.0 - global_value)


def test_segment_with_a_thousand_deals_stays_near_its_own_mean() -> None:
    eco = _history(1000, 200_000.0)
    v = segment_velocity(eco, POLICY, "smb|retail")
    assert abs(v.deal_value - 200_000.0) / 200_000.0 < 0.02
    assert abs(v.cycle_days - 20.0) < 1.0


def test_no_history_falls_back_to_the_policy_defaults() -> None:
    v = segment_velocity(Economics(), POLICY, "smb|retail")
    assert (v.deal_value, v.cycle_days) == (POLICY.default_deal_value, POLICY.default_cycle_days)
    assert v.per_day == POLICY.default_deal_value / POLICY.default_cycle_days


def test_deals_without_amount_or_dates_count_only_where_known() -> None:
    eco = Economics.from_deals([WonDeal("s", None, 30.0), WonDeal("s", 500.0, None)], version=1)
    stats = eco.segments["s"]
    assert (stats.value_deals, stats.mean_value) == (1, 500.0)
    assert (stats.cycle_deals, stats.mean_cycle_days) == (1, 30.0)


def test_shrinkage_moves_from_prior_to_mean_as_deals_accumulate() -> None:
    figures = [shrunk(n, 100.0, 0.0, 10.0) for n in (0, 1, 10, 100, 10_000)]
    assert figures == sorted(figures) and figures[0] == 0.0 and figures[-1] > 99.0


def test_cost_uses_policy_lambda_then_blended_rep_cost_then_default() -> None:
    eco = Economics(blended_hourly=80.0)
    hours = Policy(effort_hours={"smb|retail": 4.0})
    assert segment_cost(eco, hours, "smb|retail") == 320.0
    assert segment_cost(eco, Policy(lambda_hourly=100.0), "x") == 1000.0
    assert segment_cost(Economics(), Policy(), "x") == 600.0


def test_blended_cost_ignores_inactive_and_unpriced_reps() -> None:
    reps = [
        Rep("a", "A", hourly_cost=50.0),
        Rep("b", "B", hourly_cost=0.0),
        Rep("c", "C", hourly_cost=500.0, active=False),
    ]
    assert blended_hourly_cost(reps) == 50.0
    assert blended_hourly_cost([]) is None
