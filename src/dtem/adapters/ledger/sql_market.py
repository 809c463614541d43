"""SQL implementation of the market ports.

Routing facts, routing decisions, overflow, lease events, availability, bids, sync.
Routing reads run on every decision, so each is one indexed query (see bench/route.py).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from dtem.adapters.ledger import sql_account_facts, sql_roster
from dtem.adapters.ledger import sql_routing_hot as hot
from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.rows import account_from_row, lease_from_row
from dtem.domain.bidding import CapacityBid, RepDeal, cycle_days
from dtem.domain.clock import as_utc
from dtem.domain.errors import LeaseVersionConflict
from dtem.domain.leases import COOLING_STATES
from dtem.domain.model import Account, Lease, Rep
from dtem.domain.roster import RepRoster, RosterLoad
from dtem.domain.store_market import (
    AccountFacts,
    ClosedDeal,
    LeaseEventRow,
    LeaseFilter,
    MarketQuery,
    OverflowEntry,
    PipelineDeal,
    RoutingRecord,
    RoutingRep,
    ScoreRow,
    Unavailability,
)

_SCAN_ABOVE = 20_000  # account ids asked for at once beyond which the table is scanned


class MarketSql:
    """Mixed into `SqlTx`; `self.conn` is the transaction's connection."""

    conn: Connection
    is_postgres: bool
    _takers: list[Any] | None  # OutboxSql's active subscriptions of this unit of work
    _pod: frozenset[int] | None  # KpisSql's pilot pod, as the last rep_market read it

    # --- routing facts -------------------------------------------------------------------
    def accounts_by_id(self, account_ids: Collection[int]) -> dict[int, Account]:
        out: dict[int, Account] = {}
        ids = list(account_ids)
        if len(ids) > _SCAN_ABOVE:  # most of the accounts (the rebalance): one scan, not
            wanted = set(ids)  # hundreds of IN (...) lists of 500
            rows = self.conn.execute(sa.select(t.accounts)).mappings()
            return {r["id"]: account_from_row(r) for r in rows if r["id"] in wanted}
        for i in range(0, len(ids), 500):
            q = sa.select(t.accounts).where(t.accounts.c.id.in_(ids[i : i + 500]))
            out.update((r["id"], account_from_row(r)) for r in self.conn.execute(q).mappings())
        return out

    def account_facts(
        self, *, account_id: int | None = None, external_id: str | None = None
    ) -> AccountFacts | None:
        facts, subscribers = sql_account_facts.account_facts(self.conn, account_id, external_id)
        if facts is not None and not subscribers:
            self._takers = []  # no active subscription: nothing to read again in this tx
        return facts

    def routing_score(self, account_id: int) -> ScoreRow | None:
        r = self.conn.execute(hot.ROUTING_SCORE, {"a": account_id}).first()
        if r is None:
            return None
        return ScoreRow(r[0], as_utc(r[1]), r[2], r[3], r[4], r[5])

    def active_lease_counts(self) -> dict[int, int]:
        c = t.leases.c  # served by the partial index ix_leases_active_rep
        q = sa.select(c.rep_id, sa.func.count()).where(c.ended_at.is_(None)).group_by(c.rep_id)
        return {int(r[0]): int(r[1]) for r in self.conn.execute(q)}

    def add_rep_load(self, rep_id: int, delta: int) -> None:
        """Keep the per-rep active lease count (grant_lease / end_lease call it)."""
        self.conn.execute(hot.ADD_REP_LOAD, {"r": rep_id, "n": max(delta, 0), "d": delta})

    def rebuild_rep_loads(self) -> int:
        counts = self.active_lease_counts()
        self.conn.execute(sa.delete(t.rep_loads))
        rows = [{"rep_id": r, "active_leases": n} for r, n in counts.items()]
        if rows:
            self.conn.execute(sa.insert(t.rep_loads), rows)
        return len(rows)

    def routing_reps(self, segment: str) -> list[RoutingRep]:
        rows = self.conn.execute(_ROUTING_REPS, {"seg": segment}).fetchall()
        return [
            RoutingRep(
                _routing_rep(r[:6] if isinstance(r[2], str) else _hashable(r[:6])),
                r[6] or 0,
                r[7] or 0,
                r[8] or 0,
            )
            for r in rows
        ]

    def rep_market(self, query: MarketQuery) -> tuple[RepRoster, RosterLoad]:
        roster, load, self._pod = sql_roster.rep_market(self.conn, query)  # the rest cached
        return roster, load

    def lock_rep_load(self, rep_id: int) -> int:
        if self.is_postgres:  # SQLite's BEGIN IMMEDIATE already serialises writers
            self.conn.execute(hot.LOCK_REP, {"r": rep_id})
        # Recounted from the leases (not rep_loads): the lock guards the true count.
        return int(self.conn.execute(hot.REP_ACTIVE_LEASES, {"r": rep_id}).scalar_one())

    def reps_on_leave(self, at: datetime) -> set[int]:
        u = t.rep_unavailability.c
        q = sa.select(u.rep_id).where(u.starts_at <= at, u.ends_at > at)
        return {int(r[0]) for r in self.conn.execute(q)}

    def cooling_reps(self, account_id: int, since: datetime) -> set[int]:
        c = t.leases.c
        q = sa.select(c.rep_id).where(
            c.account_id == account_id,
            c.state.in_([s.value for s in COOLING_STATES]),
            c.ended_at >= since,
        )
        return {int(r[0]) for r in self.conn.execute(q)}

    def rep_records(self, segment: str) -> dict[int, tuple[int, int]]:
        r = t.rep_records.c
        q = sa.select(r.rep_id, r.wins, r.losses).where(r.segment == segment)
        return {int(x[0]): (int(x[1]), int(x[2])) for x in self.conn.execute(q)}

    def replace_rep_records(
        self, records: Mapping[tuple[int, str], tuple[int, int]], at: datetime
    ) -> None:
        self.conn.execute(sa.delete(t.rep_records))
        rows = [
            {"rep_id": rep, "segment": seg, "wins": w, "losses": lo, "as_of": at}
            for (rep, seg), (w, lo) in records.items()
        ]
        if rows:
            self.conn.execute(sa.insert(t.rep_records), rows)
        sql_roster.bump_roster_version(self.conn)  # routing caches records by version

    def closed_deals(self, won: Collection[str], lost: Collection[str]) -> list[ClosedDeal]:
        o, a = t.opportunities.c, t.accounts.c
        q = (
            sa.select(o.rep_id, a.employees, a.industry, o.stage)
            .join_from(t.opportunities, t.accounts, o.account_id == a.id)
            .where(o.rep_id.is_not(None), o.stage.in_([*won, *lost]))
        )
        return [ClosedDeal(int(r[0]), r[1], r[2], r[3]) for r in self.conn.execute(q)]

    def open_pipeline(
        self, account_ids: Collection[int] | None, won: Collection[str], lost: Collection[str]
    ) -> list[PipelineDeal]:
        o, h = t.opportunities.c, t.opportunity_stages.c
        closed = [*won, *lost]
        record = {
            int(r[0]): (int(r[1] or 0), int(r[2] or 0))
            for r in self.conn.execute(
                sa.select(
                    o.rep_id,
                    sa.func.sum(sa.case((o.stage.in_(list(won)), 1), else_=0)),
                    sa.func.sum(sa.case((o.stage.in_(list(lost)), 1), else_=0)),
                )
                .where(o.rep_id.is_not(None), o.stage.in_(closed))
                .group_by(o.rep_id)
            )
        }
        first = (
            sa.select(sa.func.min(h.changed_at)).where(h.opportunity_id == o.id).scalar_subquery()
        )
        q = sa.select(
            o.account_id,
            o.stage,
            o.created_date,
            first.label("first"),
            o.amount,
            o.rep_id,
            o.product,
        ).where(o.account_id.is_not(None), o.stage.not_in(closed))
        if account_ids is not None:
            q = q.where(o.account_id.in_(list(account_ids)))
        out = []
        for r in self.conn.execute(q.order_by(o.id)):
            w, lo = record.get(r.rep_id, (0, 0)) if r.rep_id is not None else (0, 0)
            opened = r.created_date or (as_utc(r.first).date() if r.first else None)
            deal = PipelineDeal(int(r.account_id), r.stage, opened, r.amount, w, lo, r.product)
            out.append(deal)
        return out

    # --- decisions and overflow ----------------------------------------------------------
    def add_routing_decision(self, record: RoutingRecord) -> int:
        values = {k: getattr(record, k) for k in _DECISION_FIELDS}
        values["exclusions"] = hot.group_exclusions(record.exclusions)
        res = self.conn.execute(hot.INSERT_DECISION, values)  # parameters apart: cached compile
        return int(res.inserted_primary_key[0])  # type: ignore[index]

    def routing_decisions(self, account_id: int, limit: int = 20) -> list[RoutingRecord]:
        d = t.routing_decisions.c
        q = sa.select(t.routing_decisions).where(d.account_id == account_id)
        q = q.order_by(d.id.desc()).limit(limit)
        return [_decision(r) for r in self.conn.execute(q).mappings()]

    def open_overflow(self, account_id: int) -> OverflowEntry | None:
        row = self.conn.execute(hot.OPEN_OVERFLOW, {"a": account_id}).mappings().first()
        return _overflow(row) if row else None

    def add_overflow(self, account_id: int, at: datetime, reason: str) -> int:
        values = {"account_id": account_id, "queued_at": at, "reason": reason[:512]}
        res = self.conn.execute(sa.insert(t.overflow_queue).values(**values))
        return int(res.inserted_primary_key[0])  # type: ignore[index]

    def resolve_overflow(self, entry_id: int, at: datetime, resolution: str) -> None:
        o = t.overflow_queue.c
        stmt = sa.update(t.overflow_queue).where(o.id == entry_id, o.resolved_at.is_(None))
        self.conn.execute(stmt.values(resolved_at=at, resolution=resolution[:64]))

    def overflow_entries(
        self, open_only: bool = True, queued_before: datetime | None = None
    ) -> list[OverflowEntry]:
        o = t.overflow_queue.c
        q = sa.select(t.overflow_queue).order_by(o.queued_at, o.id)
        if open_only:
            q = q.where(o.resolved_at.is_(None))
        if queued_before is not None:
            q = q.where(o.queued_at < queued_before)
        return [_overflow(r) for r in self.conn.execute(q).mappings()]

    # --- lease history -------------------------------------------------------------------
    def add_lease_event(self, lease_id: int, event: LeaseEventRow) -> None:
        values: dict[str, Any] = {k: getattr(event, k) for k in _EVENT_FIELDS}
        values["lease_id"] = lease_id
        values["reason"] = values["reason"][:512]
        try:
            self.conn.execute(hot.INSERT_LEASE_EVENT, values)
        except sa.exc.IntegrityError as exc:  # uq_lease_events_lease_seq: a second writer
            if not any(k in str(exc.orig) for k in ("uq_lease_events_lease_seq", ".seq")):
                raise
            raise LeaseVersionConflict(lease_id, event.seq - 1, event.seq) from exc

    def lease_events(self, lease_id: int) -> list[LeaseEventRow]:
        e = t.lease_events.c
        q = sa.select(t.lease_events).where(e.lease_id == lease_id).order_by(e.seq)
        return [
            LeaseEventRow(
                lease_id=r["lease_id"],
                **{k: r[k] for k in _EVENT_FIELDS if k != "at"},
                at=as_utc(r["at"]),
            )
            for r in self.conn.execute(q).mappings()
        ]

    def leases_due(self, at: datetime) -> list[Lease]:
        c = t.leases.c
        q = sa.select(t.leases).where(c.ended_at.is_(None), c.expires_at <= at)
        return [
            lease_from_row(r) for r in self.conn.execute(q.order_by(c.expires_at, c.id)).mappings()
        ]

    def find_leases(self, where: LeaseFilter) -> list[Lease]:
        c = t.leases.c
        q = sa.select(t.leases).order_by(c.id.desc()).limit(where.limit)
        if where.rep_id is not None:
            q = q.where(c.rep_id == where.rep_id)
        if where.account_id is not None:
            q = q.where(c.account_id == where.account_id)
        if where.active_only:
            q = q.where(c.ended_at.is_(None))
        if where.ended_only:
            q = q.where(c.ended_at.is_not(None))
        if where.before_id is not None:
            q = q.where(c.id < where.before_id)
        return [lease_from_row(r) for r in self.conn.execute(q).mappings()]

    # --- availability --------------------------------------------------------------------
    def add_unavailability(
        self, rep_id: int, starts_at: datetime, ends_at: datetime, reason: str
    ) -> int:
        values = {"rep_id": rep_id, "starts_at": starts_at, "ends_at": ends_at, "reason": reason}
        res = self.conn.execute(sa.insert(t.rep_unavailability).values(**values))
        sql_roster.bump_roster_version(self.conn)  # routing caches leave windows by version
        return int(res.inserted_primary_key[0])  # type: ignore[index]

    def unavailability(self, rep_id: int | None = None) -> list[Unavailability]:
        u = t.rep_unavailability.c
        q = sa.select(t.rep_unavailability).order_by(u.starts_at, u.id)
        if rep_id is not None:
            q = q.where(u.rep_id == rep_id)
        return [
            Unavailability(
                r["id"], r["rep_id"], as_utc(r["starts_at"]), as_utc(r["ends_at"]), r["reason"]
            )
            for r in self.conn.execute(q).mappings()
        ]

    # === batch optimiser, capacity bidding, CRM export ===================================
    def cooling_pairs(self, since: datetime) -> set[tuple[int, int]]:
        c = t.leases.c
        q = sa.select(c.account_id, c.rep_id).where(
            c.state.in_([s.value for s in COOLING_STATES]), c.ended_at >= since
        )
        return {(int(r[0]), int(r[1])) for r in self.conn.execute(q)}

    def capacity_bids(self, quarter: str | None = None) -> list[CapacityBid]:
        b = t.capacity_bids.c
        q = sa.select(t.capacity_bids).order_by(b.quarter, b.rep_id)
        if quarter is not None:
            q = q.where(b.quarter == quarter)
        return [_bid(r) for r in self.conn.execute(q).mappings()]

    def put_capacity_bid(self, rep_id: int, quarter: str, leases: int, at: datetime) -> CapacityBid:
        b = t.capacity_bids.c
        where = (b.rep_id == rep_id) & (b.quarter == quarter)
        self.conn.execute(sa.delete(t.capacity_bids).where(where))
        values = {"rep_id": rep_id, "quarter": quarter, "leases": leases, "submitted_at": at}
        self.conn.execute(sa.insert(t.capacity_bids).values(**values))
        sql_roster.bump_roster_version(self.conn)  # a new bid drops the rep's award
        return _bid(self.conn.execute(sa.select(t.capacity_bids).where(where)).mappings().one())

    def record_capacity_award(
        self, rep_id: int, quarter: str, awarded: int, reason: str, at: datetime
    ) -> None:
        b = t.capacity_bids.c
        stmt = sa.update(t.capacity_bids).where(b.rep_id == rep_id, b.quarter == quarter)
        self.conn.execute(stmt.values(awarded=awarded, award_reason=reason[:512], awarded_at=at))
        sql_roster.bump_roster_version(self.conn)  # routing caches awards by version

    def awarded_capacities(self, quarter: str) -> dict[int, int]:
        b = t.capacity_bids.c
        q = sa.select(b.rep_id, b.awarded).where(b.quarter == quarter, b.awarded.is_not(None))
        return {int(r[0]): int(r[1]) for r in self.conn.execute(q)}

    def rep_deals(self, won: Collection[str], lost: Collection[str]) -> list[RepDeal]:
        o = t.opportunities.c
        q = sa.select(o.rep_id, o.stage, o.amount, o.created_date, o.close_date).where(
            o.rep_id.is_not(None), o.stage.in_([*won, *lost])
        )
        return [
            RepDeal(int(r[0]), r[1] in won, r[2], cycle_days(r[3], r[4], 1.0))
            for r in self.conn.execute(q)
        ]

    def watermark(self, name: str) -> datetime | None:
        w = t.sync_watermarks.c
        at = self.conn.execute(sa.select(w.at).where(w.name == name)).scalar()
        return as_utc(at) if at is not None else None

    def set_watermark(self, name: str, at: datetime) -> None:
        w = t.sync_watermarks.c
        self.conn.execute(sa.delete(t.sync_watermarks).where(w.name == name))
        self.conn.execute(sa.insert(t.sync_watermarks).values(name=name, at=at))

    def accounts_with_lease_changes(self, since: datetime, until: datetime) -> list[int]:
        c = t.leases.c
        granted = sa.and_(c.granted_at > since, c.granted_at <= until)
        ended = sa.and_(c.ended_at > since, c.ended_at <= until)
        q = sa.select(c.account_id).where(sa.or_(granted, ended)).distinct()
        return sorted(int(r[0]) for r in self.conn.execute(q))


