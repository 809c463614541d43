"""In-memory implementation of the market ports for unit tests.

Routing facts, routing decisions, overflow, lease events, availability, bids, sync.
Rows of other features' tables (scores, score_events, opportunities) are read whether
they are stored as dicts of columns or as objects with those attributes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from dtem.domain.bidding import CapacityBid, RepDeal, cycle_days
from dtem.domain.clock import as_utc
from dtem.domain.errors import LeaseVersionConflict
from dtem.domain.leases import COOLING_STATES
from dtem.domain.model import Account, Lease
from dtem.domain.roster import RepRoster, RosterLoad, from_facts
from dtem.domain.routing import RepFacts
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


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)


class MarketMemory:
    """Mixed into `MemoryTx`; `self.s.extra` holds this feature's rows by table name."""

    s: Any

    def _table(self, name: str) -> list[Any]:
        rows: list[Any] = self.s.extra.setdefault(name, [])
        return rows

    # --- routing facts -------------------------------------------------------------------
    def accounts_by_id(self, account_ids: Collection[int]) -> dict[int, Account]:
        wanted = set(account_ids)
        return {a.id: a for a in self.s.accounts.values() if a.id in wanted}

    def account_facts(
        self, *, account_id: int | None = None, external_id: str | None = None
    ) -> AccountFacts | None:
        if (account_id is None) == (external_id is None):
            raise ValueError("give exactly one of account_id and external_id")
        tx: Any = self  # the other mixins of MemoryTx hold leases and tiers
        if external_id is not None:
            account = tx.accounts_by_external_id([external_id]).get(external_id)
        else:
            account = self.accounts_by_id([account_id or 0]).get(account_id or 0)
        if account is None:
            return None
        return AccountFacts(
            account,
            tx.active_lease(account.id),
            self.routing_score(account.id),
            tx.account_tiers([account.id]).get(account.id),
            self.open_overflow(account.id),
        )

    def routing_score(self, account_id: int) -> ScoreRow | None:
        rows = [r for r in self._table("scores") if _get(r, "account_id") == account_id]
        if not rows:
            return None
        r = max(enumerate(rows), key=lambda ir: (as_utc(_get(ir[1], "as_of")), ir[0]))[1]
        return ScoreRow(
            account_id,
            as_utc(_get(r, "as_of")),
            _get(r, "score"),
            _get(r, "propensity"),
            _get(r, "velocity"),
            _get(r, "policy_version"),
        )

    def active_lease_counts(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for lease in self.s.leases.values():
            if lease.ended_at is None:
                out[lease.rep_id] = out.get(lease.rep_id, 0) + 1
        return out

    def rebuild_rep_loads(self) -> int:
        return len(self.active_lease_counts())

    def routing_reps(self, segment: str) -> list[RoutingRep]:
        loads, records = self.active_lease_counts(), self.rep_records(segment)
        return [
            RoutingRep(r, loads.get(r.id, 0), *records.get(r.id, (0, 0)))
            for r in sorted(self.s.reps.values(), key=lambda r: r.id)
        ]

    def rep_market(self, query: MarketQuery) -> tuple[RepRoster, RosterLoad]:
        on_leave = self.reps_on_leave(query.at)
        cooling = self.cooling_reps(query.account_id, query.cooling_since)
        facts = [
            RepFacts(
                x.rep, x.active_leases, x.rep.id in on_leave, x.rep.id in cooling, x.wins, x.losses
            )
            for x in self.routing_reps(query.segment)
        ]
        return from_facts(facts, self.awarded_capacities(query.quarter))

    def lock_rep_load(self, rep_id: int) -> int:
        return self.active_lease_counts().get(rep_id, 0)  # transactions are serialised

    def reps_on_leave(self, at: datetime) -> set[int]:
        return {
            u.rep_id for u in self._table("rep_unavailability") if u.starts_at <= at < u.ends_at
        }

    def cooling_reps(self, account_id: int, since: datetime) -> set[int]:
        return {
            x.rep_id
            for x in self.s.leases.values()
            if x.account_id == account_id
            and x.state in COOLING_STATES
            and x.ended_at is not None
            and x.ended_at >= since
        }

    def rep_records(self, segment: str) -> dict[int, tuple[int, int]]:
        records: dict[tuple[int, str], tuple[int, int]] = self.s.extra.get("rep_records", {})
        return {rep: wl for (rep, seg), wl in records.items() if seg == segment}

    def replace_rep_records(
        self, records: Mapping[tuple[int, str], tuple[int, int]], at: datetime
    ) -> None:
        self.s.extra["rep_records"] = dict(records)

    def closed_deals(self, won: Collection[str], lost: Collection[str]) -> list[ClosedDeal]:
        reps = {r.external_id: r.id for r in self.s.reps.values()}
        out = []
        for o in self._table("opportunities"):
            rep_id = reps.get(_get(o, "rep_external_id"))
            stage = _get(o, "stage")
            account = self.s.accounts.get(_get(o, "account_external_id"))
            if rep_id is not None and account is not None and stage in (*won, *lost):
                out.append(ClosedDeal(rep_id, account.employees, account.industry, stage))
        return out

    def open_pipeline(
        self, account_ids: Collection[int] | None, won: Collection[str], lost: Collection[str]
    ) -> list[PipelineDeal]:
        reps = {r.external_id: r.id for r in self.s.reps.values()}
        opps = self._table("opportunities")
        record: dict[int, tuple[int, int]] = {}
        for o in opps:
            rep, stage = reps.get(_get(o, "rep_external_id")), _get(o, "stage")
            if rep is not None and stage in (*won, *lost):
                w, lo = record.get(rep, (0, 0))
                record[rep] = (w + 1, lo) if stage in won else (w, lo + 1)
        first: dict[str, date] = {}
        for e in self._table("opportunity_stages"):
            day = as_utc(e.changed_at).date()
            first[e.opportunity_external_id] = min(day, first.get(e.opportunity_external_id, day))
        out = []
        for o in opps:
            account = self.s.accounts.get(_get(o, "account_external_id"))
            if account is None or o.stage in (*won, *lost):
                continue
            if account_ids is not None and account.id not in account_ids:
                continue
            w, lo = record.get(reps.get(o.rep_external_id) or 0, (0, 0))
            opened = o.created_date or first.get(o.external_id)
            out.append(PipelineDeal(account.id, o.stage, opened, o.amount, w, lo, o.product))
        return out

    # --- decisions and overflow ----------------------------------------------------------
    def add_routing_decision(self, record: RoutingRecord) -> int:
        rows = self._table("routing_decisions")
        rows.append(replace(record, id=len(rows) + 1))
        return len(rows)

    def routing_decisions(self, account_id: int, limit: int = 20) -> list[RoutingRecord]:
        rows = [r for r in self._table("routing_decisions") if r.account_id == account_id]
        return rows[::-1][:limit]

    def open_overflow(self, account_id: int) -> OverflowEntry | None:
        found = [e for e in self.overflow_entries() if e.account_id == account_id]
        return found[-1] if found else None

    def add_overflow(self, account_id: int, at: datetime, reason: str) -> int:
        rows = self._table("overflow_queue")
        rows.append(OverflowEntry(len(rows) + 1, account_id, as_utc(at), reason))
        return len(rows)

    def resolve_overflow(self, entry_id: int, at: datetime, resolution: str) -> None:
        rows = self._table("overflow_queue")
        entry = rows[entry_id - 1]
        if entry.resolved_at is None:
            rows[entry_id - 1] = replace(entry, resolved_at=as_utc(at), resolution=resolution)

    def overflow_entries(
        self, open_only: bool = True, queued_before: datetime | None = None
    ) -> list[OverflowEntry]:
        return sorted(
            (
                e
                for e in self._table("overflow_queue")
                if (not open_only or e.resolved_at is None)
                and (queued_before is None or e.queued_at < queued_before)
            ),
            key=lambda e: (e.queued_at, e.id),
        )

    # --- lease history -------------------------------------------------------------------
    def add_lease_events(self, rows: Sequence[LeaseEventRow]) -> None:
        for row in rows:
            self.add_lease_event(row.lease_id, row)

    def add_lease_event(self, lease_id: int, event: LeaseEventRow) -> None:
        rows = self._table("lease_events")
        if any(e.lease_id == lease_id and e.seq == event.seq for e in rows):  # the unique key
            raise LeaseVersionConflict(lease_id, event.seq - 1, event.seq)
        rows.append(replace(event, lease_id=lease_id, at=as_utc(event.at)))

    def lease_events(self, lease_id: int) -> list[LeaseEventRow]:
        return [e for e in self._table("lease_events") if e.lease_id == lease_id]

    def leases_due(self, at: datetime) -> list[Lease]:
        due = [x for x in self.s.leases.values() if x.ended_at is None and x.expires_at <= at]
        return sorted(due, key=lambda x: (x.expires_at, x.id))

    def find_leases(self, where: LeaseFilter) -> list[Lease]:
        found = [
            x
            for x in sorted(self.s.leases.values(), key=lambda x: -x.id)
            if (where.rep_id is None or x.rep_id == where.rep_id)
            and (where.account_id is None or x.account_id == where.account_id)
            and (not where.active_only or x.ended_at is None)
            and (not where.ended_only or x.ended_at is not None)
            and (where.before_id is None or x.id < where.before_id)
        ]
        return found[: where.limit]

    # --- availability --------------------------------------------------------------------
    def add_unavailability(
        self, rep_id: int, starts_at: datetime, ends_at: datetime, reason: str
    ) -> int:
        rows = self._table("rep_unavailability")
        rows.append(
            Unavailability(len(rows) + 1, rep_id, as_utc(starts_at), as_utc(ends_at), reason)
        )
        return len(rows)

    def unavailability(self, rep_id: int | None = None) -> list[Unavailability]:
        rows = self._table("rep_unavailability")
        return sorted(
            (u for u in rows if rep_id is None or u.rep_id == rep_id),
            key=lambda u: (u.starts_at, u.id),
        )

    # === batch optimiser, capacity bidding, CRM export ===================================
    def cooling_pairs(self, since: datetime) -> set[tuple[int, int]]:
        return {
            (x.account_id, x.rep_id)
            for x in self.s.leases.values()
            if x.state in COOLING_STATES and x.ended_at is not None and x.ended_at >= since
        }

    def capacity_bids(self, quarter: str | None = None) -> list[CapacityBid]:
        bids = [b for b in self._table("capacity_bids") if quarter in (None, b.quarter)]
        return sorted(bids, key=lambda b: (b.quarter, b.rep_id))

    def put_capacity_bid(self, rep_id: int, quarter: str, leases: int, at: datetime) -> CapacityBid:
        rows = self._table("capacity_bids")
        rows[:] = [b for b in rows if (b.rep_id, b.quarter) != (rep_id, quarter)]
        bid = CapacityBid(rep_id, quarter, leases, as_utc(at))
        rows.append(bid)
        return bid

    def record_capacity_award(
        self, rep_id: int, quarter: str, awarded: int, reason: str, at: datetime
    ) -> None:
        rows = self._table("capacity_bids")
        for i, b in enumerate(rows):
            if (b.rep_id, b.quarter) == (rep_id, quarter):
                rows[i] = replace(b, awarded=awarded, award_reason=reason, awarded_at=as_utc(at))

    def awarded_capacities(self, quarter: str) -> dict[int, int]:
        return {
            b.rep_id: b.awarded
            for b in self._table("capacity_bids")
            if b.quarter == quarter and b.awarded is not None
        }

    def rep_deals(self, won: Collection[str], lost: Collection[str]) -> list[RepDeal]:
        reps = {r.external_id: r.id for r in self.s.reps.values()}
        out = []
        for o in self._table("opportunities"):
            rep_id, stage = reps.get(_get(o, "rep_external_id")), _get(o, "stage")
            if rep_id is not None and stage in (*won, *lost):
                days = cycle_days(_get(o, "created_date"), _get(o, "close_date"), 1.0)
                out.append(RepDeal(rep_id, stage in won, _get(o, "amount"), days))
        return out

    def watermark(self, name: str) -> datetime | None:
        marks = {_get(r, "name"): _get(r, "at") for r in self._table("sync_watermarks")}
        return marks.get(name)

    def set_watermark(self, name: str, at: datetime) -> None:
        rows = self._table("sync_watermarks")
        rows[:] = [r for r in rows if _get(r, "name") != name]
        rows.append({"name": name, "at": as_utc(at)})

    def accounts_with_lease_changes(self, since: datetime, until: datetime) -> list[int]:
        def within(ts: datetime | None) -> bool:
            return ts is not None and since < ts <= until

        changed = {
            x.account_id
            for x in self.s.leases.values()
            if within(x.granted_at) or within(x.ended_at)
        }
        return sorted(changed)
