"""SQL implementation of the signal and scoring ports.

Radar: signals, identity links, sources, decayed account state, scores, crossings.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from dtem.adapters.ledger.sql_privacy import PrivacySql
from dtem.adapters.ledger.sql_retention import RetentionSql
from dtem.adapters.ledger.sql_scores import ScoresSql
from dtem.adapters.ledger.sql_signals import SignalsSql


# ingestion: sql_signals.py; scoring: sql_scores.py;
# retention: sql_retention; erasure: sql_privacy
class RadarSql(SignalsSql, ScoresSql, PrivacySql, RetentionSql):
    """Mixed into `SqlTx`; `self.conn` is the transaction's connection."""

    conn: Connection
