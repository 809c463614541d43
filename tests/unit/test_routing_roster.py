"""Routing over roster arrays: each rep's verdict is the pair-wise eligibility rule's, and
the candidates are the eligible reps ranked by EV, then free capacity, then id."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dtem.domain.capacity import rep_capacity
from dtem.domain.eligibility import account_refusal, rep_exclusion
from dtem.domain.expected_value import expected_value
from dtem.domain.model import Account, Rep
from dtem.domain.policy import default_policy
from dtem.domain.roster import from_facts, route_roster
from dtem.domain.routing import TOP_N, RepFacts, RoutingRequest, ScoreFacts
from dtem.domain.win_rate import win_rate_multiplier

POLICY = default_policy()
SEGMENTS = st.sampled_from([(), ("smb|*",), ("mid|retail",), ("smb|retail", "enterprise|*")])
LANGUAGES = st.sampled_from([(), ("en",), ("German",), ("fr", "Spanish")])
Market = tuple[RoutingRequest, list[RepFacts], dict[int, int]]


@st.composite
def rep_facts(draw: st.DrawFn, rep_id: int) -> RepFacts:
    rep = Rep(
        f"R{rep_id}",
        f"Rep {rep_id}",
        segments=draw(SEGMENTS),
        languages=draw(LANGUAGES),
        capacity=draw(st.integers(0, 4)),
        active=draw(st.booleans()),
        id=rep_id,
    )
    return RepFacts(
        rep,
        draw(st.integers(0, 5)),
        on_leave=draw(st.booleans()),
        cooling=draw(st.booleans()),
        wins=draw(st.integers(0, 3)),
        losses=draw(st.integers(0, 3)),
    )


@st.composite
def markets(draw: st.DrawFn) -> Market:
    ids = draw(st.lists(st.integers(1, 60), unique=True, max_size=12))
    facts = [draw(rep_facts(i)) for i in ids]
    awards = draw(st.dictionaries(st.sampled_from(ids or [0]), st.integers(0, 6), max_size=3))
    account = Account(
        "A1",
        "Acme",
        employees=draw(st.sampled_from([None, 40, 400, 4000])),
        industry=draw(st.sampled_from([None, "Retail", "software"])),
        country=draw(st.sampled_from([None, "DE", "US", "fr", "Narnia"])),
        id=1,
    )
    score = draw(st.none() | st.builds(ScoreFacts, st.just(80.0), st.floats(0.01, 1), st.just(1e4)))
    request = RoutingRequest(
        account,
        draw(st.sampled_from(["crossed_up", "hand_raise", "revocation"])),
        score,
        min_velocity=draw(st.none() | st.floats(0.5, 1.5)),
    )
    return request, facts, awards


def _pairwise_reason(req: RoutingRequest, f: RepFacts, awards: dict[int, int]) -> str | None:
    capacity = rep_capacity(f.rep, awards.get(f.rep.id or 0), POLICY)
    why = rep_exclusion(f.rep, req.account, f.active_leases, capacity, f.on_leave, f.cooling)
    q = win_rate_multiplier(f.wins, f.losses, POLICY)
    if why is None and req.min_velocity is not None and q <= req.min_velocity:
        return "not_faster_than_revoked_rep"
    return why


@settings(max_examples=300, deadline=None)
@given(markets())
def test_roster_routing_applies_the_pairwise_rules_and_ranks_by_ev(market: Market) -> None:
    request, facts, awards = market
    roster, load = from_facts(facts, awards)
    decision = route_roster(request, roster, load, POLICY)
    score = request.score.score if request.score else None
    hand_raise = request.trigger == "hand_raise"
    if account_refusal(request.account, score, POLICY, hand_raise) is not None:
        assert decision.outcome in ("pool", "skipped") and not decision.exclusions
        return
    reasons = {f.rep.external_id: _pairwise_reason(request, f, awards) for f in facts}
    assert decision.exclusions == {k: v for k, v in reasons.items() if v is not None}
    ranked = []
    for f in facts:
        if reasons[f.rep.external_id] is None:
            p, value = (request.score.propensity, request.score.value) if request.score else (0, 0)
            ev = expected_value(p, value, win_rate_multiplier(f.wins, f.losses, POLICY))
            free = rep_capacity(f.rep, awards.get(f.rep.id or 0), POLICY) - f.active_leases
            ranked.append((-ev, -free, f.rep.id, f.rep.external_id))
    expected = [x[3] for x in sorted(ranked)[:TOP_N]]
    assert [c.rep_external_id for c in decision.candidates] == expected
    assert decision.outcome == ("leased" if expected else "overflow")


def test_an_award_replaces_capacity_even_when_it_is_zero() -> None:
    facts = [RepFacts(Rep(f"R{i}", "", capacity=0, id=i), 3) for i in (1, 2, 3)]
    request = RoutingRequest(Account("A", "A", id=1), "manual", ScoreFacts(90.0, 0.5, 1e4))
    roster, load = from_facts(facts, {1: 0, 2: 3})  # R3: no award, the policy default (25)
    d = route_roster(request, roster, load, POLICY)
    assert d.exclusions == {"R1": "no_capacity", "R2": "no_capacity"}
    assert d.chosen is not None and d.chosen.rep_external_id == "R3"


def test_a_recount_under_the_lock_moves_the_lease_to_the_next_rep() -> None:
    facts = [RepFacts(Rep(f"R{i}", "", capacity=2, id=i), 0) for i in (1, 2)]
    request = RoutingRequest(Account("A", "A", id=1), "manual", ScoreFacts(90.0, 0.5, 1e4))
    roster, load = from_facts(facts)
    first = route_roster(request, roster, load, POLICY)
    assert first.chosen is not None and first.chosen.rep_external_id == "R1"
    full = load.with_load(roster.index_of(1), 2)
    again = route_roster(request, roster, full, POLICY)
    assert again.chosen is not None and again.chosen.rep_external_id == "R2"
    assert again.exclusions == {"R1": "no_capacity"} and load.active_leases[0] == 0
