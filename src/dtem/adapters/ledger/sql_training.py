"""SQL implementation of `TrainingPort`: the history `dtem train` learns from."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dtem.adapters.ledger import tables as t
from dtem.domain.clock import as_utc
from dtem.domain.store_training import OpportunityFact, OutcomeFact, SignalFact


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

    def opportunity_histories(self) -> list[OpportunityFact]:
        o, h = t.opportunities.c, t.opportunity_stages.c
        history: dict[int, list[tuple[str, datetime]]] = {}
        q = sa.select(h.opportunity_id, h.stage, h.changed_at).order_by(h.changed_at, h.id)
        for row in self.conn.execute(q):
            history.setdefault(row.opportunity_id, []).append((row.stage, as_utc(row.changed_at)))
        rows = self.conn.execute(
            sa.select(o.id, o.account_id, o.rep_id, o.stage, o.amount, o.created_date,
                      o.close_date, o.product).where(o.account_id.is_not(None)).order_by(o.id)
        )  # fmt: skip
        return [
            OpportunityFact(
                r.id,
                r.account_id,
                r.rep_id,
                r.stage,
                r.amount,
                r.created_date,
                r.close_date,
                tuple(history.get(r.id, ())),
                r.product,
            )
            for r in rows
        ]


def _day(ts: datetime | None) -> date | None:
    return as_utc(ts).date() if ts is not None else None
