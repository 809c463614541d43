"""The embedded batch engine: the Ibis score expression compiled to DuckDB.

Ledger signals arrive as Arrow (read once through SQLAlchemy, so SQLite and
PostgreSQL work alike without database extensions); a Parquet dataset is scanned by
DuckDB directly, in parallel, without loading it into Python.

>>> DuckDbScorer().name
'duckdb'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis

from dtem.adapters.batch.expression import score_expression
from dtem.adapters.batch.tables import accounts_table, batch_scores, events_table, types_table
from dtem.domain.batch import AccountParams, BatchScores, TypeParams
from dtem.domain.score_records import SignalColumns


class DuckDbScorer:
    """Scores every account in one DuckDB query (`threads` None = all cores)."""

    name = "duckdb"

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.threads = threads
        self.memory_limit = memory_limit

    def connect(self) -> Any:
        options: dict[str, Any] = {}
        if self.threads:
            options["threads"] = self.threads
        if self.memory_limit:
            options["memory_limit"] = self.memory_limit
        return ibis.duckdb.connect(**options)

    def expression(
        self,
        con: Any,
        signals: SignalColumns | str,
        accounts: AccountParams,
        types: TypeParams,
        e_half: float,
        as_of: datetime,
    ) -> Any:
        """The score expression bound to this connection's tables (benchmarks time it)."""
        if isinstance(signals, str):
            events = con.read_parquet(signals)
        else:
            events = ibis.memtable(events_table(signals))
        acc = ibis.memtable(accounts_table(accounts))
        ty = ibis.memtable(types_table(types))
        return score_expression(events, acc, ty, types.names, e_half, as_of)

    def score(
        self,
        signals: SignalColumns | str,
        accounts: AccountParams,
        types: TypeParams,
        e_half: float,
        as_of: datetime,
    ) -> BatchScores:
        con = self.connect()
        try:
            expr = self.expression(con, signals, accounts, types, e_half, as_of)
            return batch_scores(con.to_pyarrow(expr), types)
        finally:
            con.disconnect()
