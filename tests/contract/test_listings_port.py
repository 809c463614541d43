"""ListingsPort: pages in key order, filtered in the store, the same on memory, SQLite and
PostgreSQL; a page starts after the key of the previous one, whatever was inserted since."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dtem.domain.errors import NotFound
from dtem.domain.listings import (
    AccountQuery,
    AuditQuery,
    DecisionQuery,
    IdPage,
    OpportunityQuery,
    RepQuery,
)
from dtem.domain.model import Account, Opportunity, Rep, Tier
from dtem.domain.ports import TokenRecord
from dtem.domain.signals import SignalRecord
from dtem.domain.store_market import RoutingRecord
from dtem.domain.store_radar import SignalSource
from dtem.domain.tiers import AccountTier
from tests.conftest import T0

HOUR = timedelta(hours=1)


def _accounts(ledger: Any) -> dict[str, int]:
    with ledger.transaction() as tx:
        tx.insert_accounts(
            [Account(f"A{i}", f"Acc {i}", do_not_contact=i == 3) for i in range(1, 6)], T0
        )
        ids = tx.all_account_ids()
        tx.put_account_tiers(
            [AccountTier(ids[f"A{i}"], Tier(1 if i % 2 else 2), "rule", 1, T0) for i in (1, 2, 3)]
        )
        return dict(ids)


def test_account_pages_follow_external_ids_and_filter_in_the_store(ledger: Any) -> None:
    _accounts(ledger)
    with ledger.transaction() as tx:
        first = tx.account_page(AccountQuery(limit=2))
        rest = tx.account_page(AccountQuery(after="A2", limit=10))
        tier1 = tx.account_page(AccountQuery(tier=1))
        dnc = tx.account_page(AccountQuery(do_not_contact=True))
    assert [a.external_id for a, _ in first] == ["A1", "A2"]
    assert [a.external_id for a, _ in rest] == ["A3", "A4", "A5"]
    assert [(a.external_id, int(t.tier)) for a, t in tier1 if t] == [("A1", 1), ("A3", 1)]
    assert [a.external_id for a, _ in dnc] == ["A3"]
    assert rest[-1][1] is None  # A5 has no stored tier yet


def test_rep_pages_filter_by_team_in_any_case(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.insert_reps(
            [Rep(f"R{i}", f"Rep {i}", team="Enterprise" if i < 3 else "SMB") for i in range(1, 5)],
            T0,
        )
        page = tx.rep_page(RepQuery(team=" enterprise", limit=1))
        after = tx.rep_page(RepQuery(team="ENTERPRISE", after="R1"))
        every = tx.rep_page(RepQuery(after="R2"))
    assert [r.external_id for r in page] == ["R1"]
    assert [r.external_id for r in after] == ["R2"]
    assert [r.external_id for r in every] == ["R3", "R4"]


def test_decision_pages_are_newest_first_and_one_is_found_by_id(ledger: Any) -> None:
    ids = _accounts(ledger)
    with ledger.transaction() as tx:
        tx.insert_reps([Rep("R1", "Rita")], T0)
        rep = tx.reps_by_external_id(["R1"])["R1"].id
        made = [
            tx.add_routing_decision(
                RoutingRecord(ids[a], T0 + i * HOUR, "manual", 1, out, who, None, [], {})
            )
            for i, (a, out, who) in enumerate(
                [("A1", "leased", rep), ("A2", "overflow", None), ("A1", "leased", rep)]
            )
        ]
    with ledger.transaction() as tx:
        newest = tx.decision_page(DecisionQuery(limit=2))
        older = tx.decision_page(DecisionQuery(before=newest[-1].id))
        by_rep = tx.decision_page(DecisionQuery(rep_id=rep, since=T0 + HOUR))
        of_a1 = tx.decision_page(DecisionQuery(account_id=ids["A1"]))
        one = tx.routing_decision(made[1])
        with pytest.raises(NotFound):
            tx.routing_decision(made[-1] + 100)
    assert [d.id for d in newest] == [made[2], made[1]]
    assert [d.id for d in older] == [made[0]]
    assert [d.id for d in by_rep] == [made[2]]
    assert [d.id for d in of_a1] == [made[2], made[0]]
    assert one.outcome == "overflow"


def test_audit_pages_are_newest_first_with_filters(ledger: Any) -> None:
    with ledger.transaction() as tx:
        for i in range(4):
            tx.append_audit("ops" if i % 2 else "cli", f"thing.{i % 2}", {"i": i}, T0 + i * HOUR)
    with ledger.transaction() as tx:
        newest = tx.audit_page(AuditQuery(limit=3))
        older = tx.audit_page(AuditQuery(before=newest[-1].seq))
        ops = tx.audit_page(AuditQuery(actor="ops", action="thing.1", since=T0 + 2 * HOUR))
    assert [e.seq for e in newest] == [4, 3, 2]
    assert [e.seq for e in older] == [1]
    assert [e.seq for e in ops] == [4]


def test_opportunity_pages_by_external_id_with_account_rep_and_stage(ledger: Any) -> None:
    _accounts(ledger)
    with ledger.transaction() as tx:
        tx.insert_reps([Rep("R1", "Rita")], T0)
        tx.insert_opportunities(
            [
                Opportunity("O1", "A1", "proposal", rep_external_id="R1"),
                Opportunity("O2", "A2", "proposal"),
                Opportunity("O3", "A1", "closed_won", rep_external_id="R1"),
                Opportunity("O4", None, "proposal", account_key="x.io", key_kind="domain"),
            ],
            T0,
        )
        page = tx.opportunity_page(OpportunityQuery(limit=2))
        after = tx.opportunity_page(OpportunityQuery(after="O2"))
        mine = tx.opportunity_page(OpportunityQuery(account="A1", rep="R1", stage="proposal"))
        waiting = tx.opportunity_page(OpportunityQuery(unattached=True, limit=None))
        placed = tx.opportunity_page(OpportunityQuery(unattached=False, after="O1"))
    assert [o.external_id for o in page] == ["O1", "O2"]
    assert [o.external_id for o in after] == ["O3", "O4"]
    assert [(o.external_id, o.account_key) for o in waiting] == [("O4", "x.io")]
    assert [o.external_id for o in placed] == ["O2", "O3"]
    assert [(o.external_id, o.account_external_id) for o in mine] == [("O1", "A1")]


def test_id_pages_of_imports_tokens_and_sources(ledger: Any) -> None:
    with ledger.transaction() as tx:
        batches = [
            tx.add_import_batch("accounts", f"f{i}.csv", "x", T0, "cli", {}) for i in (1, 2, 3)
        ]
        tokens = [tx.add_token(TokenRecord(f"h{i}", "viewer", f"t{i}", T0)) for i in (1, 2)]
        sources = [tx.add_signal_source(SignalSource(f"s{i}", f"k{i}", T0)) for i in (1, 2)]
    with ledger.transaction() as tx:
        newest = tx.import_batch_page(IdPage(newest_first=True, limit=2))
        oldest = tx.import_batch_page(IdPage(after=batches[1], newest_first=True))
        token_page = tx.token_page(IdPage(after=tokens[0]))
        source_page = tx.source_page(IdPage(limit=1))
    assert [b.file for b in newest] == ["f3.csv", "f2.csv"]
    assert [b.file for b in oldest] == ["f1.csv"]
    assert [x.name for x in token_page] == ["t2"]
    assert [x.id for x in source_page] == [sources[0]]


def _signal(event: str, key: str, account_id: int | None) -> SignalRecord:
    return SignalRecord(
        event, key, "domain", "page_view", T0, 1.0, "test", T0, account_id=account_id,
        unmatched_reason=None if account_id else "unknown_domain",
    )  # fmt: skip


def test_unmatched_signal_pages_by_id_skip_matched_ones(ledger: Any) -> None:
    ids = _accounts(ledger)
    with ledger.transaction() as tx:
        tx.insert_signals(
            [_signal("e1", "x.io", None), _signal("e2", "a1.io", ids["A1"]),
             _signal("e3", "y.io", None), _signal("e4", "z.io", None)]
        )  # fmt: skip
    with ledger.transaction() as tx:
        first = tx.unmatched_page(IdPage(limit=2))
        rest = tx.unmatched_page(IdPage(after=first[-1][0]))
    assert [r.event_id for _, r in first] == ["e1", "e3"]
    assert [r.event_id for _, r in rest] == ["e4"]
    assert first[0][1].unmatched_reason == "unknown_domain"


def test_closed_period_pages_are_newest_first(ledger: Any) -> None:
    with ledger.transaction() as tx:
        for period in ["2027-01", "2027-03", "2027-02"]:
            tx.close_comp_period(period, T0, "ops")
    with ledger.transaction() as tx:
        newest = tx.period_page(None, 2)
        older = tx.period_page(newest[-1].period, 10)
    assert [p.period for p in newest] == ["2027-03", "2027-02"]
    assert [(p.period, p.closed_by) for p in older] == [("2027-01", "ops")]


def test_overflow_pages_by_id_open_only_or_all(ledger: Any) -> None:
    ids = _accounts(ledger)
    with ledger.transaction() as tx:
        made = [tx.add_overflow(ids[k], T0, "no eligible rep") for k in ("A1", "A2", "A3")]
        tx.resolve_overflow(made[1], T0 + HOUR, "leased")
    with ledger.transaction() as tx:
        first = tx.overflow_page(True, IdPage(limit=1))
        rest = tx.overflow_page(True, IdPage(after=first[-1].id))
        every = tx.overflow_page(False, IdPage())
    assert [e.id for e in first + rest] == [made[0], made[2]]
    assert [e.id for e in every] == made


def test_policy_pages_by_version_mark_the_active_one(ledger: Any) -> None:
    with ledger.transaction() as tx:
        for n in range(3):
            tx.add_policy({"threshold": 60 + n}, T0, "ops", f"v{n + 1}")
        tx.activate_policy(2, T0, "ops")
    with ledger.transaction() as tx:
        first = tx.policy_page(IdPage(limit=2))
        rest = tx.policy_page(IdPage(after=2))
        newest = tx.policy_page(IdPage(newest_first=True, limit=1))
    assert [(v.version, v.active) for v in first + rest] == [(1, False), (2, True), (3, False)]
    assert [v.note for v in newest] == ["v3"]


def test_bid_pages_by_quarter_and_rep(ledger: Any) -> None:
    with ledger.transaction() as tx:
        tx.insert_reps([Rep("R1", "Rita"), Rep("R2", "Raj")], T0)
        rep = {r.external_id: r.id for r in tx.all_reps()}
        for quarter in ("2027Q2", "2027Q1"):
            for key in ("R2", "R1"):
                tx.put_capacity_bid(rep[key], quarter, 5, T0)
    with ledger.transaction() as tx:
        first = tx.bid_page(None, None, 3)
        rest = tx.bid_page(None, (first[-1].quarter, first[-1].rep_id), 10)
        q2 = tx.bid_page("2027Q2", None, 10)
    keys = [(b.quarter, b.rep_id) for b in first + rest]
    assert keys == [("2027Q1", rep["R1"]), ("2027Q1", rep["R2"]),
                    ("2027Q2", rep["R1"]), ("2027Q2", rep["R2"])]  # fmt: skip
    assert [b.quarter for b in q2] == ["2027Q2", "2027Q2"]