# --- rows <-> objects -------------------------------------------------------------------
# One statement for every rep with its load and its record in the segment: text SQL
# because this runs on every decision and Core's per-row typing costs milliseconds.
_ROUTING_REPS = sa.text(
    "SELECT r.id, r.external_id, r.segments, r.languages, r.capacity, r.active,"
    " l.active_leases, rr.wins, rr.losses FROM reps r"
    " LEFT JOIN rep_loads l ON l.rep_id = r.id"
    " LEFT JOIN rep_records rr ON rr.rep_id = r.id AND rr.segment = :seg"
)


_REP_CACHE: dict[tuple[Any, ...], Rep] = {}


def _routing_rep(key: tuple[Any, ...]) -> Rep:
    """Reps change rarely: an unchanged row maps to the same immutable `Rep` (saves ms)."""
    rep = _REP_CACHE.get(key)
    if rep is None:
        if len(_REP_CACHE) > 50_000:
            _REP_CACHE.clear()
        i, external_id, segments, languages, capacity, active = key
        rep = Rep(
            external_id, "", segments=tuple(_json(segments)), languages=tuple(_json(languages)),
            capacity=capacity, active=bool(active), id=i,
        )  # fmt: skip
        _REP_CACHE[key] = rep
    return rep


def _hashable(values: Any) -> tuple[Any, ...]:
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


