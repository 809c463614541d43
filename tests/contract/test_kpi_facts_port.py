"""KpiFactsPort: the facts the KPIs read are the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from dtem.domain.kpis import Deal, LeaseSpan, Touch
from tests.kpi_ledger import END, START, at, score_row, seed


def test_kpi_touches_are_the_activities_of_the_window(ledger: Any) -> None:
    ids = seed(ledger)
    with ledger.transaction() as tx:
        got = sorted(tx.kpi_touches(START, at(3, 5, 12)), key=lambda t: t.at)
    assert got == [
        Touch(ids["A5"], at(1, 10, 0, 3), True, "R2"),
        Touch(ids["A4"], at(2, 1, 10), True, "R1"),
        Touch(ids["A7"], at(2, 20), False, "agent-1"),
        Touch(ids["A3"], at(3, 1), False, "agent-1"),
    ]  # t2 is before START, t1 and t7 at or after the end


def test_kpi_deals_classify_stages_and_name_the_rep(ledger: Any) -> None:
    ids = seed(ledger)
    with ledger.transaction() as tx:
        got = tx.kpi_deals(["closed_won"], ["closed_lost"])
    by_amount = {d.amount: d for d in got}
    assert len(got) == 7
    assert by_amount[10000.0] == Deal(
        ids["A5"], "won", 10000.0, date(2027, 1, 12), date(2027, 2, 15), "R2"
    )
    assert by_amount[3000.0].outcome == "lost"
    assert by_amount[8000.0] == Deal(ids["A4"], "open", 8000.0, date(2027, 2, 5), None, "R1")


def test_lease_spans_are_every_lease_with_its_rep(ledger: Any) -> None:
    ids = seed(ledger)
    with ledger.transaction() as tx:
        got = tx.lease_spans()
    assert got == [
        LeaseSpan(ids["A4"], "R1", at(2, 1)),
        LeaseSpan(ids["A5"], "R2", at(1, 10, 0, 1), at(2, 15, 12)),
    ]


def test_first_crossings_are_the_first_score_at_or_above_in_the_window(ledger: Any) -> None:
    ids = seed(ledger)
    with ledger.transaction() as tx:
        got = tx.first_crossings(60.0, START, END)
        late = tx.first_crossings(75.0, at(2, 11), END)
    assert got == {ids["A4"]: at(1, 31), ids["A3"]: at(2, 10), ids["A1"]: at(3, 19)}
    assert late == {ids["A3"]: at(2, 12)}


def test_hand_raises_are_matched_hand_raise_signals_of_the_window(ledger: Any) -> None:
    ids = seed(ledger)
    with ledger.transaction() as tx:
        got = tx.hand_raises(START, at(3, 5, 9))
    assert sorted(got) == sorted([(ids["A5"], at(1, 10)), (ids["A2"], at(2, 1))])


def test_scores_as_of_are_each_accounts_latest_score_by_then(ledger: Any) -> None:
    ids = seed(ledger)
    with ledger.transaction() as tx:
        tx.append_scores([score_row(ids["A3"], at(2, 12), 81.0)])  # a tie: the later row wins
        feb = tx.scores_as_of(at(2, 11))
        end = tx.scores_as_of(END)
    assert feb == {ids["A4"]: 65.0, ids["A3"]: 70.0, ids["A2"]: 75.0}
    assert end == {ids["A4"]: 65.0, ids["A3"]: 81.0, ids["A1"]: 61.0, ids["A2"]: 50.0}
