"""The pure KPI functions on small facts whose answers are worked out by hand here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dtem.domain.kpis import (
    Deal,
    LeaseSpan,
    Touch,
    cac,
    coverage,
    cycle_length,
    dead_zones,
    decay_bucket,
    lead_decay,
    leased_within,
    new_customers,
    open_pipeline,
    phantom_equity,
    pipeline_bloat,
    rep_velocity,
    utilisation,
    win_rate,
)

T0 = datetime(2026, 6, 1, tzinfo=UTC)
D0 = T0.date()


def test_phantom_equity_counts_owned_accounts_without_a_human_touch_in_90_days() -> None:
    touches = [
        Touch(1, T0 - timedelta(days=89), human=True),  # inside the 90 days
        Touch(2, T0 - timedelta(days=91), human=True),  # too old
        Touch(3, T0 - timedelta(days=1), human=False),  # an agent is no human touch
        Touch(9, T0 - timedelta(days=1), human=True),  # not owned
    ]
    ratio = phantom_equity({1, 2, 3, 4}, touches, T0)
    assert (ratio.numerator, ratio.denominator, ratio.value) == (3, 4, 0.75)
    assert phantom_equity(set(), touches, T0).value is None


def test_dead_zones_are_crossings_nobody_touched_within_n_days() -> None:
    crossings = {1: T0, 2: T0, 3: T0}
    touches = [
        Touch(1, T0 + timedelta(days=1), human=True),  # worked in time
        Touch(2, T0 + timedelta(days=3), human=True),  # too late for N = 2
        Touch(3, T0 + timedelta(hours=1), human=False),  # only an agent
    ]
    ratio = dead_zones(crossings, touches, 2)
    assert (ratio.numerator, ratio.denominator) == (2, 3)


def test_lead_decay_buckets_hand_raises_by_first_human_touch() -> None:
    assert decay_bucket(T0, [T0 + timedelta(minutes=4)]) == "< 5 min"
    assert decay_bucket(T0, [T0 + timedelta(minutes=5)]) == "< 1 h"
    assert decay_bucket(T0, [T0 - timedelta(days=1), T0 + timedelta(hours=2)]) == "< 24 h"
    assert decay_bucket(T0, [T0 + timedelta(days=2)]) == "later"
    assert decay_bucket(T0, [T0 - timedelta(minutes=1)]) == "never"
    raises = [(1, T0), (2, T0), (3, T0)]
    touches = [Touch(1, T0 + timedelta(minutes=2), True), Touch(2, T0 + timedelta(minutes=3), True)]
    won = {1: [D0 + timedelta(days=30)], 2: [D0 + timedelta(days=200)], 3: [D0]}
    rows = {b.bucket: (b.hand_raises, b.won) for b in lead_decay(raises, touches, won, 90)}
    # 1 and 2 were answered within 5 minutes; only 1 won within 90 days; 3 won, never touched
    assert rows == {"< 5 min": (2, 1), "< 1 h": (0, 0), "< 24 h": (0, 0), "later": (0, 0),
                    "never": (1, 1)}  # fmt: skip


def test_coverage_counts_any_touch_on_contactable_accounts_in_the_window() -> None:
    touches = [
        Touch(1, T0, human=False),
        Touch(2, T0 + timedelta(days=10), human=True),  # at the window's end: outside
        Touch(5, T0, human=True),  # not contactable
    ]
    ratio = coverage({1, 2, 3, 4}, touches, T0, T0 + timedelta(days=10))
    assert (ratio.numerator, ratio.denominator) == (1, 4)


def test_deal_kpis_on_three_closed_deals() -> None:
    deals = [
        Deal(1, "won", 1000.0, D0, D0 + timedelta(days=10), "R1"),
        Deal(2, "won", 3000.0, D0, D0 + timedelta(days=30), "R2"),
        Deal(3, "lost", 500.0, D0, D0 + timedelta(days=5), "R1"),
        Deal(4, "won", 9000.0, D0, D0 + timedelta(days=400), "R1"),  # outside the window
        Deal(5, "open", 2000.0, D0, None, "R2"),
    ]
    start, end = D0, D0 + timedelta(days=60)
    assert win_rate(deals, start, end).value == 2 / 3
    assert cycle_length(deals, start, end) == 20.0  # median of 10 and 30
    team, reps = rep_velocity(deals, start, end, strength=2.0)
    assert team == 4000.0 / 40  # won amount over cycle days
    # R1: (1000 + 2 × 2000) / (10 + 2 × 20); R2: (3000 + 4000) / (30 + 40)
    assert reps == {"R1": 5000.0 / 50, "R2": 7000.0 / 70}
    assert new_customers(deals, start, end) == {1, 2}
    # open at day 20: deals 2 (closes day 30), 4 (day 400) and 5 (still open)
    assert open_pipeline(deals, D0 + timedelta(days=20)) == 3000.0 + 9000.0 + 2000.0


def test_an_account_with_an_earlier_win_is_no_new_customer() -> None:
    deals = [Deal(1, "won", 1.0, D0, D0), Deal(1, "won", 1.0, D0, D0 + timedelta(days=40))]
    assert new_customers(deals, D0 + timedelta(days=30), D0 + timedelta(days=60)) == set()


def test_cac_bloat_and_utilisation() -> None:
    c = cac(human_hours=20, hourly_cost=50.0, agent_touches=100, cost_per_touch=2.0, won=4)
    assert (c.human_cost, c.agent_cost, c.value) == (1000.0, 200.0, 300.0)
    assert cac(1, 1.0, 0, 1.0, 0).value is None
    assert pipeline_bloat(50_000.0, capacity=10, mean_deal=2_500.0) == 2.0
    assert pipeline_bloat(1.0, capacity=0, mean_deal=1.0) is None
    assert utilisation(15, 20).value == 0.75


def test_lease_spans_cover_the_instants_they_were_active() -> None:
    spans = [LeaseSpan(1, "R1", T0, T0 + timedelta(days=30))]
    assert leased_within(spans, 1, T0 + timedelta(days=29), T0 + timedelta(days=40))
    assert not leased_within(spans, 1, T0 + timedelta(days=30), T0 + timedelta(days=40))
    assert not leased_within(spans, 2, T0, T0)
    assert leased_within(
        [LeaseSpan(2, "R1", T0)], 2, T0 + timedelta(days=999), T0 + timedelta(days=999)
    )
