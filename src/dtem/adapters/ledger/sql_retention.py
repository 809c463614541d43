"""SQL implementation of `RetentionPort` (SQLite and PostgreSQL).

A rule for a source reaches two kinds of rows: those its webhook delivered (their scope
is `source:<name>`) and the file or NATS rows (scope `pipeline`) labelled with its name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dtem.adapters.ledger import tables as t
from dtem.domain.signals import PIPELINE_SCOPE, source_scope

_S, _R = t.signals, t.signal_retention


def _of_source(source: str, before: datetime) -> Any:
    by_source = sa.or_(
        _S.c.scope == source_scope(source),
        sa.and_(_S.c.scope == PIPELINE_SCOPE, _S.c.source == source),
    )
    return sa.and_(by_source, _S.c.occurred_at < before)


class RetentionSql:
    """Mixed into `SqlTx` through `RadarSql`; `self.conn` is the transaction's connection."""

    conn: Connection

    def signal_retention(self) -> dict[str, int]:
        rows = self.conn.execute(sa.select(_R.c.source, _R.c.retention_days).order_by(_R.c.source))
        return {r.source: int(r.retention_days) for r in rows}

    def set_signal_retention(self, source: str, days: int | None, at: datetime) -> None:
        self.conn.execute(sa.delete(_R).where(_R.c.source == source))
        if days is not None:
            self.conn.execute(
                sa.insert(_R).values(source=source, retention_days=days, updated_at=at)
            )

    def signal_labels(self) -> set[str]:
        stmt = sa.select(_S.c.source).where(_S.c.scope == PIPELINE_SCOPE).distinct()
        return {str(v) for v in self.conn.execute(stmt).scalars()}

    def accounts_with_signals_before(self, source: str, before: datetime) -> set[int]:
        stmt = (
            sa.select(_S.c.account_id)
            .where(_of_source(source, before), _S.c.account_id.is_not(None))
            .distinct()
        )
        return {int(v) for v in self.conn.execute(stmt).scalars()}

    def delete_signals_before(self, source: str, before: datetime) -> int:
        return int(self.conn.execute(sa.delete(_S).where(_of_source(source, before))).rowcount)
