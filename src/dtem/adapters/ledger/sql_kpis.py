"""SQL implementation of `KpiFactsPort` and `PilotsPort` (SQLite and PostgreSQL).

A pilot's name is unique in the database: the insert does nothing on conflict, so two
people creating the same pilot at once get one pilot and one `PilotConflict`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from dtem.adapters.ledger import tables as t
from dtem.domain.clock import as_utc
from dtem.domain.errors import NotFound
from dtem.domain.kpis import Deal, LeaseSpan, Touch
from dtem.domain.pilots import Pilot, PilotConflict

_P = t.pilots.c
_INSERT_PILOT = {
    dialect: insert(t.pilots).on_conflict_do_nothing(index_elements=["name"]).returning(_P.id)
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


class KpisSql:
    """Mixed into `SqlTx`; `self.conn` is the transaction's connection."""

    conn: Connection
    _pod: frozenset[int] | None = None  # read with the market by rep_market (sql_market.py)

    def kpi_touches(self, since: datetime, until: datetime) -> list[Touch]:
        a = t.activities.c
        q = sa.select(a.account_id, a.occurred_at, a.actor_kind, a.actor_id).where(
            a.occurred_at >= since, a.occurred_at < until
        )
        return [
            Touch(r.account_id, as_utc(r.occurred_at), r.actor_kind == "rep", r.actor_id)
            for r in self.conn.execute(q.order_by(a.id)).all()
        ]

    def kpi_deals(self, won: Collection[str], lost: Collection[str]) -> list[Deal]:
        o, rep = t.opportunities.c, t.reps.c
        q = sa.select(
            o.account_id, o.stage, o.amount, o.created_date, o.close_date, rep.external_id
        ).select_from(t.opportunities.outerjoin(t.reps, o.rep_id == rep.id))
        q = q.where(o.account_id.is_not(None))  # an unattached deal has no side to count on
        won_set, lost_set = set(won), set(lost)
        return [
            Deal(
                r.account_id,
                "won" if r.stage in won_set else "lost" if r.stage in lost_set else "open",
                r.amount,
                r.created_date,
                r.close_date,
                r.external_id,
            )
            for r in self.conn.execute(q.order_by(o.id))
        ]

    def lease_spans(self) -> list[LeaseSpan]:
        x, rep = t.leases.c, t.reps.c
        q = sa.select(x.account_id, rep.external_id, x.granted_at, x.ended_at).join_from(
            t.leases, t.reps, x.rep_id == rep.id
        )
        return [
            LeaseSpan(r.account_id, r.external_id, as_utc(r.granted_at), _utc(r.ended_at))
            for r in self.conn.execute(q.order_by(x.id))
        ]

    def first_crossings(
        self, threshold: float, since: datetime, until: datetime
    ) -> dict[int, datetime]:
        s = t.scores.c
        q = (
            sa.select(s.account_id, sa.func.min(s.as_of).label("at"))
            .where(s.score >= threshold, s.as_of >= since, s.as_of < until)
            .group_by(s.account_id)
        )
        return {r.account_id: as_utc(r.at) for r in self.conn.execute(q)}

    def scores_as_of(self, at: datetime) -> dict[int, float]:
        s = t.scores.c
        rank = (
            sa.func.row_number()
            .over(partition_by=s.account_id, order_by=(s.as_of.desc(), s.id.desc()))
            .label("rank")
        )
        ranked = sa.select(s.account_id, s.score, rank).where(s.as_of <= at).subquery()
        q = sa.select(ranked.c.account_id, ranked.c.score).where(ranked.c.rank == 1)
        return {r.account_id: float(r.score) for r in self.conn.execute(q)}

    def hand_raises(self, since: datetime, until: datetime) -> list[tuple[int, datetime]]:
        s = t.signals.c
        q = sa.select(s.account_id, s.occurred_at).where(
            s.type == "hand_raise",
            s.account_id.is_not(None),
            s.superseded.is_(False),
            s.occurred_at >= since,
            s.occurred_at < until,
        )
        return sorted((r.account_id, as_utc(r.occurred_at)) for r in self.conn.execute(q))

    # --- pilots ---------------------------------------------------------------------------
    def add_pilot(self, name: str, rep_ids: Collection[int], at: datetime, actor: str) -> Pilot:
        values = {"name": name, "started_at": at, "created_by": actor}
        pilot_id = self.conn.execute(_INSERT_PILOT[self.conn.dialect.name], values).scalar()
        self._pod = None
        if pilot_id is None:
            raise PilotConflict(f"a pilot named {name!r} already exists")
        reps = sorted(set(rep_ids))
        if reps:
            rows = [{"pilot_id": pilot_id, "rep_id": r} for r in reps]
            self.conn.execute(sa.insert(t.pilot_reps), rows)
        return Pilot(pilot_id, name, tuple(reps), as_utc(at), actor)

    def pilot(self, name: str) -> Pilot | None:
        found = self._pilots(_P.name == name)
        return found[0] if found else None

    def pilots(self) -> list[Pilot]:
        return self._pilots(sa.true())

    def end_pilot(self, name: str, at: datetime) -> Pilot:
        stmt = sa.update(t.pilots).where(_P.name == name, _P.ended_at.is_(None)).values(ended_at=at)
        self.conn.execute(stmt)
        self._pod = None
        pilot = self.pilot(name)
        if pilot is None:
            raise NotFound(f"pilot {name!r} does not exist")
        return pilot

    def pilot_pod(self) -> frozenset[int]:
        if self._pod is not None:  # read in this unit of work with the rep market
            return self._pod
        pr = t.pilot_reps.c
        q = sa.select(pr.rep_id).join_from(t.pilot_reps, t.pilots, pr.pilot_id == _P.id)
        return frozenset(self.conn.execute(q.where(_P.ended_at.is_(None))).scalars())

    def _pilots(self, where: sa.ColumnElement[bool]) -> list[Pilot]:
        pr = t.pilot_reps.c
        rows = self.conn.execute(sa.select(t.pilots).where(where).order_by(_P.id)).mappings()
        pilots = list(rows)
        members: dict[int, list[int]] = {}
        ids = [p["id"] for p in pilots]
        if ids:
            q = sa.select(pr.pilot_id, pr.rep_id).where(pr.pilot_id.in_(ids)).order_by(pr.rep_id)
            for r in self.conn.execute(q):
                members.setdefault(r.pilot_id, []).append(r.rep_id)
        return [
            Pilot(
                p["id"],
                p["name"],
                tuple(members.get(p["id"], [])),
                as_utc(p["started_at"]),
                p["created_by"],
                _utc(p["ended_at"]),
            )
            for p in pilots
        ]


def _utc(at: datetime | None) -> datetime | None:
    return as_utc(at) if at is not None else None
