"""Many lease transitions in bulk statements (the rebalance grants and moves thousands).

Grants: multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING` in chunks: the one-active-
lease index decides as for one grant (PostgreSQL waits for a concurrent grant to commit),
and a row it refused raises `LeaseConflict` so the unit of work rolls back whole. Ends:
one `UPDATE … WHERE (id, version) IN (…) RETURNING` per chunk: a lease moved on meanwhile
is not matched and raises `LeaseVersionConflict`. Per-rep loads move by one upsert a rep.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import groupby
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from dtem.adapters.ledger import sql_routing_hot as hot
from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.rows import lease_from_row
from dtem.domain.errors import LeaseConflict, LeaseVersionConflict, NotFound
from dtem.domain.model import Lease, LeaseState
from dtem.domain.store_market import LeaseEnd, LeaseEventRow, LeaseGrant

_ROWS = 1000  # rows per statement: 9 parameters a row stays under SQLite's 32,766
_L = t.leases.c
_EVENT_FIELDS = ("lease_id", "seq", "kind", "at", "actor", "reason", "policy_version", "payload")
T = TypeVar("T")


class LeaseBatchSql:
    """Mixed into `SqlTx`; `self.conn` is the transaction's connection."""

    conn: Connection

    def grant_leases(self, grants: Sequence[LeaseGrant]) -> list[Lease]:
        rows = [_grant_row(g) for g in grants]
        granted: dict[int, int] = {}  # account id -> lease id
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        for chunk in _chunks(rows, _ROWS):
            stmt = (
                insert(t.leases)
                .values(chunk)
                .on_conflict_do_nothing(
                    index_elements=["account_id"], index_where=_L.ended_at.is_(None)
                )
                .returning(_L.id, _L.account_id)
            )
            granted.update((int(r[1]), int(r[0])) for r in self.conn.execute(stmt))
        refused = [r["account_id"] for r in rows if r["account_id"] not in granted]
        if refused or len(granted) != len(rows):  # already leased, or twice in the batch
            raise LeaseConflict(str(refused[0] if refused else rows[0]["account_id"]))
        self._move_loads(Counter(g.rep_id for g in grants))
        return [
            lease_from_row(r | {"id": granted[r["account_id"]], "ended_at": None}) for r in rows
        ]

    def end_leases(self, ends: Sequence[LeaseEnd]) -> list[Lease]:
        ended: dict[int, Lease] = {}
        for (state, at, reason), same in groupby(ends, key=lambda e: (e.state, e.at, e.reason)):
            for chunk in _chunks(list(same), 500):
                ended.update(self._end_chunk(chunk, state, at, reason))
        missing = [e for e in ends if e.lease_id not in ended]
        if missing:
            self._conflict(missing[0])
        self._move_loads(
            Counter({r: -n for r, n in Counter(x.rep_id for x in ended.values()).items()})
        )
        return [ended[e.lease_id] for e in ends]

    def add_lease_events(self, rows: Sequence[LeaseEventRow]) -> None:
        values = [
            {k: getattr(r, k) for k in _EVENT_FIELDS} | {"reason": r.reason[:512]} for r in rows
        ]
        if not values:
            return
        try:
            self.conn.execute(hot.INSERT_LEASE_EVENT, values)
        except sa.exc.IntegrityError as exc:  # uq_lease_events_lease_seq: a second writer
            if not any(k in str(exc.orig) for k in ("uq_lease_events_lease_seq", ".seq")):
                raise
            first = rows[0]
            raise LeaseVersionConflict(first.lease_id, first.seq - 1, first.seq) from exc

    def _end_chunk(
        self, chunk: list[LeaseEnd], state: LeaseState, at: Any, reason: str
    ) -> dict[int, Lease]:
        stmt = (
            sa.update(t.leases)
            .where(
                sa.tuple_(_L.id, _L.version).in_([(e.lease_id, e.version) for e in chunk]),
                _L.ended_at.is_(None),
            )
            .values(state=state.value, ended_at=at, reason=reason, version=_L.version + 1)
            .returning(*t.leases.c)
        )
        return {int(r.id): lease_from_row(r._mapping) for r in self.conn.execute(stmt)}

    def _conflict(self, end: LeaseEnd) -> None:
        row = self.conn.execute(sa.select(t.leases).where(_L.id == end.lease_id)).first()
        if row is None:
            raise NotFound(f"lease {end.lease_id} does not exist")
        now = lease_from_row(row._mapping)
        raise LeaseVersionConflict(end.lease_id, end.version, now.version, str(now.account_id))

    def _move_loads(self, deltas: Counter[int]) -> None:
        """The per-rep active lease counts routing reads, one upsert a rep."""
        rows = [{"r": rep, "n": max(d, 0), "d": d} for rep, d in sorted(deltas.items()) if d]
        if rows:
            self.conn.execute(hot.ADD_REP_LOAD, rows)


def _grant_row(g: LeaseGrant) -> dict[str, Any]:
    return {
        "account_id": g.account_id,
        "rep_id": g.rep_id,
        "state": LeaseState.GRANTED.value,
        "granted_at": g.at,
        "expires_at": g.expires_at,
        "score_at_grant": g.score,
        "policy_version": g.policy_version,
        "reason": g.reason,
        "version": 1,
    }


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
