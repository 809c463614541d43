"""The scoring math: decay, the exact incremental rule, propensity, equity, crossings."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dtem.domain.policy import Policy, SignalType
from dtem.domain.scoring import (
    Decayed,
    absorb,
    account_score,
    batch_intensity,
    crossing,
    decay_rate,
    decayed,
    epoch_seconds,
    equity_score,
    intensities_of,
    intensity_at,
    sigmoid,
    top_signals,
)
from dtem.domain.segments import Economics
from dtem.domain.store_training import SignalFact

DAY = 86_400.0
T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)

# (value, time in seconds within two years); arrival order is the list order
events_strategy = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=1e4, allow_nan=False),
        st.floats(min_value=0.0, max_value=730 * DAY, allow_nan=False),
    ),
    min_size=1,
    max_size=60,
)


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)


@settings(max_examples=300, deadline=None)
@given(
    events=events_strategy,
    half_life=st.floats(min_value=0.5, max_value=120.0),
    lag=st.floats(min_value=0.0, max_value=365 * DAY),
)
def test_incremental_state_equals_batch_sum_in_any_arrival_order(
    events: list[tuple[float, float]], half_life: float, lag: float
) -> None:
    rate = decay_rate(half_life)
    state: Decayed | None = None
    for value, ts in events:  # arbitrary order: older events arrive late
        state = absorb(state, value, ts, rate)
    now = max(ts for _, ts in events) + lag
    assert close(intensity_at(state, now, rate), batch_intensity(events, now, rate))


@settings(max_examples=100, deadline=None)
@given(events=events_strategy, data=st.data())
def test_every_permutation_of_arrivals_gives_the_same_state(
    events: list[tuple[float, float]], data: st.DataObject
) -> None:
    rate = decay_rate(7.0)
    shuffled = data.draw(st.permutations(events))
    a = b = None
    for value, ts in events:
        a = absorb(a, value, ts, rate)
    for value, ts in shuffled:
        b = absorb(b, value, ts, rate)
    assert a is not None and b is not None
    assert a[1] == b[1] and close(a[0], b[0])


def test_late_signal_is_added_decayed_to_the_state_time_without_moving_it() -> None:
    rate = decay_rate(7.0)
    state = absorb(None, 2.0, 14 * DAY, rate)
    late = absorb(state, 4.0, 0.0, rate)  # two half-lives older than the state
    assert late == decayed(2.0 + 1.0, 14 * DAY)


def test_half_life_halves_the_intensity() -> None:
    rate = decay_rate(14.0)
    assert close(intensity_at(decayed(8.0, 0.0), 28 * DAY, rate), 2.0)


def test_sigmoid_is_stable_and_symmetric() -> None:
    assert sigmoid(1000.0) == 1.0 and sigmoid(-1000.0) == 0.0
    for x in (-5.0, -0.3, 0.0, 2.5):
        assert close(sigmoid(x) + sigmoid(-x), 1.0)


def test_logit_terms_add_up_to_the_propensity() -> None:
    policy = Policy(fit_industry={"retail": 0.7}, fit_size_band={"smb": -0.2})
    s = account_score(policy, Economics(), "Retail", 20, {"hand_raise": 1.0, "web_visit": 3.0})
    hand = policy.signal_types["hand_raise"].weight
    expected = -4.0 + 0.7 - 0.2 + hand * math.log1p(1.0) + 0.4 * math.log1p(3.0)
    assert close(math.fsum(s.logit_terms.values()), expected)
    assert close(s.propensity, sigmoid(expected))
    assert close(s.equity, s.propensity * s.velocity / s.cost)
    assert close(s.score, 100 * s.equity / (s.equity + policy.e_half))


def test_score_is_half_at_e_half_and_rises_with_equity() -> None:
    policy = Policy(e_half=0.2)
    low = equity_score(policy, {"b0": -1.0}, velocity=10.0, cost=10.0)
    high = equity_score(policy, {"b0": 1.0}, velocity=10.0, cost=10.0)
    assert 0 < low.score < high.score < 100
    mid = equity_score(policy, {"b0": 0.0}, velocity=0.4, cost=1.0)
    assert close(mid.score, 50.0)


def test_other_and_unknown_signal_types_weigh_nothing() -> None:
    base = account_score(Policy(), Economics(), None, None, {})
    noisy = account_score(Policy(), Economics(), None, None, {"other": 1e6, "mystery": 1e6})
    assert noisy.score == base.score


def test_crossings_need_the_threshold_to_be_passed() -> None:
    assert crossing(59.9, 60.0, 60.0) == "crossed_up"
    assert crossing(60.0, 59.9, 60.0) == "crossed_down"
    assert crossing(70.0, 80.0, 60.0) is None
    assert crossing(None, 61.0, 60.0) == "crossed_up"


def test_top_signals_split_each_type_term_by_decayed_weight() -> None:
    policy = Policy(signal_types={"hand_raise": SignalType(3.0, 7), "other": SignalType(0.0, 14)})
    sigs = [
        SignalFact(1, "hand_raise", T0 - timedelta(days=7), 2.0),
        SignalFact(1, "hand_raise", T0, 1.0),
        SignalFact(1, "other", T0, 5.0),
    ]
    top = top_signals(policy, sigs, epoch_seconds(T0), n=5)
    assert [round(c.decayed, 12) for c in top[:2]] == [1.0, 1.0]
    term = 3.0 * math.log1p(2.0)
    assert close(top[0].logit + top[1].logit, term)
    assert top[-1].type == "other" and top[-1].logit == 0.0


def test_worked_example_of_the_docs_scores_27_then_71_with_the_demo_request() -> None:
    policy = Policy()
    sigs = [
        SignalFact(1, "pricing_visit", T0 - timedelta(days=14), 2.0),
        SignalFact(1, "pricing_visit", T0, 1.0),
        SignalFact(1, "web_visit", T0 - timedelta(days=28), 4.0),
    ]
    now = epoch_seconds(T0)
    before = account_score(policy, Economics(), "Retail", 40, intensities_of(policy, sigs, now))
    sigs.append(SignalFact(1, "hand_raise", T0 - timedelta(days=7), 1.0))
    after = account_score(policy, Economics(), "Retail", 40, intensities_of(policy, sigs, now))
    assert round(before.score, 1) == 27.3
    assert round(after.propensity, 3) == 0.452 and round(after.score, 1) == 71.5
    assert crossing(before.score, after.score, policy.threshold) == "crossed_up"
