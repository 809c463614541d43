"""SQL implementation of `RadarStore`.

Radar: signals, identity links, sources, decayed account state, scores, crossings.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection


class RadarSql:
    """Mixed into `SqlTx`; `self.conn` is the transaction's connection."""

    conn: Connection
