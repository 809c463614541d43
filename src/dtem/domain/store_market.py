"""Ledger port.

Market maker: routing decisions, overflow, lease events, availability, bids, sync.
"""

from __future__ import annotations

from typing import Protocol


class MarketStore(Protocol):
    """Methods of a unit of work for this feature (see `dtem.domain.ports.LedgerTx`)."""
