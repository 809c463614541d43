"""RoutingFactsPort: what routing reads is the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from dtem.domain.bidding import quarter_of
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, LeaseState, Opportunity, Rep, Tier
from dtem.domain.store_market import MarketQuery
from dtem.domain.tiers import AccountTier, TierOverride
from tests.conftest import T0
from tests.market_seed import put_score, seed

DAY = timedelta(days=1)
REPS = [
    Rep("R1", "Rita", segments=("smb|*",), languages=("German",), capacity=4),
    Rep("R2", "Raj", active=False, capacity=3),
    Rep("R3", "Rui"),
]


def _market(ledger: Any) -> tuple[dict[str, int], dict[str, int]]:
    accounts = [Account(f"A{i}", f"Acc {i}", employees=50, industry="Retail") for i in range(3)]
    return seed(ledger, FixedClock(T0), accounts, [Rep("R1", "Rita"), Rep("R2", "Raj")])


def _query(account_id: int, at: Any = T0 + 2 * DAY) -> MarketQuery:
    return MarketQuery(account_id, "smb|retail", quarter_of(at.date()), at, at - 14 * DAY)


def _roster(ledger: Any) -> tuple[dict[str, int], dict[str, int]]:
    accounts = [Account(f"A{i}", f"Acc {i}", employees=50, industry="Retail") for i in range(3)]
    acc, rep = seed(ledger, FixedClock(T0), accounts, REPS)
    with ledger.transaction() as tx:
        tx.grant_lease(acc["A1"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.grant_lease(acc["A2"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        cooled = tx.grant_lease(acc["A0"], rep["R3"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.end_lease(cooled.id, cooled.version, LeaseState.REVOKED, T0 + DAY, "no advance")
        tx.add_unavailability(rep["R2"], T0, T0 + 5 * DAY, "PTO")
        tx.replace_rep_records({(rep["R3"], "smb|retail"): (2, 1)}, T0)
        tx.put_capacity_bid(rep["R1"], quarter_of(T0.date()), 5, T0)
        tx.record_capacity_award(rep["R1"], quarter_of(T0.date()), 5, "bid", T0)
    return acc, rep


def test_routing_score_is_the_latest_row(ledger: Any) -> None:
    acc, _ = _market(ledger)
    put_score(ledger, acc["A0"], 55.0, T0)
    put_score(ledger, acc["A0"], 71.0, T0 + DAY)
    with ledger.transaction() as tx:
        row = tx.routing_score(acc["A0"])
        assert row is not None and row.score == 71.0 and row.as_of == T0 + DAY
        assert tx.routing_score(acc["A1"]) is None


def test_active_lease_counts_and_cooling_reps(ledger: Any) -> None:
    acc, rep = _market(ledger)
    with ledger.transaction() as tx:
        a = tx.grant_lease(acc["A0"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.grant_lease(acc["A1"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.grant_lease(acc["A2"], rep["R2"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.end_lease(a.id, a.version, LeaseState.REVOKED, T0 + 31 * DAY, "no advance")
    with ledger.transaction() as tx:
        assert tx.active_lease_counts() == {rep["R1"]: 1, rep["R2"]: 1}
        assert tx.lock_rep_load(rep["R1"]) == 1
        assert tx.cooling_reps(acc["A0"], T0) == {rep["R1"]}
        assert tx.cooling_reps(acc["A0"], T0 + 32 * DAY) == set()


def test_cooldown_pairs_follow_revocations(ledger: Any) -> None:
    acc, rep = _market(ledger)
    with ledger.transaction() as tx:
        old = tx.grant_lease(acc["A0"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.end_lease(old.id, old.version, LeaseState.REVOKED, T0 + 2 * DAY, "no advance")
        released = tx.grant_lease(acc["A1"], rep["R2"], T0, T0 + 30 * DAY, 70.0, 1, "y")
        tx.end_lease(released.id, released.version, LeaseState.RELEASED, T0 + 2 * DAY, "rep asked")
    with ledger.transaction() as tx:
        assert tx.cooling_pairs(T0) == {(acc["A0"], rep["R1"])}
        assert tx.cooling_pairs(T0 + 3 * DAY) == set()


def test_leave_windows_are_half_open(ledger: Any) -> None:
    _, rep = _market(ledger)
    with ledger.transaction() as tx:
        tx.add_unavailability(rep["R2"], T0, T0 + 5 * DAY, "PTO")
    with ledger.transaction() as tx:
        assert tx.reps_on_leave(T0) == {rep["R2"]}
        assert tx.reps_on_leave(T0 + 5 * DAY) == set()
        (window,) = tx.unavailability(rep["R2"])
        assert window.reason == "PTO" and window.ends_at == T0 + 5 * DAY


def test_rep_records_replace_and_closed_deals(ledger: Any) -> None:
    _, rep = _market(ledger)
    with ledger.transaction() as tx:
        tx.insert_opportunities(
            [
                Opportunity("O1", "A0", "closed_won", rep_external_id="R1"),
                Opportunity("O2", "A1", "closed_lost", rep_external_id="R1"),
                Opportunity("O3", "A2", "proposal", rep_external_id="R2"),
            ],
            T0,
        )
        deals = tx.closed_deals(("closed_won",), ("closed_lost",))
        assert sorted(d.stage for d in deals) == ["closed_lost", "closed_won"]
        tx.replace_rep_records({(rep["R1"], "smb|retail"): (1, 1)}, T0)
        tx.replace_rep_records({(rep["R2"], "smb|retail"): (2, 0)}, T0)
    with ledger.transaction() as tx:
        assert tx.rep_records("smb|retail") == {rep["R2"]: (2, 0)}


def test_routing_reps_carry_loads_kept_by_grant_and_end(ledger: Any) -> None:
    acc, rep = _market(ledger)
    with ledger.transaction() as tx:
        a = tx.grant_lease(acc["A0"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.grant_lease(acc["A1"], rep["R1"], T0, T0 + 30 * DAY, 70.0, 1, "x")
        tx.end_lease(a.id, a.version, LeaseState.RELEASED, T0, "early")
        tx.replace_rep_records({(rep["R2"], "smb|retail"): (3, 1)}, T0)
    with ledger.transaction() as tx:
        found = {
            x.rep.external_id: (x.active_leases, x.wins, x.losses)
            for x in tx.routing_reps("smb|retail")
        }
        assert found == {"R1": (1, 0, 0), "R2": (0, 3, 1)}
        assert tx.rebuild_rep_loads() == 1
        assert {x.rep.id: x.active_leases for x in tx.routing_reps("x")} == {
            rep["R1"]: 1,
            rep["R2"]: 0,
        }


def test_rep_market_carries_rules_loads_records_leave_cooldown_and_awards(ledger: Any) -> None:
    acc, rep = _roster(ledger)
    with ledger.transaction() as tx:
        roster, load = tx.rep_market(_query(acc["A0"]))
    assert roster.ids.tolist() == sorted(rep.values())
    assert roster.external_ids == ("R1", "R2", "R3")
    assert roster.active.tolist() == [True, False, True]
    assert roster.capacity.tolist() == [4, 3, 25]
    assert roster.segments[0] == ("smb|*",) and roster.languages[0] == ("German",)
    assert load.active_leases.tolist() == [2, 0, 0]
    assert (load.wins.tolist(), load.losses.tolist()) == ([0, 0, 2], [0, 0, 1])
    assert load.on_leave.tolist() == [False, True, False]
    assert load.cooling.tolist() == [False, False, True]
    assert load.awarded.tolist() == [5, -1, -1]


def test_rep_market_sees_a_changed_rep_and_time_passing(ledger: Any) -> None:
    acc, rep = _roster(ledger)
    with ledger.transaction() as tx:
        tx.rep_market(_query(acc["A0"]))  # warms any cache
        tx.update_reps([replace(REPS[1], active=True, id=rep["R2"])], T0)
    later = T0 + 20 * DAY  # leave over, cooldown over
    with ledger.transaction() as tx:
        roster, load = tx.rep_market(_query(acc["A0"], later))
        _, other = tx.rep_market(_query(acc["A1"]))
    assert roster.active.tolist() == [True, True, True]
    assert load.on_leave.tolist() == [False, False, False]
    assert load.cooling.tolist() == [False, False, False]
    assert other.cooling.tolist() == [False, False, False]


def test_open_pipeline_lists_open_deals_with_the_owners_closed_record(ledger: Any) -> None:
    from datetime import date

    from dtem.domain.store_imports import StageEntry

    acc, rep = _market(ledger)
    with ledger.transaction() as tx:
        tx.insert_opportunities([
            Opportunity("W1", "A0", "closed_won", 10.0, rep_external_id="R1"),
            Opportunity("W2", "A1", "closed_won", 10.0, rep_external_id="R1"),
            Opportunity("L1", "A1", "closed_lost", 10.0, rep_external_id="R1"),
            Opportunity("P1", "A0", "proposal", 900.0, date(2026, 11, 2), None, "R1",
                        product="Platform"),
            Opportunity("P2", "A1", "discovery", None, None, None, "R2"),
            Opportunity("P3", "A2", "negotiation"),
        ], T0)  # fmt: skip
        tx.append_stage_history([StageEntry("P2", "discovery", T0 + DAY, "import")])
    with ledger.transaction() as tx:
        some = tx.open_pipeline([acc["A0"], acc["A1"]], ("closed_won",), ("closed_lost",))
        every = tx.open_pipeline(None, ("closed_won",), ("closed_lost",))
    got = sorted((d.account_id, d.stage, d.opened, d.amount, d.owner_wins, d.owner_losses,
                  d.product or "") for d in some)  # fmt: skip
    assert got == sorted([
        (acc["A0"], "proposal", date(2026, 11, 2), 900.0, 2, 1, "Platform"),
        (acc["A1"], "discovery", (T0 + DAY).date(), None, 0, 0, ""),
    ])  # fmt: skip
    assert sorted(d.account_id for d in every) == sorted([acc["A0"], acc["A1"], acc["A2"]])
    assert rep["R2"] > 0


def test_account_facts_read_lease_score_tier_and_open_overflow_at_once(ledger: Any) -> None:
    acc, rep = _market(ledger)
    put_score(ledger, acc["A0"], 55.0, T0)
    put_score(ledger, acc["A0"], 71.0, T0 + DAY)
    override = TierOverride(Tier.HUMAN_ONLY, "ana", T0, "named")
    with ledger.transaction() as tx:
        lease = tx.grant_lease(acc["A0"], rep["R1"], T0, T0 + 30 * DAY, 71.0, 1, "x")
        tx.put_account_tiers([AccountTier(acc["A0"], Tier.HYBRID, "hybrid", 1, T0)])
        tx.set_tier_override(acc["A0"], override)
        entry = tx.add_overflow(acc["A1"], T0, "no rep free")
    with ledger.transaction() as tx:
        facts = tx.account_facts(external_id="A0")
        assert facts is not None and facts.account.id == acc["A0"]
        assert facts.lease == lease
        assert facts.score is not None and (facts.score.score, facts.score.as_of) == (
            71.0,
            T0 + DAY,
        )
        assert facts.tier is not None and facts.tier.override == override
        assert facts.overflow is None
        queued = tx.account_facts(account_id=acc["A1"])
        assert queued is not None and queued.account.external_id == "A1"
        assert (queued.lease, queued.score, queued.tier) == (None, None, None)
        assert queued.overflow is not None and queued.overflow.id == entry
        assert tx.account_facts(external_id="nobody") is None
