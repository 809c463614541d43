"""An opportunity import that moves a leased account's deal forward extends the lease."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.conftest import sql_ledger

from dtem.adapters.ledger.sql import SqlLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.domain.model import LeaseState, Rep
from dtem.services import governance, leases
from dtem.services.imports.mapping import load_mapping
from dtem.services.imports.service import import_file

FIXTURES = Path(__file__).parent.parent / "fixtures" / "imports"


def _leased_ledger(url: str, clock: FixedClock) -> tuple[SqlLedger, int]:
    ledger = sql_ledger(url)
    active = governance.ensure_policy(ledger, clock)
    mapping = load_mapping("salesforce")
    import_file(
        ledger, clock, "accounts", FIXTURES / "sf_accounts.csv", mapping, pipeline=signal_pipeline()
    )
    with ledger.transaction() as tx:
        tx.insert_reps([Rep("R1", "Rita")], clock())
        rep_id = tx.reps_by_external_id(["R1"])["R1"].id
        account_id = tx.accounts_by_external_id(["0015g00000AbCdEAAV"])["0015g00000AbCdEAAV"].id
        assert rep_id is not None and account_id is not None
        lease = leases.grant(tx, account_id, rep_id, clock(), 72.0, active, "test", "test")
    return ledger, lease.id


def test_first_opportunity_and_later_stage_each_extend_the_lease(
    sqlite_url: str, clock: FixedClock
) -> None:
    ledger, lease_id = _leased_ledger(sqlite_url, clock)
    with ledger.transaction() as tx:
        granted = tx.lease(lease_id)
    mapping = load_mapping("salesforce")
    clock.advance(days=10)
    import_file(
        ledger,
        clock,
        "opportunities",
        FIXTURES / "sf_opportunities.csv",
        mapping,
        pipeline=signal_pipeline(),
    )
    with ledger.transaction() as tx:
        first = tx.lease(lease_id)
    assert first.state is LeaseState.ADVANCED
    assert first.expires_at == clock() + timedelta(days=30) > granted.expires_at
    clock.advance(days=20)
    import_file(
        ledger,
        clock,
        "opportunities",
        FIXTURES / "sf_opportunities_advanced.csv",
        mapping,
        pipeline=signal_pipeline(),
    )
    with ledger.transaction() as tx:
        second = tx.lease(lease_id)
        actions = [e.action for e in tx.audit_entries()]
    assert second.expires_at == clock() + timedelta(days=30)
    assert actions.count("lease.advanced") == 2


def test_reimporting_unchanged_opportunities_does_not_extend_the_lease(
    sqlite_url: str, clock: FixedClock
) -> None:
    ledger, lease_id = _leased_ledger(sqlite_url, clock)
    mapping = load_mapping("salesforce")
    import_file(
        ledger,
        clock,
        "opportunities",
        FIXTURES / "sf_opportunities.csv",
        mapping,
        pipeline=signal_pipeline(),
    )
    with ledger.transaction() as tx:
        once = tx.lease(lease_id)
    clock.advance(days=5)
    import_file(
        ledger,
        clock,
        "opportunities",
        FIXTURES / "sf_opportunities.csv",
        mapping,
        pipeline=signal_pipeline(),
    )
    with ledger.transaction() as tx:
        assert tx.lease(lease_id) == once
