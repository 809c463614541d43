"""In-memory implementation of `MarketStore` for unit tests.

Market maker: routing decisions, overflow, lease events, availability, bids, sync.
"""

from __future__ import annotations

from typing import Any


class MarketMemory:
    """Mixed into `MemoryTx`; `self.s.extra` holds this feature's rows by table name."""

    s: Any
