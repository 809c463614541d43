"""SQL implementation of `ScoresPort` and `EconomicsPort`.

Decayed state is upserted (one row per account and signal type); scores, routing
triggers and economics snapshots are appended.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.sql_driver import CHUNK, ECONOMICS_VERSIONS, Driver, lock_next_number
from dtem.domain.clock import as_utc
from dtem.domain.model import segment_of
from dtem.domain.score_records import AccountFacts, ScoreEvent, ScoreRecord, SignalColumns
from dtem.domain.scoring import Decayed, decayed, epoch_seconds, from_epoch_seconds
from dtem.domain.segments import ALL_SEGMENTS, Economics, SegmentStats, WonDeal
from dtem.domain.store_training import SignalFact

_CHUNK = 500  # ids per IN (...): under SQLite's bound-parameter limit
_SCORE_FIELDS = tuple(f.name for f in fields(ScoreRecord))
_COLS = ", ".join(_SCORE_FIELDS)
_FACTS = "SELECT id, external_id, industry, employees FROM accounts WHERE id IN ({ids})"
_STATES = "SELECT account_id, type, intensity, as_of FROM account_state WHERE account_id IN ({ids})"
_STATE_COLUMNS = (("account_id", "int8"), ("type", "text"), ("intensity", "float8"),
                  ("as_of", "timestamptz"))  # fmt: skip
_LOCK_ACCOUNTS = "SELECT id FROM accounts WHERE id = ANY(?) ORDER BY id FOR NO KEY UPDATE"
_UPSERT_STATE = (
    "ON CONFLICT (account_id, type) DO UPDATE "
    "SET intensity = excluded.intensity, as_of = excluded.as_of"
)
# Each account's newest row, found by one index probe an account (max(id) on
# ix_scores_account_id) whatever the length of its history; a GROUP BY over the history
# read every past score of the account.
_LATEST_SCORES_SQLITE = (
    f"SELECT {_COLS} FROM scores WHERE id IN (SELECT (SELECT max(s.id) FROM scores s "
    "WHERE s.account_id = v.column1) FROM (VALUES {ids}) v)"
)
_LATEST_SCORES_PG = (
    f"SELECT {_COLS} FROM scores WHERE id IN (SELECT (SELECT max(s.id) FROM scores s "
    "WHERE s.account_id = a) FROM unnest(%b::int8[]) a)"
)
_SCORE_COLUMNS = (("account_id", "int8"), ("as_of", "timestamptz"), ("score", "float8"),
                  ("equity", "float8"), ("propensity", "float8"), ("velocity", "float8"),
                  ("cost", "float8"), ("policy_version", "int8"), ("method", "text"),
                  ("economics_version", "int8"))  # fmt: skip
_EVENT_COLUMNS = (("account_id", "int8"), ("at", "timestamptz"), ("kind", "text"),
                  ("score", "float8"), ("policy_version", "int8"),
                  ("consumed_at", "timestamptz"))  # fmt: skip
_EVENT_IDS = "RETURNING id, account_id, kind"
_RETURNING_ROWS = 5_000  # rows per INSERT ... RETURNING: SQLite's VALUES list stays bounded
_ECO_COLUMNS = ("version", "segment", "value_deals", "mean_value", "cycle_deals",
                "mean_cycle_days", "blended_hourly", "computed_at")  # fmt: skip
_LATEST_ECONOMICS = (
    f"SELECT {', '.join(_ECO_COLUMNS)} FROM segment_economics "
    "WHERE version = (SELECT max(version) FROM segment_economics)"
)
_FETCH = 50_000  # rows per fetch when streaming signals
_SIGNAL_COLUMNS = (
    "SELECT account_id, type, {micros}, value FROM signals"
    " WHERE account_id IS NOT NULL AND superseded = ? AND occurred_at <= ?"
)
_PG_MICROS = "(extract(epoch FROM occurred_at) * 1000000)::int8"  # numeric: exact


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
        rows = Driver(self.conn).rows_in(_FACTS, list(ids))
        return [AccountFacts(*r) for r in rows]

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
        # Columns straight from the driver, no Python object per row: PostgreSQL COPYs
        # CSV (times as µs since 1970) that Arrow parses; SQLite's rows are zipped into
        # numpy arrays, its stored time text parsed by numpy.
        d = Driver(self.conn)
        if not d.sqlite:
            return _copied_signal_columns(d.cursor, until)
        d.cursor.execute(_SIGNAL_COLUMNS.format(micros="occurred_at"), (False, d.ts(until)))
        ids: list[Any] = []
        types: list[str] = []
        times: list[Any] = []
        values: list[Any] = []
        while rows := d.cursor.fetchmany(_FETCH):
            acc, typ, ts, val = zip(*rows, strict=True)
            ids.append(np.array(acc, dtype=np.int64))
            types.extend(typ)
            times.append(np.array(ts, dtype="datetime64[us]").astype(np.int64))
            values.append(np.array(val, dtype=np.float64))
        return SignalColumns(
            _joined(ids, np.int64), types, _joined(times, np.int64), _joined(values, np.float64)
        )

    # --- decayed state (hot path: raw DB-API, see sql_driver.py) ------------------------
    def account_states(self, account_ids: Collection[int]) -> dict[int, dict[str, Decayed]]:
        d = Driver(self.conn)
        out: dict[int, dict[str, Decayed]] = {}
        seconds: dict[Any, float] = {}  # a group saves its states at a few times: parse each once
        for acc, typ, intensity, as_of in d.rows_in(_STATES, list(account_ids)):
            if (at := seconds.get(as_of)) is None:
                at = seconds[as_of] = epoch_seconds(d.read_ts(as_of))
            out.setdefault(acc, {})[typ] = decayed(intensity, at)
        return out

    def lock_account_states(self, account_ids: Collection[int]) -> None:
        # FOR NO KEY UPDATE: does not block the foreign-key checks of signal inserts.
        # SQLite: BEGIN IMMEDIATE already made this transaction the only writer.
        d = Driver(self.conn)
        if account_ids and not d.sqlite:
            d.rows(_LOCK_ACCOUNTS, (sorted(account_ids),))

    def save_account_states(self, states: Mapping[int, Mapping[str, Decayed]]) -> None:
        d = Driver(self.conn)
        stored: dict[float, Any] = {}  # each distinct time formatted once

        def at(seconds: float) -> Any:
            if (text := stored.get(seconds)) is None:
                text = stored[seconds] = d.ts(from_epoch_seconds(seconds))
            return text

        rows = sorted(  # one order for every writer: upserts never wait on each other in a cycle
            (acc, typ, s[0], at(s[1]))
            for acc, by_type in states.items()
            for typ, s in by_type.items()
        )
        d.insert("account_state", _STATE_COLUMNS, rows, _UPSERT_STATE)

    # --- scores and triggers ------------------------------------------------------------
    def latest_scores(self, account_ids: Collection[int] | None = None) -> dict[int, ScoreRecord]:
        if account_ids is None:
            sc = t.scores.c
            newest = sa.select(sa.func.max(sc.id)).group_by(sc.account_id)
            q = sa.select(t.scores).where(sc.id.in_(newest.scalar_subquery()))
            return {r.account_id: _score(r._mapping) for r in self.conn.execute(q)}
        d = Driver(self.conn)
        times: dict[Any, datetime] = {}  # the scores of one unit of work share their time

        def at(value: Any) -> datetime:
            if (read := times.get(value)) is None:
                read = times[value] = d.read_ts(value)
            return read

        return {
            r[0]: ScoreRecord(r[0], at(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9])
            for r in _latest_rows(d, sorted(set(account_ids)))
        }

    def score_history(self, account_id: int, limit: int = 20) -> list[ScoreRecord]:
        sc = t.scores.c
        q = sa.select(t.scores).where(sc.account_id == account_id)
        q = q.order_by(sc.as_of.desc(), sc.id.desc()).limit(limit)
        return [_score(r._mapping) for r in self.conn.execute(q)]

    def append_scores(self, records: Sequence[ScoreRecord]) -> None:
        d = Driver(self.conn)
        stamps = {at: d.ts(at) for at in {r.as_of for r in records}}  # a batch has one
        rows = [
            (r.account_id, stamps[r.as_of], r.score, r.equity, r.propensity, r.velocity, r.cost,
             r.policy_version, r.method, r.economics_version)
            for r in records
        ]  # fmt: skip
        d.insert("scores", _SCORE_COLUMNS, rows)

    def append_score_events(self, events: Sequence[ScoreEvent]) -> list[ScoreEvent]:
        d = Driver(self.conn)
        rows = [
            (e.account_id, d.ts(e.at), e.kind, e.score, e.policy_version, d.ts(e.consumed_at))
            for e in events
        ]
        ids: dict[tuple[int, str], list[int]] = {}  # RETURNING promises no order: match keys
        for i in range(0, len(rows), _RETURNING_ROWS):
            chunk = rows[i : i + _RETURNING_ROWS]
            for row_id, acc, kind in d.insert("score_events", _EVENT_COLUMNS, chunk, _EVENT_IDS):
                ids.setdefault((acc, kind), []).append(row_id)
        for found in ids.values():
            found.sort(reverse=True)  # ids grow with insert order: pop the smallest first
        return [replace(e, id=ids[e.account_id, e.kind].pop()) for e in events]

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
        d = Driver(self.conn)  # one statement: this runs once per ingested delivery
        rows = [dict(zip(_ECO_COLUMNS, r, strict=True)) for r in d.rows(_LATEST_ECONOMICS)]
        if not rows:
            return None
        rows[0]["computed_at"] = d.read_ts(rows[0]["computed_at"])
        return _economics(rows[0]["version"], rows)

    def add_economics(self, economics: Economics) -> int:
        se = t.segment_economics.c
        lock_next_number(self.conn, ECONOMICS_VERSIONS)
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


def _economics(version: int, rows: Sequence[Mapping[str, Any]]) -> Economics:
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


def _joined(parts: list[Any], dtype: Any) -> Any:
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def _copied_signal_columns(cursor: Any, until: datetime) -> SignalColumns:
    """PostgreSQL: the signal columns as COPY CSV, parsed by Arrow into numpy."""
    query = _SIGNAL_COLUMNS.format(micros=_PG_MICROS).replace("?", "%s")
    out = io.BytesIO()
    with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)", (False, until)) as copy:
        for block in copy:
            out.write(block)
    if not out.tell():
        return SignalColumns(np.empty(0, np.int64), [], np.empty(0, np.int64), np.empty(0))
    names = ["account_id", "type", "occurred_us", "value"]
    types = [pa.int64(), pa.string(), pa.int64(), pa.float64()]
    table = pa_csv.read_csv(
        pa.py_buffer(out.getbuffer()),
        read_options=pa_csv.ReadOptions(column_names=names),
        convert_options=pa_csv.ConvertOptions(column_types=dict(zip(names, types, strict=True))),
    )
    return SignalColumns(
        table.column("account_id").to_numpy(),
        table.column("type").to_pylist(),
        table.column("occurred_us").to_numpy(),
        table.column("value").to_numpy(),
    )


def _latest_rows(d: Driver, ids: list[int]) -> Iterator[Any]:
    if not d.sqlite:
        d.cursor.execute(_LATEST_SCORES_PG, (ids,))
        yield from d.cursor.fetchall()
        return
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        yield from d.rows(_LATEST_SCORES_SQLITE.format(ids=",".join(["(?)"] * len(chunk))), chunk)
