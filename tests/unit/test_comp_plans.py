"""Comp plan versions and period closing as use cases: default seeding, scheduling, locks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from dtem.domain.clock import FixedClock
from dtem.domain.comp import CompPlanInvalid
from dtem.domain.errors import InputInvalid, NotFound
from dtem.services.comp import plans
from dtem.services.comp.statements import close_period
from dtem.services.governance import ensure_policy

NOW = datetime(2027, 2, 10, 9, tzinfo=UTC)


def test_the_default_plan_is_listed_then_stored_before_the_first_scheduled_one(
    ledger: Any,
) -> None:
    clock = FixedClock(NOW)
    ensure_policy(ledger, clock)
    pending = plans.list_plans(ledger, clock)
    assert pending.plans == [] and pending.pending_default is not None
    assert [str(p.rate) for p in pending.pending_default.curve] == ["0.2", "0.12", "0.05"]
    doc = {"effective_from": "next_quarter", "fiscal_year_start_month": 2}
    stored = plans.store_plan(ledger, clock, doc, "cfo", "FY27 Q2")
    assert (stored.version, stored.plan.effective_from) == (2, date(2027, 5, 1))
    listing = plans.list_plans(ledger, clock)
    assert [p.version for p in listing.plans] == [1, 2]
    assert listing.in_force == 1  # the scheduled plan waits for its quarter
    clock.now = datetime(2027, 5, 1, tzinfo=UTC)
    assert plans.list_plans(ledger, clock).in_force == 2
    assert plans.show_plan(ledger, 2).note == "FY27 Q2"
    with pytest.raises(NotFound):
        plans.show_plan(ledger, 9)
    with ledger.transaction() as tx:
        actions = [e.action for e in tx.audit_entries() if e.action.startswith("comp.")]
    assert actions == ["comp.plan.store", "comp.plan.store"]


def test_a_plan_starting_in_a_locked_period_is_refused_with_its_other_reasons(
    ledger: Any,
) -> None:
    clock = FixedClock(NOW)
    ensure_policy(ledger, clock)
    close_period(ledger, clock, "2027-01", "cfo")
    doc = {"effective_from": "2027-01-01", "curve": [[0, "0.2"], [100, "1.2"]]}
    with pytest.raises(CompPlanInvalid) as err:
        plans.store_plan(ledger, clock, doc, "cfo")
    assert err.value.problems == [
        "curve point 2: rate 1.2 is outside [0, 1]",
        "starts 2027-01-01 in period 2027-01, in or before the locked period 2027-01: "
        "a locked period's commission never changes",
    ]


def test_closing_is_idempotent_and_only_for_started_periods(ledger: Any) -> None:
    clock = FixedClock(NOW)
    ensure_policy(ledger, clock)
    first = close_period(ledger, clock, "2027-01", "cfo")
    again = close_period(ledger, clock, "2027-01", "someone")
    assert (first.closed_now, again.closed_now, again.closed_by) == (True, False, "cfo")
    with pytest.raises(InputInvalid):
        close_period(ledger, clock, "2027-03", "cfo")
    with ledger.transaction() as tx:
        closes = [e for e in tx.audit_entries() if e.action == "comp.period.close"]
    assert [e.payload["period"] for e in closes] == ["2027-01"]
