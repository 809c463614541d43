"""Water-filling awards and the performance index behind them."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtem.domain.bidding import (
    TrackRecord,
    parse_quarter,
    performance,
    quarter_of,
    quarter_start,
    water_fill,
)
from dtem.domain.policy import default_policy

bids_and_weights = st.integers(1, 8).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(1, 60), min_size=n, max_size=n),
        st.lists(st.floats(0.01, 100.0), min_size=n, max_size=n),
        st.integers(0, 300),
    )
)


@settings(max_examples=300)
@given(bids_and_weights)
def test_awards_never_exceed_bids_and_sum_to_what_is_available(
    case: tuple[list[int], list[float], int],
) -> None:
    bids, weights, total = case
    awards = water_fill(bids, weights, total)
    assert all(0 <= a.awarded <= b for a, b in zip(awards, bids, strict=True))
    assert sum(a.awarded for a in awards) == min(total, sum(bids))


@settings(max_examples=300)
@given(bids_and_weights)
def test_with_equal_bids_a_higher_index_never_gets_less(
    case: tuple[list[int], list[float], int],
) -> None:
    _, weights, total = case
    awards = water_fill([40] * len(weights), weights, total)
    for i, wi in enumerate(weights):
        for j, wj in enumerate(weights):
            if wi > wj:
                assert awards[i].awarded >= awards[j].awarded


@settings(max_examples=300)
@given(bids_and_weights, st.floats(1.0, 10.0))
def test_raising_ones_own_index_never_lowers_ones_award(
    case: tuple[list[int], list[float], int], factor: float
) -> None:
    bids, weights, total = case
    before = water_fill(bids, weights, total)[0].awarded
    after = water_fill(bids, [weights[0] * factor, *weights[1:]], total)[0].awarded
    assert after >= before


def test_excess_of_a_capped_rep_goes_to_the_others_by_weight() -> None:
    awards = water_fill([10, 50, 50], [1.0, 1.0, 2.0], 60)
    assert [a.awarded for a in awards] == [10, 17, 33]
    assert [a.capped for a in awards] == [True, False, False]


def test_enough_capacity_awards_every_bid_in_full() -> None:
    assert [a.awarded for a in water_fill([3, 7], [0.1, 9.0], 100)] == [3, 7]


def test_shrinkage_keeps_one_lucky_win_from_making_a_star() -> None:
    policy = default_policy()
    team = TrackRecord(wins=40, losses=160, won_amount=400_000.0, won_cycle_days=2400.0)
    lucky = performance(TrackRecord(1, 0, 10_000.0, 60.0), team, policy)
    proven = performance(TrackRecord(30, 20, 300_000.0, 1500.0), team, policy)
    assert lucky.close_rate < proven.close_rate
    assert lucky.index < proven.index


def test_bid_exponent_sharpens_the_weights() -> None:
    team = TrackRecord(10, 40, 100_000.0, 600.0)
    base = default_policy()
    sharp = type(base)(bid_exponent=2.0)
    p1 = performance(TrackRecord(5, 5, 50_000.0, 300.0), team, base)
    p2 = performance(TrackRecord(5, 5, 50_000.0, 300.0), team, sharp)
    assert p2.weight == pytest.approx(p1.index**2)


def test_quarters_parse_and_start_on_their_first_day() -> None:
    assert parse_quarter("2027Q1") == (2027, 1)
    assert quarter_start("2027Q4") == date(2027, 10, 1)
    assert quarter_of(date(2027, 3, 31)) == "2027Q1"
    for bad in ("2027Q5", "2027-Q1", "27Q1", "Q1"):
        with pytest.raises(ValueError):
            parse_quarter(bad)
