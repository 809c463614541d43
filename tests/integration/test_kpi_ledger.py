"""`kpi_report` on the small ledger of tests/kpi_ledger.py, every number worked out by hand
from its table (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from dtem.domain.errors import ArgumentInvalid
from dtem.services.governance import ensure_policy
from dtem.services.kpis import kpi_report
from dtem.services.tam_audit import tam_audit
from tests import kpi_ledger
from tests.kpi_ledger import END, START

HOURLY = (50.0 + 70.0) / 2  # λ: blended hourly cost of the active reps
EFFORT = 10.0  # default effort hours of smb|retail
AGENT_TOUCH = 2.0  # the default policy's agent touch cost
CAPACITY = 10 + 10  # R3 is inactive
MEAN_DEAL = (10000 + 4000 + 2000 + 6000) / 4  # every won deal, any time
K = 10.0  # the default shrinkage strength


@pytest.fixture
def report(ledger: Any, clock: Any) -> Any:
    kpi_ledger.seed(ledger)
    ensure_policy(ledger, clock)
    return kpi_report(ledger, START, END)


def _row(report: Any, name: str) -> Any:
    return next(r for r in report.rows if r.name == name)


def test_phantom_equity_static_owners_versus_active_leases(report: Any) -> None:
    row = _row(report, "phantom equity")
    # static: A1, A2, A3 (A4 is leased at END); A2 and A3 had no rep touch since 01-01
    assert row.detail["static"] == {"untouched_owned": 2, "owned": 3}
    assert row.static == 2 / 3
    # DTEM: A4, touched by R1 on 02-01
    assert (row.dtem, row.detail["dtem"]) == (0.0, {"untouched_owned": 0, "owned": 1})


def test_dead_zones_split_by_whether_routing_leased_the_crossing(report: Any) -> None:
    row = _row(report, "dead zones")
    # static: A3 (only an agent touched it) and A1 (touched the next day)
    assert row.detail["static"] == {"unworked_crossings": 1, "crossings": 2}
    # DTEM: A4, leased the day after crossing and touched at once
    assert row.detail["dtem"] == {"unworked_crossings": 0, "crossings": 1}


def test_lead_decay_buckets_each_hand_raise(report: Any) -> None:
    static = {b.bucket: (b.hand_raises, b.won) for b in report.lead_decay["static"]}
    dtem = {b.bucket: (b.hand_raises, b.won) for b in report.lead_decay["dtem"]}
    # A7 answered in 3 h, no win; A2 never touched after its hand-raise, yet O5 was won
    # on 03-03, within the 90-day horizon
    assert static == {"< 5 min": (0, 0), "< 1 h": (0, 0), "< 24 h": (1, 0), "later": (0, 0),
                      "never": (1, 1)}  # fmt: skip
    assert dtem["< 5 min"] == (1, 1)  # A5: touched 3 min after, won O1 36 days later
    assert sum(n for n, _ in dtem.values()) == 1


def test_coverage_counts_agents_only_under_dtem(report: Any) -> None:
    row = _row(report, "coverage")
    # contactable: every account but A6; rep touches in Q1: A1, A4, A5, A7; agents add A3
    assert row.detail["static"] == {"touched": 4, "contactable": 6}
    assert row.detail["dtem"] == {"touched": 5, "contactable": 6}


def test_win_rate_cycle_and_velocity_by_side(report: Any) -> None:
    win = _row(report, "win rate")
    assert win.detail["static"] == {"won": 2, "closed": 3}  # O2, O5 won; O3 lost
    assert win.detail["dtem"] == {"won": 1, "closed": 1}  # O1, under A5's lease
    assert _row(report, "cycle length").static == (60 + 30) / 2  # O2: 60 days, O5: 30
    assert _row(report, "cycle length").dtem == 34.0  # O1: 01-12 → 02-15
    assert _row(report, "velocity").static == pytest.approx((4000 + 6000) / (60 + 30))
    assert _row(report, "velocity").dtem == pytest.approx(10000 / 34)
    # R1 won O2 and O5: shrunk toward the team's mean deal (5000) and cycle (45 days)
    assert report.velocity_by_rep["static"] == {
        "R1": pytest.approx((10000 + K * 5000) / (90 + K * 45))
    }
    assert report.velocity_by_rep["dtem"] == {
        "R2": pytest.approx((10000 + K * 10000) / (34 + K * 34))
    }


def test_cac_counts_worked_accounts_and_agent_touches(report: Any) -> None:
    row = _row(report, "CAC")
    # static: R1 worked A1, R2 worked A7 (no lease); one new customer (A1; A2 won in 2026)
    assert row.detail["static"] == {"human_cost": 2 * EFFORT * HOURLY, "agent_cost": 0.0,
                                    "new_customers": 1}  # fmt: skip
    # DTEM: A4 and A5 worked under their leases, two agent touches; one new customer (A5)
    assert row.detail["dtem"] == {"human_cost": 2 * EFFORT * HOURLY,
                                  "agent_cost": 2 * AGENT_TOUCH, "new_customers": 1}  # fmt: skip
    assert row.static == 1200.0 and row.dtem == 1204.0


def test_pipeline_bloat_and_utilisation(report: Any) -> None:
    bloat = _row(report, "pipeline bloat")
    assert bloat.static == pytest.approx(5000 / (CAPACITY * MEAN_DEAL))  # O7 on A7
    assert bloat.dtem == pytest.approx(8000 / (CAPACITY * MEAN_DEAL))  # O6 on leased A4
    util = _row(report, "utilisation")
    assert (util.static, util.dtem) == (None, 1 / CAPACITY)
    assert report.price_of_capacity == HOURLY


def test_a_window_that_ends_before_it_starts_is_refused(ledger: Any, clock: Any) -> None:
    ensure_policy(ledger, clock)
    with pytest.raises(ArgumentInvalid, match="must be after"):
        kpi_report(ledger, END, START)


def test_the_tam_audit_as_of_the_window_end(ledger: Any, clock: Any) -> None:
    kpi_ledger.seed(ledger)
    ensure_policy(ledger, clock)
    audit = tam_audit(ledger, END)
    rows = {a.account: a for a in audit.accounts}
    # owned: A1–A4 (owners) and A4 (leased to R1); rep touches since 01-01: A1, A4, A5, A7
    assert {a for a, r in rows.items() if r.phantom} == {"A2", "A3"}
    # hot by END: A3 (80), A4 (65, leased), A1 (61, touched 03-20): only A3 nobody works
    assert {a for a, r in rows.items() if r.dead_zone} == {"A3"}
    assert [a.account for a in audit.accounts[:4]] == ["A3", "A4", "A1", "A2"]
    assert (rows["A4"].leased_to, rows["A5"].leased_to, rows["A2"].score) == ("R1", None, 50.0)
    assert (audit.owned, audit.phantom, audit.dead_zones, audit.tiers()) == (
        4,
        2,
        1,
        {1: 0, 2: 7, 3: 0},
    )
    feb11 = {a.account: a for a in tam_audit(ledger, kpi_ledger.at(2, 11)).accounts}
    assert (feb11["A5"].leased_to, feb11["A4"].leased_to) == ("R2", "R1")  # A5: 01-10 → 02-15
    assert feb11["A2"].score == 75.0  # its 2026 score: the 02-15 one came later
    feb20 = {a.account: a for a in tam_audit(ledger, kpi_ledger.at(2, 20)).accounts}
    assert (feb20["A5"].leased_to, feb20["A2"].score) == (None, 50.0)
