"""What the Radar holds: counts by type and unknown event, and the unmatched signals."""

from __future__ import annotations

from dataclasses import dataclass

from dtem.domain.listings import IdPage
from dtem.domain.ports import LedgerOf, ListingsPort, SignalsPort
from dtem.domain.signals import SignalRecord
from dtem.domain.store_radar import SignalStats


@dataclass(frozen=True)
class UnmatchedReport:
    """Unmatched signals: the count by reason and the oldest `limit` of them."""

    total: int
    by_reason: dict[str, int]
    signals: list[SignalRecord]


def unmatched_report(ledger: LedgerOf[SignalsPort], limit: int = 100) -> UnmatchedReport:
    with ledger.transaction() as tx:
        stats = tx.signal_stats()
        rows = tx.unmatched_signals(limit=limit)
    return UnmatchedReport(sum(stats.unmatched.values()), stats.unmatched, rows)


def unmatched_signals(
    ledger: LedgerOf[ListingsPort], after: int | None = None, limit: int = 50
) -> list[tuple[int, SignalRecord]]:
    """Unmatched signals oldest first, each with its id (ids above `after`)."""
    with ledger.transaction() as tx:
        return tx.unmatched_page(IdPage(after=after, limit=limit))


def signal_stats(ledger: LedgerOf[SignalsPort]) -> SignalStats:
    with ledger.transaction() as tx:
        return tx.signal_stats()
