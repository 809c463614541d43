"""The comp curve, plan validation, caps and the plan schedule (pure domain, hand-computed)."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import T0

from dtem.domain.comp import (
    CompPlan,
    CompPlanInvalid,
    money,
    next_quarter_start,
    quarter_start,
    score_at_grant,
)
from dtem.domain.comp_schedule import (
    StoredPlan,
    first_open,
    parse_period,
    period_range,
    plan_in_force,
    schedule_problems,
)
from dtem.domain.errors import InputInvalid, PolicyInvalid

D = Decimal
PLAN = CompPlan(date(2027, 1, 1))  # the default points (0, 20%), (60, 12%), (100, 5%)


@pytest.mark.parametrize(
    ("score", "rate"),
    [
        ("0", "0.200000"),  # the curve's points
        ("60", "0.120000"),  # the threshold
        ("100", "0.050000"),
        ("30", "0.160000"),  # 0.20 + 30/60 × (0.12 − 0.20)
        ("45", "0.140000"),  # 0.20 − 45/60 × 0.08
        ("70", "0.102500"),  # 0.12 − 10/40 × 0.07
        ("80", "0.085000"),
        ("10", "0.186667"),  # 0.1866666… half-up to 6 places
        ("59.99", "0.120013"),  # 0.20 − 59.99/60 × 0.08 = 0.1200133…
        ("60.01", "0.119983"),  # 0.12 − 0.01/40 × 0.07 = 0.1199825 → half-up
        ("-5", "0.200000"),  # flat beyond the ends
        ("120", "0.050000"),
    ],
)
def test_rate_is_exact_at_points_between_them_and_at_the_threshold(score: str, rate: str) -> None:
    got = PLAN.rate_at(D(score))
    assert got == D(rate) and str(got) == rate


@pytest.mark.parametrize(
    ("amount", "score", "commission"),
    [
        ("10000.00", "60", "1200.00"),  # at the threshold: 12 %
        ("10000.00", "0", "2000.00"),
        ("10000.00", "100", "500.00"),
        ("10000.00", "80", "850.00"),
        ("12345.67", "70", "1265.43"),  # 0.1025 × 12345.67 = 1265.431175
        ("0.05", "70", "0.01"),  # 0.005125 → half-up to a cent
        ("0.02", "0", "0.00"),  # 0.004 → 0.00
        ("33.30", "10", "6.22"),  # 0.186667 × 33.30 = 6.2160111
    ],
)
def test_deal_commission_is_rate_times_amount_half_up(
    amount: str, score: str, commission: str
) -> None:
    got = PLAN.deal_commission(D(amount), PLAN.rate_at(D(score)))
    assert str(got) == commission


def test_deal_cap_limits_one_deal() -> None:
    capped = CompPlan(date(2027, 1, 1), deal_cap=D("1000.00"))
    assert capped.deal_commission(D("10000.00"), D("0.2")) == D("1000.00")
    assert capped.deal_commission(D("4000.00"), D("0.2")) == D("800.00")


def test_money_and_score_round_half_up() -> None:
    assert str(money(D("2.675"))) == "2.68"  # a float would give 2.67
    assert str(money(2.675)) == "2.68"
    assert str(money("-1.005")) == "-1.01"
    assert str(score_at_grant(71.234999)) == "71.23"
    assert str(score_at_grant(71.235)) == "71.24"


points = st.lists(
    st.tuples(
        st.integers(0, 100), st.decimals(0, 1, places=4, allow_nan=False, allow_infinity=False)
    ),
    min_size=2,
    max_size=6,
    unique_by=lambda p: p[0],
).map(sorted)


@given(points, st.decimals(0, 100, places=2), st.decimals(0, 100, places=2))
def test_rate_is_monotone_between_points_and_within_its_neighbours(
    pts: list[tuple[int, Decimal]], a: Decimal, b: Decimal
) -> None:
    plan = CompPlan.from_dict(
        {"effective_from": "2027-01-01", "curve": [[s, str(r)] for s, r in pts]}
    )
    lo_s, hi_s = sorted((a, b))
    for left, right in itertools.pairwise(pts):
        if not left[0] <= lo_s <= hi_s <= right[0]:
            continue
        r_lo, r_hi = plan.rate_at(lo_s), plan.rate_at(hi_s)
        low, high = min(left[1], right[1]), max(left[1], right[1])
        assert low <= r_lo <= high and low <= r_hi <= high
        if right[1] >= left[1]:
            assert r_lo <= r_hi
        else:
            assert r_lo >= r_hi


def test_a_bad_plan_is_refused_with_every_reason() -> None:
    doc = {
        "effective_from": "2027-02-01",
        "curve": [[0, "0.2"], [60, "1.5"], [50, "-0.1"]],
        "deal_cap": "-3",
        "bonus": 1,
    }
    with pytest.raises(CompPlanInvalid) as err:
        CompPlan.from_dict(doc)
    problems = err.value.problems
    assert "unknown field 'bonus'" in problems
    assert "curve point 2: rate 1.5 is outside [0, 1]" in problems
    assert "curve point 3: rate -0.1 is outside [0, 1]" in problems
    assert "curve scores must be strictly increasing: 0, 60, 50" in problems
    assert "deal_cap '-3' is not a non-negative amount" in problems
    assert any("not the first day of a fiscal quarter" in p for p in problems)
    assert isinstance(err.value, PolicyInvalid)  # exit 6 / HTTP 422 at the edges


def test_plan_document_round_trips_exactly() -> None:
    plan = CompPlan.from_dict(
        {
            "effective_from": "2027-05-01",
            "fiscal_year_start_month": 2,
            "curve": [[0, "0.25"], [60, 0.1], [100, "0.04"]],
            "period_cap": 10000,
        }
    )
    assert plan.period_cap == D("10000.00")
    assert CompPlan.from_dict(plan.to_dict()) == plan


def test_fiscal_quarters_follow_the_fiscal_year_start() -> None:
    assert quarter_start(date(2027, 3, 15), 2) == date(2027, 2, 1)
    assert quarter_start(date(2027, 1, 15), 2) == date(2026, 11, 1)
    assert next_quarter_start(date(2027, 1, 15), 2) == date(2027, 2, 1)
    assert next_quarter_start(date(2027, 12, 31), 1) == date(2028, 1, 1)


def _stored(version: int, start: str, end: str | None = None) -> StoredPlan:
    doc = {"effective_from": start, "effective_to": end}
    return StoredPlan(version, CompPlan.from_dict(doc), T0, "t")


def test_a_scheduled_plan_waits_while_the_current_one_stays_in_force() -> None:
    plans = [
        _stored(1, "2000-01-01"),
        _stored(2, "2027-04-01"),
        _stored(3, "2027-07-01", "2027-09-30"),
    ]
    assert plan_in_force(plans, date(2027, 3, 31)) == plans[0]
    assert plan_in_force(plans, date(2027, 4, 1)) == plans[1]
    assert plan_in_force(plans, date(2027, 8, 15)) == plans[2]
    assert plan_in_force(plans, date(2027, 10, 1)) == plans[1]  # the bounded plan ended
    assert plan_in_force(plans, date(1999, 1, 1)) is None


def test_overlaps_and_locked_periods_are_every_reason() -> None:
    plans = [_stored(1, "2000-01-01"), _stored(2, "2027-07-01", "2027-09-30")]
    new = CompPlan.from_dict({"effective_from": "2027-01-01", "effective_to": "2027-07-31"})
    inside = CompPlan.from_dict({"effective_from": "2027-08-01", "fiscal_year_start_month": 2})
    assert schedule_problems(inside, plans, set()) == [
        "overlaps plan version 2 (2027-07-01 to 2027-09-30)"
    ]
    problems = schedule_problems(new, plans, {"2026-12", "2027-01"})
    assert problems == [
        "overlaps plan version 2 (2027-07-01 to 2027-09-30)",
        "starts 2027-01-01 in period 2027-01, in or before the locked period 2027-01: "
        "a locked period's commission never changes",
    ]
    later = CompPlan.from_dict({"effective_from": "2027-04-01"})
    assert schedule_problems(later, plans[:1], {"2027-01"}) == []  # supersedes plan 1
    same_day = CompPlan.from_dict({"effective_from": "2000-01-01"})
    assert schedule_problems(same_day, plans, set()) == [
        "overlaps plan version 1 (2000-01-01 to open-ended)"
    ]


def test_periods() -> None:
    assert first_open("2027-01", {"2027-01", "2027-02"}) == "2027-03"
    assert period_range("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert parse_period(" 2027-01 ") == "2027-01"
    with pytest.raises(InputInvalid):
        parse_period("2027-13")
