"""The ingest path's batch fold and re-scorer equal the per-event and per-account definitions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dtem.domain.policy import Policy
from dtem.domain.rescoring import StateScorer, absorb_all
from dtem.domain.score_records import AccountFacts
from dtem.domain.scoring import Decayed, absorb, decay_rate, decayed
from dtem.domain.segments import Economics, SegmentStats
from dtem.services.scoring import state_score

TYPES = ("hand_raise", "pricing_visit", "web_visit", "intent_surge", "not_in_policy")
ECO = Economics(version=3, overall=SegmentStats(40, 30_000.0, 40, 60.0),
                segments={"smb|retail": SegmentStats(12, 9_000.0, 12, 21.0)})  # fmt: skip

states = st.dictionaries(
    st.sampled_from(TYPES),
    st.builds(decayed, st.floats(0.0, 500.0), st.floats(-90 * 86_400.0, 0.0)),
)
accounts = st.lists(
    st.tuples(
        st.sampled_from([None, "retail", "SaaS ", "fintech"]),
        st.one_of(st.none(), st.integers(1, 50_000)),
        states,
    ),
    min_size=1,
    max_size=12,
)


@given(accounts, st.sampled_from([Economics(), ECO]))
def test_state_scorer_matches_state_score_for_every_account(
    batch: list[tuple[str | None, int | None, dict[str, Decayed]]], eco: Economics
) -> None:
    policy = Policy(fit_industry={"retail": -0.3, "saas": 0.6}, fit_size_band={"mid": 0.4})
    scorer = StateScorer(policy, eco, now=0.0)  # one scorer: its memos are shared
    for i, (industry, employees, acc_states) in enumerate(batch):
        ref = state_score(policy, eco, AccountFacts(i, f"A{i}", industry, employees),
                          acc_states, 0.0)  # fmt: skip
        got = scorer.score(industry, employees, acc_states)
        assert (got.velocity, got.cost) == (ref.velocity, ref.cost)
        assert abs(got.propensity - ref.propensity) <= 1e-12 * max(ref.propensity, 1e-300)
        assert abs(got.score - ref.score) <= 1e-9
        assert abs(got.equity - ref.equity) <= 1e-12 * max(ref.equity, 1e-300)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.floats(-50.0, 50.0),
            st.floats(0.0, 200 * 86_400.0),
            st.sampled_from([decay_rate(1.0), decay_rate(7.0)]),
        )
    )
)
def test_absorb_all_is_absorb_per_event_bit_for_bit(
    events: list[tuple[str, float, float, float]],
) -> None:
    folded: dict[str, Decayed] = {}
    absorb_all(folded, events)
    one_by_one: dict[str, Decayed] = {}
    for key, value, at, rate in events:
        one_by_one[key] = absorb(one_by_one.get(key), value, at, rate)
    assert folded == one_by_one
