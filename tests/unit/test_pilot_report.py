"""The pilot comparison: point values by hand, intervals that bracket them, reproducible."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from dtem.domain.kpis import Deal
from dtem.domain.pilots import compare, median_cycle, velocity, win_share

D0 = date(2027, 1, 1)


def _deal(outcome: str, amount: float, days: int | None, rep: str = "R") -> Deal:
    closed = D0 + timedelta(days=days) if days is not None else None
    return Deal(1, outcome, amount, D0, closed, rep)


POD = [_deal("won", 1000.0, 10), _deal("won", 3000.0, 30), _deal("lost", 500.0, 5)]
FLOOR = [_deal("won", 2000.0, 40), _deal("lost", 100.0, 10), _deal("lost", 100.0, 20),
         _deal("lost", 100.0, 30)]  # fmt: skip


def test_point_values_are_the_hand_computed_ones() -> None:
    win = compare("win rate", POD, FLOOR, win_share)
    assert (win.pod, win.floor, win.difference) == (2 / 3, 1 / 4, 2 / 3 - 1 / 4)
    vel = compare("velocity", POD, FLOOR, velocity)
    assert (vel.pod, vel.floor) == (4000.0 / 40, 2000.0 / 40)  # won amount ÷ won cycle days
    cyc = compare("cycle days", POD, FLOOR, median_cycle)
    assert (cyc.pod, cyc.floor, cyc.pod_deals, cyc.floor_deals) == (20.0, 40.0, 3, 4)
    odd = [*POD, _deal("won", 1.0, 50), _deal("won", 1.0, None)]  # no dates: not counted
    assert compare("c", odd, FLOOR, median_cycle).pod == 30.0  # median of 10, 30, 50


def test_the_interval_brackets_the_difference_and_is_reproducible() -> None:
    rng = np.random.default_rng(1)
    pod = [_deal("won" if rng.random() < 0.6 else "lost", 1000.0, 20) for _ in range(300)]
    floor = [_deal("won" if rng.random() < 0.3 else "lost", 1000.0, 20) for _ in range(300)]
    first, again = compare("w", pod, floor, win_share), compare("w", pod, floor, win_share)
    assert first == again
    assert first.low is not None and first.high is not None and first.difference is not None
    assert 0 < first.low < first.difference < first.high  # 0.6 vs 0.3 on 300 deals: clear
    same = compare("w", pod, pod, win_share)
    assert same.low is not None and same.high is not None and same.low < 0 < same.high


def test_no_won_deal_on_a_side_gives_no_value_and_no_interval() -> None:
    lost = [_deal("lost", 1.0, 3)]
    got = compare("velocity", POD, lost, velocity)
    assert (got.floor, got.difference, got.low, got.high) == (None, None, None, None)
    assert compare("win rate", [], FLOOR, win_share).pod is None
