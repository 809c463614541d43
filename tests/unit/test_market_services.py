"""Routing, leases and the daily review as services on the in-memory ledger."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from tests.conftest import T0
from tests.market_seed import put_score, put_score_event, seed

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock
from dtem.domain.errors import LeaseTransitionInvalid, NotFound
from dtem.domain.model import Account, LeaseState, Opportunity, Rep
from dtem.services import leases, review, routing
from dtem.services.governance import active_policy
from dtem.services.leases import StageChange

ACCOUNTS = [
    Account("A1", "Acme", employees=50, industry="retail", country="US"),
    Account("A2", "Bolt", employees=50, industry="retail"),
    Account("A3", "Cold", employees=50, industry="retail"),
]
REPS = [Rep("R1", "Rita", capacity=2), Rep("R2", "Raj", capacity=2)]


@pytest.fixture
def market() -> tuple[MemoryLedger, FixedClock, dict[str, int], dict[str, int]]:
    ledger, clock = MemoryLedger(), FixedClock(T0)
    acc, rep = seed(ledger, clock, ACCOUNTS, REPS)
    put_score(ledger, acc["A1"], 80.0, T0)
    put_score(ledger, acc["A2"], 70.0, T0)
    put_score(ledger, acc["A3"], 30.0, T0)
    return ledger, clock, acc, rep


def _state(ledger: MemoryLedger) -> Any:
    s = ledger.state
    return (dict(s.leases), len(s.audit), {k: list(v) for k, v in s.extra.items()})


def test_route_leases_a_hot_account_and_records_the_decision(market: Any) -> None:
    ledger, clock, _, _ = market
    res = routing.route(ledger, clock, "A1", "crossed_up")
    assert res.outcome == "leased" and res.lease is not None and res.rep in ("R1", "R2")
    (shown,) = routing.explain(ledger, "A1").decisions
    assert shown["chosen"] == res.rep and len(shown["candidates"]) == 2
    again = routing.route(ledger, clock, "A1", "manual")
    assert again.outcome == "already_leased" and again.lease is None


def test_cold_account_stays_in_the_pool_unless_it_raises_a_hand(market: Any) -> None:
    ledger, clock, _, _ = market
    assert routing.route(ledger, clock, "A3").outcome == "pool"
    assert routing.route(ledger, clock, "A3", "hand_raise").outcome == "leased"


def test_no_eligible_rep_queues_overflow_once_and_the_review_retries_it(market: Any) -> None:
    ledger, clock, _, rep = market
    with ledger.transaction() as tx:
        for rep_id in rep.values():
            tx.add_unavailability(rep_id, T0 - timedelta(days=1), T0 + timedelta(hours=12), "PTO")
    assert routing.route(ledger, clock, "A1").outcome == "overflow"
    assert routing.route(ledger, clock, "A1").outcome == "overflow"
    with ledger.transaction() as tx:
        (entry,) = tx.overflow_entries()
        assert "2 on_leave" in entry.reason
    report = review.run_review(ledger, clock, T0.date() + timedelta(days=1))
    assert report.overflow_retried == 1 and report.outcomes == {"leased": 1}
    with ledger.transaction() as tx:
        assert tx.overflow_entries() == []


def test_capacity_full_rep_is_skipped(market: Any) -> None:
    ledger, clock, acc, rep = market
    with ledger.transaction() as tx:
        active = active_policy(tx)
        for key in ("A2", "A3"):
            leases.grant(tx, acc[key], rep["R1"], T0, 70.0, active, "seed", "t")
    res = routing.route(ledger, clock, "A1")
    assert res.rep == "R2" and res.exclusions == {"R1": "no_capacity"}


def test_stage_advances_extend_and_won_closes(market: Any) -> None:
    ledger, clock, acc, _ = market
    lease = routing.route(ledger, clock, "A1").lease
    assert lease is not None
    later = T0 + timedelta(days=20)
    with ledger.transaction() as tx:
        active = active_policy(tx)
        (moved,) = leases.record_advances(
            tx, [StageChange(acc["A1"], "discovery", "prospecting", later)], active, "import"
        )
        assert moved.expires_at == later + timedelta(days=30)
        (won,) = leases.record_advances(
            tx, [StageChange(acc["A1"], "closed_won", "discovery", later)], active, "import"
        )
    assert won.state is LeaseState.WON


def test_revoked_lease_cools_rep_off_and_reroutes_to_a_faster_rep(market: Any) -> None:
    ledger, clock, acc, rep = market
    first = routing.route(ledger, clock, "A1")
    assert first.lease is not None
    other = "R2" if first.rep == "R1" else "R1"
    history = [  # the other rep has won deals in this segment, the first none
        Opportunity(f"O{i}", "A3", "closed_won", rep_external_id=other) for i in range(4)
    ]
    with ledger.transaction() as tx:
        tx.insert_opportunities(history, T0)
    report = review.run_review(ledger, clock, T0.date() + timedelta(days=31))
    assert report.revoked == 1
    with ledger.transaction() as tx:
        assert tx.lease(first.lease.id).state is LeaseState.REVOKED
        new = tx.active_lease(acc["A1"])
        assert new is not None and new.rep_id == rep[other]
        assert tx.cooling_reps(acc["A1"], T0) == {first.lease.rep_id}


def test_expired_lease_returns_a_cooled_account_to_the_pool(market: Any) -> None:
    ledger, clock, acc, _ = market
    lease = routing.route(ledger, clock, "A2").lease
    assert lease is not None
    put_score(ledger, acc["A2"], 40.0, T0 + timedelta(days=10))
    report = review.run_review(ledger, clock, T0.date() + timedelta(days=31))
    assert report.expired_to_pool == 1 and report.revoked == 0
    with ledger.transaction() as tx:
        assert tx.lease(lease.id).state is LeaseState.EXPIRED
        assert tx.active_lease(acc["A2"]) is None


def test_review_consumes_triggers_and_is_idempotent_for_a_date(market: Any) -> None:
    ledger, clock, acc, _ = market
    put_score_event(ledger, acc["A1"], "crossed_up", 80.0, T0)
    put_score_event(ledger, acc["A2"], "hand_raise", 70.0, T0)
    put_score_event(ledger, acc["A3"], "crossed_down", 30.0, T0)
    day = date(2027, 1, 5)
    first = review.run_review(ledger, clock, day)
    assert first.triggers_consumed == 3 and first.outcomes == {"leased": 2}
    before = _state(ledger)
    second = review.run_review(ledger, clock, day)
    assert not second.changed and _state(ledger) == before


def test_rep_may_release_only_their_own_lease(market: Any) -> None:
    ledger, clock, _, _ = market
    res = routing.route(ledger, clock, "A1")
    assert res.lease is not None and res.rep is not None
    other = "R2" if res.rep == "R1" else "R1"
    with pytest.raises(NotFound, match=f"lease {res.lease.id} does not exist"):
        leases.release_lease(ledger, clock, res.lease.id, f"rep:{other}", "", as_rep=other)
    done = leases.release_lease(ledger, clock, res.lease.id, "rep", "busy", as_rep=res.rep)
    assert done.state is LeaseState.RELEASED
    with pytest.raises(LeaseTransitionInvalid):
        leases.release_lease(ledger, clock, res.lease.id, "rep", "again")


def test_manager_reassign_moves_the_lease_and_audits_both_sides(market: Any) -> None:
    ledger, clock, acc, _ = market
    res = routing.route(ledger, clock, "A1")
    assert res.lease is not None
    target = "R2" if res.rep == "R1" else "R1"
    with pytest.raises(LeaseTransitionInvalid):
        leases.reassign_lease(ledger, clock, res.lease.id, target, " ", "manager")
    new = leases.reassign_lease(ledger, clock, res.lease.id, target, "coverage", "manager")
    view = leases.show_lease(ledger, res.lease.id)
    assert view.lease.state is LeaseState.REASSIGNED and new.account_id == acc["A1"]
    with ledger.transaction() as tx:
        actions = [e.action for e in tx.audit_entries()]
    assert actions[-2:] == ["lease.reassigned", "lease.granted"]
