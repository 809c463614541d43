"""SQL implementation of `TrainingPort`: the history `dtem train` learns from."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dtem.adapters.ledger import tables as t
from dtem.domain.clock import as_utc
from dtem.domain.store_training import OutcomeFact, SignalFact


class TrainingSql:
    """Mixed into `SqlTx`; `self.conn` is the transaction's connection."""

    conn: Connection

    def training_signals(self, until: datetime) -> Iterator[SignalFact]:
        s = t.signals.c
        q = (
            sa.select(s.account_id, s.type, s.occurred_at, s.value)
            .where(s.account_id.is_not(None), s.superseded.is_(False), s.occurred_at <= until)
            .order_by(s.id)
        )
        # Streamed: a customer's history can be far larger than one fetch.
        for row in self.conn.execution_options(yield_per=10_000).execute(q):
            yield SignalFact(row.account_id, row.type, as_utc(row.occurred_at), float(row.value))

    def won_outcomes(self, won_stages: Collection[str]) -> list[OutcomeFact]:
        o, h = t.opportunities.c, t.opportunity_stages.c
        first_won = (
            sa.select(sa.func.min(h.changed_at))
            .where(h.opportunity_id == o.id, h.stage.in_(list(won_stages)))
            .scalar_subquery()
        )
        q = sa.select(o.account_id, o.close_date, first_won.label("won_at")).where(
            o.stage.in_(list(won_stages))
        )
        out: list[OutcomeFact] = []
        for row in self.conn.execute(q):
            on = row.close_date or _day(row.won_at)
            if on is not None:
                out.append(OutcomeFact(row.account_id, on))
        return out


def _day(ts: datetime | None) -> date | None:
    return as_utc(ts).date() if ts is not None else None
