"""SQL implementation of the scoring half of `RadarStore`.

Decayed state is upserted (one row per account and signal type); scores, routing
triggers and economics snapshots are appended.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from dtem.adapters.ledger import tables as t
from dtem.domain.clock import as_utc
from dtem.domain.model import segment_of
from dtem.domain.score_records import AccountFacts, ScoreEvent, ScoreRecord, SignalColumns
from dtem.domain.scoring import Decayed, epoch_seconds, from_epoch_seconds
from dtem.domain.segments import ALL_SEGMENTS, Economics, SegmentStats, WonDeal
from dtem.domain.store_training import SignalFact

_CHUNK = 500  # ids per IN (...): under SQLite's bound-parameter limit
_FETCH = 50_000  # rows per fetch when streaming signals
_SCORE_FIELDS = tuple(f.name for f in fields(ScoreRecord))


def _chunks(ids: Collection[int]) -> Iterator[list[int]]:
    items = sorted(ids)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


class ScoresSql:
    """Mixed into `SqlTx` through `RadarSql`; `self.conn` is the transaction's connection."""

    conn: Connection

    # --- inputs -------------------------------------------------------------------------
    def scoring_accounts(self, ids: Collection[int] | None = None) -> list[AccountFacts]:
        a = t.accounts.c
        q = sa.select(a.id, a.external_id, a.industry, a.employees)
        if ids is None:
            return [AccountFacts(*r) for r in self.conn.execute(q.order_by(a.id))]
        out: list[AccountFacts] = []
        for chunk in _chunks(ids):
            out += [AccountFacts(*r) for r in self.conn.execute(q.where(a.id.in_(chunk)))]
        return out

    def account_signals(self, account_id: int, until: datetime) -> list[SignalFact]:
        s = t.signals.c
        q = sa.select(s.account_id, s.type, s.occurred_at, s.value).where(
            s.account_id == account_id, s.superseded.is_(False), s.occurred_at <= until
        )
        return [
            SignalFact(r.account_id, r.type, as_utc(r.occurred_at), float(r.value))
            for r in self.conn.execute(q.order_by(s.occurred_at, s.id))
        ]

    def signal_columns(self, until: datetime) -> SignalColumns:
        s = t.signals.c
        q = sa.select(s.account_id, s.type, s.occurred_at, s.value).where(
            s.account_id.is_not(None), s.superseded.is_(False), s.occurred_at <= until
        )
        ids: list[int] = []
        types: list[str] = []
        micros: list[int] = []
        values: list[float] = []
        result = self.conn.execution_options(yield_per=_FETCH).execute(q)
        for rows in result.partitions():
            for acc, typ, ts, val in rows:
                ids.append(acc)
                types.append(typ)
                micros.append(round(epoch_seconds(as_utc(ts)) * 1e6))
                values.append(val)
        return SignalColumns(
            np.asarray(ids, dtype=np.int64),
            types,
            np.asarray(micros, dtype=np.int64),
            np.asarray(values, dtype=np.float64),
        )

    # --- decayed state ------------------------------------------------------------------
    def account_states(self, account_ids: Collection[int]) -> dict[int, dict[str, Decayed]]:
        st = t.account_state.c
        out: dict[int, dict[str, Decayed]] = {}
        for chunk in _chunks(account_ids):
            q = sa.select(st.account_id, st.type, st.intensity, st.as_of).where(
                st.account_id.in_(chunk)
            )
            for acc, typ, intensity, as_of in self.conn.execute(q):
                out.setdefault(acc, {})[typ] = Decayed(intensity, epoch_seconds(as_utc(as_of)))
        return out

    def save_account_states(self, states: Mapping[int, Mapping[str, Decayed]]) -> None:
        rows = [
            {"account_id": acc, "type": typ, "intensity": d.intensity,
             "as_of": from_epoch_seconds(d.as_of)}
            for acc, by_type in states.items()
            for typ, d in by_type.items()
        ]  # fmt: skip
        if not rows:
            return
        dialect: Any = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(t.account_state)
        stmt = stmt.on_conflict_do_update(
            index_elements=["account_id", "type"],
            set_={"intensity": stmt.excluded.intensity, "as_of": stmt.excluded.as_of},
        )
        self.conn.execute(stmt, rows)

    # --- scores and triggers ------------------------------------------------------------
    def latest_scores(self, account_ids: Collection[int] | None = None) -> dict[int, ScoreRecord]:
        sc = t.scores.c
        newest = sa.select(sa.func.max(sc.id)).group_by(sc.account_id)
        if account_ids is None:
            q = sa.select(t.scores).where(sc.id.in_(newest.scalar_subquery()))
            return {r.account_id: _score(r._mapping) for r in self.conn.execute(q)}
        out: dict[int, ScoreRecord] = {}
        for chunk in _chunks(account_ids):
            ids = newest.where(sc.account_id.in_(chunk)).scalar_subquery()
            for r in self.conn.execute(sa.select(t.scores).where(sc.id.in_(ids))):
                out[r.account_id] = _score(r._mapping)
        return out

    def score_history(self, account_id: int, limit: int = 20) -> list[ScoreRecord]:
        sc = t.scores.c
        q = sa.select(t.scores).where(sc.account_id == account_id)
        q = q.order_by(sc.as_of.desc(), sc.id.desc()).limit(limit)
        return [_score(r._mapping) for r in self.conn.execute(q)]

    def append_scores(self, records: Sequence[ScoreRecord]) -> None:
        if records:
            self.conn.execute(sa.insert(t.scores), [_score_row(r) for r in records])

    def append_score_events(self, events: Sequence[ScoreEvent]) -> None:
        rows = [
            {"account_id": e.account_id, "at": e.at, "kind": e.kind, "score": e.score,
             "policy_version": e.policy_version, "consumed_at": e.consumed_at}
            for e in events
        ]  # fmt: skip
        if rows:
            self.conn.execute(sa.insert(t.score_events), rows)

    def score_events(self, after_id: int = 0, unconsumed: bool = False) -> list[ScoreEvent]:
        ev = t.score_events.c
        q = sa.select(t.score_events).where(ev.id > after_id)
        if unconsumed:
            q = q.where(ev.consumed_at.is_(None))
        return [_event(r._mapping) for r in self.conn.execute(q.order_by(ev.id))]

    def consume_score_events(self, ids: Collection[int], at: datetime) -> None:
        ev = t.score_events.c
        for chunk in _chunks(ids):
            q = sa.update(t.score_events).where(ev.id.in_(chunk), ev.consumed_at.is_(None))
            self.conn.execute(q.values(consumed_at=at))

    # --- segment economics --------------------------------------------------------------
    def won_deals(self, won_stages: Collection[str]) -> list[WonDeal]:
        o, a = t.opportunities.c, t.accounts.c
        q = (
            sa.select(a.employees, a.industry, o.amount, o.created_date, o.close_date)
            .join_from(t.opportunities, t.accounts, o.account_id == a.id)
            .where(o.stage.in_(list(won_stages)))
        )
        out: list[WonDeal] = []
        for employees, industry, amount, created, closed in self.conn.execute(q):
            cycle = (closed - created).days if created and closed else None
            out.append(WonDeal(segment_of(employees, industry), amount, cycle))
        return out

    def latest_economics(self) -> Economics | None:
        se = t.segment_economics.c
        version = self.conn.execute(sa.select(sa.func.max(se.version))).scalar()
        if version is None:
            return None
        rows = self.conn.execute(sa.select(t.segment_economics).where(se.version == version))
        return _economics(version, [r._mapping for r in rows])

    def add_economics(self, economics: Economics) -> int:
        se = t.segment_economics.c
        latest = self.conn.execute(sa.select(sa.func.max(se.version))).scalar()
        version = int(latest or 0) + 1
        at = economics.computed_at
        segments = {ALL_SEGMENTS: economics.overall} | economics.segments
        rows = [
            {"version": version, "segment": seg, "value_deals": s.value_deals,
             "mean_value": s.mean_value, "cycle_deals": s.cycle_deals,
             "mean_cycle_days": s.mean_cycle_days, "blended_hourly": economics.blended_hourly,
             "computed_at": at}
            for seg, s in segments.items()
        ]  # fmt: skip
        self.conn.execute(sa.insert(t.segment_economics), rows)
        return version


def _score_row(r: ScoreRecord) -> dict[str, Any]:
    return {f: getattr(r, f) for f in _SCORE_FIELDS}


def _score(r: RowMapping) -> ScoreRecord:
    values = {f: r[f] for f in _SCORE_FIELDS}
    return ScoreRecord(**(values | {"as_of": as_utc(r["as_of"])}))


def _event(r: RowMapping) -> ScoreEvent:
    consumed = r["consumed_at"]
    return ScoreEvent(
        account_id=r["account_id"],
        at=as_utc(r["at"]),
        kind=r["kind"],
        score=r["score"],
        policy_version=r["policy_version"],
        id=r["id"],
        consumed_at=as_utc(consumed) if consumed else None,
    )


def _economics(version: int, rows: list[RowMapping]) -> Economics:
    stats = {
        r["segment"]: SegmentStats(
            r["value_deals"], r["mean_value"], r["cycle_deals"], r["mean_cycle_days"]
        )
        for r in rows
    }
    first = rows[0]
    return Economics(
        version=version,
        overall=stats.pop(ALL_SEGMENTS, SegmentStats()),
        segments=stats,
        blended_hourly=first["blended_hourly"],
        computed_at=as_utc(first["computed_at"]),
    )
