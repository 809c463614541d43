"""EconomicsPort: economics snapshots and won deals on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from dtem.domain.model import Account, Opportunity
from dtem.domain.segments import Economics, SegmentStats, WonDeal
from tests.conftest import T0


def _accounts(ledger: Any) -> dict[str, int]:
    with ledger.transaction() as tx:
        tx.insert_accounts(
            [
                Account("A1", "Acme", industry="Retail", employees=40),
                Account("A2", "Beta", industry=None, employees=None),
            ],
            T0,
        )
        return dict(tx.all_account_ids())


def test_economics_snapshots_get_increasing_versions(ledger: Any) -> None:
    eco = Economics(
        overall=SegmentStats(3, 1000.0, 2, 30.0),
        segments={"smb|retail": SegmentStats(1, 500.0, 1, 10.0)},
        blended_hourly=75.0,
        computed_at=T0,
    )
    with ledger.transaction() as tx:
        assert tx.latest_economics() is None
        assert tx.add_economics(eco) == 1
        assert tx.add_economics(eco) == 2
    with ledger.transaction() as tx:
        latest = tx.latest_economics()
    assert latest is not None and latest.version == 2
    assert (latest.overall, latest.segments, latest.blended_hourly) == (
        eco.overall,
        eco.segments,
        75.0,
    )


def test_won_deals_carry_their_account_segment_and_cycle(ledger: Any) -> None:
    _accounts(ledger)
    with ledger.transaction() as tx:
        tx.insert_opportunities(
            [
                Opportunity("O1", "A1", "closed_won", 900.0, date(2026, 1, 1), date(2026, 1, 31)),
                Opportunity("O2", "A2", "proposal", 50.0, date(2026, 1, 1), None),
            ],
            T0,
        )
    with ledger.transaction() as tx:
        deals = tx.won_deals(("closed_won",))
    assert deals == [WonDeal("smb|retail", 900.0, 30)]
