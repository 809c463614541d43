"""Invariants of the training helpers: time splits, features, calibration, E_half."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtem.domain.policy import Policy
from dtem.domain.scoring import decay_rate, epoch_seconds, intensities_of
from dtem.domain.store_training import SignalFact
from dtem.domain.training import (
    calibration_table,
    platt_rescale,
    propose_e_half,
    split_plan,
)
from dtem.services.training.dataset import (
    History,
    Rows,
    build_rows,
    day_end,
    leak_warnings,
    without_terms,
)

TYPES = ("hand_raise", "web_visit", "form_fill")
HALF_LIVES = {t: Policy().signal_types[t].half_life_days for t in TYPES}
BASE = date(2025, 1, 1)

signal_st = st.tuples(
    st.integers(0, 4),  # account position
    st.integers(0, 2),  # type index
    st.floats(0, 200),  # day offset from BASE
    st.floats(0.1, 5.0),  # value
)


def _history(signals: list[tuple[int, int, float, float]], wins: list[tuple[int, int]]) -> History:
    t0 = epoch_seconds(datetime.combine(BASE, datetime.min.time(), UTC))
    return History(
        account_ids=np.arange(1, 6, dtype=np.int64),
        industries=("software",) * 5,
        size_bands=("smb",) * 5,
        employees=(50,) * 5,
        types=TYPES,
        sig_account=np.array([s[0] for s in signals], dtype=np.int64),
        sig_type=np.array([s[1] for s in signals], dtype=np.int64),
        sig_seconds=np.array([t0 + s[2] * 86_400 for s in signals], dtype=np.float64),
        sig_value=np.array([s[3] for s in signals], dtype=np.float64),
        win_account=np.array([w[0] for w in wins], dtype=np.int64),
        win_seconds=np.array(
            [epoch_seconds(day_end(BASE + timedelta(days=w[1]))) for w in wins], dtype=np.float64
        ),
    )


@given(
    snapshot=st.dates(date(2018, 1, 1), date(2030, 1, 1)),
    horizon=st.integers(1, 365),
    origins=st.integers(1, 6),
    every=st.integers(1, 60),
)
def test_no_training_label_window_reaches_into_the_holdout(snapshot, horizon, origins, every):
    plan = split_plan(snapshot, horizon, train_snapshots=origins, every_days=every)
    for s in plan.train_snapshots:
        assert plan.label_window(s)[1] <= plan.holdout_snapshot
        assert s <= snapshot
    assert plan.label_window(plan.holdout_snapshot)[0] == plan.holdout_snapshot


def test_a_holdout_inside_the_training_labels_is_refused():
    with pytest.raises(ValueError, match="holdout"):
        split_plan(date(2018, 2, 1), 90, holdout_snapshot=date(2018, 3, 1))


@settings(max_examples=60, deadline=None)
@given(signals=st.lists(signal_st, max_size=30), snap=st.integers(0, 200))
def test_features_match_the_scoring_code_and_ignore_later_signals(signals, snap):
    snapshot = BASE + timedelta(days=snap)
    rows = build_rows(_history(signals, []), snapshot, 90, HALF_LIVES, TYPES, population="all")
    now = epoch_seconds(day_end(snapshot))
    t0 = datetime.combine(BASE, datetime.min.time(), UTC)
    for r, account in enumerate(rows.account_ids):
        facts = [
            SignalFact(int(account), TYPES[t], t0 + timedelta(days=d), v)
            for a, t, d, v in signals
            if a + 1 == account and t0 + timedelta(days=d) <= day_end(snapshot)
        ]
        expected = intensities_of(Policy(), facts, now)
        got = np.expm1(rows.log_intensity[r])
        for k, t in enumerate(TYPES):
            assert got[k] == pytest.approx(expected.get(t, 0.0), rel=1e-9, abs=1e-12)


@given(wins=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 300)), max_size=8))
def test_first_win_labels_come_only_from_the_horizon_and_customers_are_left_out(wins):
    snapshot = BASE + timedelta(days=100)
    h = _history([], wins)
    rows = build_rows(h, snapshot, 90, HALF_LIVES, TYPES, population="all", label_name="first-win")
    for account, label in zip(rows.account_ids, rows.labels, strict=True):
        days = [d for a, d in wins if a + 1 == account]
        assert all(d > 100 for d in days)  # a win on or before S: not a prospect, no row
        assert label == int(any(100 < d <= 190 for d in days))


@given(wins=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 300)), max_size=8))
def test_won_labels_count_any_win_in_the_horizon_and_keep_repeat_buyers(wins):
    snapshot = BASE + timedelta(days=100)
    rows = build_rows(_history([], wins), snapshot, 90, HALF_LIVES, TYPES, population="all")
    assert list(rows.account_ids) == [1, 2, 3, 4, 5]  # customers at S stay rows
    for account, label in zip(rows.account_ids, rows.labels, strict=True):
        days = [d for a, d in wins if a + 1 == account]
        assert label == int(any(100 < d <= 190 for d in days))
    assert rows.census is not None
    assert rows.census.customers == len({a for a, d in wins if d <= 100})
    assert rows.census.events == sum(100 < d <= 190 for _, d in wins)


@given(
    p=st.lists(st.floats(0, 1), min_size=10, max_size=300),
    seed=st.integers(0, 1000),
)
def test_calibration_table_has_ten_bins_covering_every_row(p, seed):
    probs = np.array(p)
    y = np.random.default_rng(seed).integers(0, 2, len(p))
    table = calibration_table(probs, y)
    counts = [b.count for b in table]
    assert len(table) == 10 and sum(counts) == len(p) and max(counts) - min(counts) <= 1
    means = [b.mean_predicted for b in table]
    assert means == sorted(means)
    assert sum(b.positives for b in table) == int(y.sum())


@given(
    equity=st.lists(st.floats(1e-6, 1e3), min_size=1, max_size=200, unique=True),
    capacity=st.integers(1, 250),
    threshold=st.floats(5, 95),
)
def test_proposed_e_half_puts_exactly_capacity_accounts_at_or_above_the_threshold(
    equity, capacity, threshold
):
    e = np.array(equity)
    e_half = propose_e_half(e, capacity, threshold)
    if capacity > len(e):
        assert e_half is None
        return
    assert e_half is not None
    scores = 100 * e / (e + e_half)
    assert int((scores >= threshold - 1e-9).sum()) == capacity


def test_platt_rescaling_keeps_the_logit_linear():
    x = np.array([0.3, 1.2])
    weights, b0 = platt_rescale({"a": 0.5, "b": -1.0}, -2.0, 1.7, 0.4)
    z = -2.0 + 0.5 * x[0] - 1.0 * x[1]
    assert b0 + weights["a"] * x[0] + weights["b"] * x[1] == pytest.approx(1.7 * z + 0.4)


def test_decay_rate_of_the_scoring_code_halves_at_the_half_life():
    from dtem.domain.training import decayed_intensities

    got = decayed_intensities(
        np.array([0]), np.array([0]), np.array([7 * 86_400.0]), np.array([1.0]),
        np.array([decay_rate(7.0)]), 1,
    )  # fmt: skip
    assert got[0, 0] == pytest.approx(0.5)


def _rows(industries: list[str], labels: list[int]) -> Rows:
    n = len(labels)
    return Rows(date(2025, 1, 1), np.arange(n, dtype=np.int64), np.zeros((n, 1)),
                tuple(industries), ("smb",) * n, np.array(labels, dtype=np.int64))  # fmt: skip


def test_a_field_known_mostly_for_winners_is_flagged_as_a_leak():
    leaky = _rows(["pet"] * 6 + ["toys"] * 4 + ["unknown"] * 90, [1] * 6 + [0] * 4 + [0] * 90)
    assert any("industry" in w and "leak" in w for w in leak_warnings(leaky))
    honest = _rows(["pet", "toys"] * 50, [1, 0, 0, 0] * 25)
    assert leak_warnings(honest) == []
    assert leak_warnings(without_terms(leaky, ["size_band"])) == []
