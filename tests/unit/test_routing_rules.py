"""Routing rules (pure): eligibility with reasons, EV with a shrunk win rate, tie-breaks."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dtem.domain.eligibility import account_language
from dtem.domain.model import Account, Rep, Tier
from dtem.domain.policy import default_policy
from dtem.domain.roster import from_facts, route_roster
from dtem.domain.routing import RepFacts, RoutingDecision, RoutingRequest, ScoreFacts
from dtem.domain.win_rate import win_rate_multiplier

POLICY = default_policy()
ACME = Account("A1", "Acme", employees=50, industry="Retail", country="DE", id=1)
HOT = ScoreFacts(75.0, 0.4, 20_000.0)


def _rep(i: int, **kw: Any) -> Rep:
    return Rep(f"R{i}", f"Rep {i}", id=i, **kw)


def _route(
    facts: list[RepFacts],
    trigger: str = "crossed_up",
    account: Account = ACME,
    score: ScoreFacts | None = HOT,
    **kw: Any,
) -> RoutingDecision:
    roster, load = from_facts(facts)
    return route_roster(RoutingRequest(account, trigger, score, **kw), roster, load, POLICY)


def _chosen(d: RoutingDecision) -> str:
    assert d.chosen is not None
    return d.chosen.rep_external_id


def test_every_excluded_rep_has_its_reason() -> None:
    facts = [
        RepFacts(_rep(1, active=False), 0),
        RepFacts(_rep(2), 0, on_leave=True),
        RepFacts(_rep(3, segments=("enterprise|*",)), 0),
        RepFacts(_rep(4, languages=("French",)), 0),
        RepFacts(_rep(5, capacity=2), 2),
        RepFacts(_rep(6), 0, cooling=True),
        RepFacts(_rep(7, segments=("smb|retail",), languages=("German", "en")), 1),
    ]
    d = _route(facts)
    assert d.outcome == "leased" and _chosen(d) == "R7"
    assert d.exclusions == {
        "R1": "inactive",
        "R2": "on_leave",
        "R3": "segment",
        "R4": "language (de)",
        "R5": "no_capacity",
        "R6": "cooldown",
    }


def test_no_eligible_rep_means_overflow_with_the_reasons_counted() -> None:
    d = _route([RepFacts(_rep(1, active=False), 0), RepFacts(_rep(2), 0, on_leave=True)])
    assert d.outcome == "overflow"
    assert "1 inactive" in d.reason and "1 on_leave" in d.reason


def test_ev_prefers_the_proven_rep_and_ties_go_to_the_freest() -> None:
    facts = [
        RepFacts(_rep(1, capacity=10), 2),
        RepFacts(_rep(2, capacity=10), 5, wins=8, losses=2),
        RepFacts(_rep(3, capacity=10), 1),
    ]
    d = _route(facts)
    names = [c.rep_external_id for c in d.candidates]
    assert names == ["R2", "R3", "R1"]
    top = d.candidates[0]
    assert top.ev == HOT.propensity * HOT.value * win_rate_multiplier(8, 2, POLICY)


def test_only_five_candidates_are_kept() -> None:
    d = _route([RepFacts(_rep(i), 0) for i in range(1, 9)])
    assert len(d.candidates) == 5


def test_account_rules_come_before_reps() -> None:
    reps = [RepFacts(_rep(1), 0)]
    tier3 = Account("A3", "Bot", tier=Tier.AI_ONLY, id=3)
    dnc = Account("A4", "No", do_not_contact=True, id=4)
    cold = ScoreFacts(40.0, 0.1, 1.0)
    assert _route(reps, account=tier3).outcome == "pool"
    assert _route(reps, "hand_raise", account=tier3).outcome == "leased"
    assert _route(reps, "hand_raise", account=dnc).outcome == "skipped"
    assert _route(reps, score=cold).outcome == "pool"
    assert _route(reps, "hand_raise", score=cold).outcome == "leased"
    assert _route(reps, has_active_lease=True).outcome == "already_leased"


def test_after_a_revocation_only_faster_reps_qualify() -> None:
    facts = [RepFacts(_rep(1), 0), RepFacts(_rep(2), 0, wins=5, losses=0)]
    d = _route(facts, "revocation", min_velocity=win_rate_multiplier(0, 0, POLICY))
    assert _chosen(d) == "R2"
    assert d.exclusions == {"R1": "not_faster_than_revoked_rep"}


def test_unknown_or_missing_country_sets_no_language_rule() -> None:
    assert account_language(ACME) == "de"
    assert account_language(Account("X", "X", country="Atlantis")) is None
    assert account_language(Account("X", "X")) is None


@given(st.integers(0, 50), st.integers(0, 50))
def test_win_rate_multiplier_rises_with_wins_and_falls_with_losses(w: int, lo: int) -> None:
    q = win_rate_multiplier(w, lo, POLICY)
    assert q > 0
    more_wins = win_rate_multiplier(w + 1, lo, POLICY)
    more_losses = win_rate_multiplier(w, lo + 1, POLICY)
    assert more_losses < q < more_wins
