"""Routing over roster arrays decides exactly as the rule-by-rule `route_account` does."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from dtem.domain.model import Account, Rep
from dtem.domain.policy import default_policy
from dtem.domain.roster import from_facts, route_roster
from dtem.domain.routing import RepFacts, RoutingRequest, ScoreFacts, route_account

POLICY = default_policy()
SEGMENTS = st.sampled_from([(), ("smb|*",), ("mid|retail",), ("smb|retail", "enterprise|*")])
LANGUAGES = st.sampled_from([(), ("en",), ("German",), ("fr", "Spanish")])


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
def markets(draw: st.DrawFn) -> tuple[RoutingRequest, list[RepFacts], dict[int, int]]:
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


@settings(max_examples=300, deadline=None)
@given(markets())
def test_roster_routing_matches_rule_by_rule_routing(
    market: tuple[RoutingRequest, list[RepFacts], dict[int, int]],
) -> None:
    request, facts, awards = market
    awarded = [
        replace(f, rep=replace(f.rep, capacity=awards[f.rep.id])) if f.rep.id in awards else f
        for f in facts
    ]
    expected = route_account(request, awarded, POLICY)
    roster, load = from_facts(facts, awards)
    assert route_roster(request, roster, load, POLICY) == expected


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
