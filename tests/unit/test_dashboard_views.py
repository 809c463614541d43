"""The dashboard's views: score bins, pages, what would advance a lease, a rep's queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import T0
from tests.market_seed import seed

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.domain.clock import FixedClock
from dtem.domain.errors import NotFound
from dtem.domain.model import Account, Rep
from dtem.services import leases, rep_queue
from dtem.services.dashboard import capacity_now, page_of, score_histogram
from dtem.services.governance import active_policy

STAGES = ("discovery", "proposal", "negotiation", "closed_won", "closed_lost")


@given(st.lists(st.floats(min_value=0, max_value=100), max_size=200))
def test_every_score_falls_in_exactly_one_bin(scores: list[float]) -> None:
    bins = score_histogram(scores)
    assert sum(b.count for b in bins) == len(scores)
    assert [b.low for b in bins] == [10.0 * i for i in range(10)]


@given(st.integers(0, 95), st.integers(-3, 12))
def test_pages_cover_the_list_once(n: int, number: int) -> None:
    items = list(range(n))
    page = page_of(items, number, size=20)
    assert 1 <= page.number <= page.pages and page.total == n
    seen = [x for k in range(1, page.pages + 1) for x in page_of(items, k, 20).rows]
    assert seen == items


def test_what_would_advance_a_lease_follows_the_stage_order() -> None:
    won = ("closed_won",)
    assert rep_queue.next_move(None, STAGES, won, 30).startswith("a first opportunity")
    assert "(to negotiation)" in rep_queue.next_move("proposal", STAGES, won, 30)
    assert "(to closed_lost)" in rep_queue.next_move("negotiation", STAGES, won, 30)
    assert rep_queue.next_move("closed_lost", STAGES, won, 30).startswith("closing the deal")


def _market() -> tuple[MemoryLedger, FixedClock]:
    ledger, clock = MemoryLedger(), FixedClock(T0)
    acc, rep = seed(ledger, clock, [Account(f"A{i}", f"A {i}") for i in range(3)],
                    [Rep("R1", "Rita", capacity=4), Rep("R2", "Raj", capacity=6)])  # fmt: skip
    with ledger.transaction() as tx:
        policy = active_policy(tx)
        for i in range(3):
            leases.grant(tx, acc[f"A{i}"], rep["R1"], T0, 80.0, policy, "crossing", "test")
    return ledger, clock


def test_a_reps_queue_counts_days_left_and_lists_what_was_lost() -> None:
    ledger, clock = _market()
    first = leases.list_leases(ledger, "R1")[-1].lease.id
    leases.release_lease(ledger, clock, first, "test", "not a fit")
    clock.now = T0 + timedelta(days=10)
    queue = rep_queue.rep_queue(ledger, clock, "R1")
    assert [q.days_left for q in queue.leases] == [pytest.approx(20.0)] * 2
    assert [(x.view.lease.id, x.why) for x in queue.lost] == [(first, "not a fit")]
    assert queue.next_before is None


def test_a_rep_asking_for_another_reps_queue_is_told_it_does_not_exist() -> None:
    ledger, clock = _market()
    with pytest.raises(NotFound, match="'R1' does not exist"):
        rep_queue.rep_queue(ledger, clock, "R1", viewer_rep="R2")


def test_team_load_is_active_leases_against_capacity() -> None:
    ledger, _ = _market()
    load = capacity_now(ledger)
    assert [(r.rep.external_id, r.active_leases, r.capacity) for r in load.reps] == [
        ("R1", 3, 4),
        ("R2", 0, 6),
    ]
    assert load.utilisation == pytest.approx(3 / 10)


def test_a_long_queue_pages_by_lease_id_without_repeats() -> None:
    ledger, clock = MemoryLedger(), FixedClock(T0)
    n = rep_queue.PAGE_SIZE + 5
    acc, rep = seed(ledger, clock, [Account(f"A{i}", f"A {i}") for i in range(n)],
                    [Rep("R1", "Rita", capacity=n)])  # fmt: skip
    with ledger.transaction() as tx:
        policy = active_policy(tx)
        for i in range(n):
            leases.grant(tx, acc[f"A{i}"], rep["R1"], T0, 80.0, policy, "crossing", "test")
    first = rep_queue.rep_queue(ledger, clock, "R1")
    second = rep_queue.rep_queue(ledger, clock, "R1", before=first.next_before)
    ids = [q.view.lease.id for q in first.leases + second.leases]
    assert len(first.leases) == rep_queue.PAGE_SIZE and second.next_before is None
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == n
