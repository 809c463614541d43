"""SQL implementation of `MarketStore`.

Market maker: routing decisions, overflow, lease events, availability, bids, sync.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection


class MarketSql:
    """Mixed into `SqlTx`; `self.conn` is the transaction's connection."""

    conn: Connection