def _json(value: Any) -> list[str]:
    """SQLite hands JSON back as text, psycopg already decoded."""
    return list(json.loads(value) if isinstance(value, str) else value or [])


_DECISION_FIELDS = (
    "account_id",
    "at",
    "trigger",
    "policy_version",
    "outcome",
    "chosen_rep_id",
    "lease_id",
    "candidates",
    "exclusions",
)
_EVENT_FIELDS = ("kind", "at", "actor", "reason", "policy_version", "payload", "seq")


def _decision(r: RowMapping) -> RoutingRecord:
    fields = {k: r[k] for k in _DECISION_FIELDS} | {"at": as_utc(r["at"]), "id": r["id"]}
    fields["exclusions"] = hot.ungroup_exclusions(r["exclusions"])
    return RoutingRecord(**fields)


def _overflow(r: RowMapping) -> OverflowEntry:
    resolved = as_utc(r["resolved_at"]) if r["resolved_at"] else None
    return OverflowEntry(
        r["id"], r["account_id"], as_utc(r["queued_at"]), r["reason"], resolved, r["resolution"]
    )


def _bid(r: RowMapping) -> CapacityBid:
    return CapacityBid(
        r["rep_id"],
        r["quarter"],
        r["leases"],
        as_utc(r["submitted_at"]),
        r["awarded"],
        r["award_reason"],
        as_utc(r["awarded_at"]) if r["awarded_at"] else None,
    )
