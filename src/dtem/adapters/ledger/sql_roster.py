"""The rep roster for routing: what changes rarely cached by roster version, the rest fresh.

Routing compares an account with every rep on every decision. What describes the reps
(identity, segments, languages, capacity, active), their leave windows, their records in
a segment and a quarter's awards change rarely; each write to them through the ledger
bumps the one-row `roster_version` (`bump_roster_version`, in the writer's transaction).
A decision reads, in one statement, the version, every rep's load and the reps cooling
off on the account; the rest comes from the cache of that version, filled once per
version and process. A fill stores its rows only when the version it read with them is
the one it fills (a change committed meanwhile leaves the rows uncached), so another
process's change is seen by the very next decision, and a stale roster is never served.

>>> # roster, load = rep_market(conn, MarketQuery(7, "smb|retail", "2027Q1", now, since))
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from dtem.domain.clock import as_utc
from dtem.domain.leases import COOLING_STATES
from dtem.domain.roster import IntArray, RepRoster, RosterLoad
from dtem.domain.store_market import MarketQuery

_COOLING = ", ".join(f"'{s.value}'" for s in COOLING_STATES)  # constants, not input
# Plain SQL on the DB-API cursor: it runs on every decision and SQLAlchemy's statement and
# row handling cost more than the query itself. Kind 0: a rep's load; 1: a rep cooling off
# on the account; 2: the roster version and epoch; 3: a rep in a running pilot's pod.
# Placeholders: account, since.
_NOW = (
    "SELECT 0, l.rep_id, l.active_leases FROM rep_loads l"
    " UNION ALL SELECT 1, c.rep_id, 0 FROM leases c WHERE c.account_id = ?"
    f" AND c.state IN ({_COOLING}) AND c.ended_at >= ?"
    " UNION ALL SELECT 2, v.version, v.epoch FROM roster_version v WHERE v.id = 1"
    " UNION ALL SELECT 3, pr.rep_id, 0 FROM pilot_reps pr"
    " JOIN pilots p ON p.id = pr.pilot_id WHERE p.ended_at IS NULL"
)
_REPS = (
    "SELECT r.id, r.external_id, CAST(r.segments AS TEXT), CAST(r.languages AS TEXT),"
    " r.capacity, r.active, v.version, v.epoch FROM reps r"
    " LEFT JOIN roster_version v ON v.id = 1 ORDER BY r.id"
)
_WINDOWS = (
    "SELECT u.rep_id, u.starts_at, u.ends_at, v.version FROM rep_unavailability u"
    " LEFT JOIN roster_version v ON v.id = 1"
)
_RECORDS = (
    "SELECT rr.rep_id, rr.wins, rr.losses, v.version FROM rep_records rr"
    " LEFT JOIN roster_version v ON v.id = 1 WHERE rr.segment = ?"
)
_AWARDS = (
    "SELECT b.rep_id, b.awarded, v.version FROM capacity_bids b"
    " LEFT JOIN roster_version v ON v.id = 1 WHERE b.quarter = ? AND b.awarded IS NOT NULL"
)
_BUMP = (  # the same upsert on SQLite and PostgreSQL
    "INSERT INTO roster_version (id, version, epoch) VALUES (1, 1, ?)"
    " ON CONFLICT (id) DO UPDATE SET version = roster_version.version + 1"
)
_CREATE = (
    "INSERT INTO roster_version (id, version, epoch) VALUES (1, 1, ?) ON CONFLICT (id) DO NOTHING"
)


@dataclass
class _Cached:
    """Everything cached for one (ledger, epoch, version); filled lazily by part."""

    epoch: int
    version: int
    roster: RepRoster
    windows: tuple[IntArray, IntArray, IntArray]  # rep index, starts, ends (µs since epoch)
    index: dict[int, int]  # rep id -> position in the roster
    records: dict[str, tuple[IntArray, IntArray]] = field(default_factory=dict)
    awards: dict[str, IntArray] = field(default_factory=dict)


_CACHE: dict[str, _Cached] = {}  # ledger (engine URL) -> the newest version seen


def bump_roster_version(conn: Connection) -> None:
    """Say that reps, leave, records, awards or pilots changed (in the writer's transaction)."""
    _run(conn, _BUMP, (secrets.randbits(62),))


def rep_market(
    conn: Connection, query: MarketQuery
) -> tuple[RepRoster, RosterLoad, frozenset[int]]:
    """Every rep by id with its rules and facts (cached by version), this decision's load
    and cooldowns, and the running pilot's pod (fresh)."""
    rows = _run(conn, _NOW, (query.account_id, _param(conn, query.cooling_since)))
    marks = [r for r in rows if r[0] == 2]
    if not marks:  # a ledger whose reps were never changed through it: make the row once
        _run(conn, _CREATE, (secrets.randbits(62),))
        return rep_market(conn, query)
    version, epoch = int(marks[0][1]), int(marks[0][2])
    cached = _cached(conn, version, epoch)
    roster = cached.roster
    n = len(roster.ids)
    loads, cooling = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.bool_)
    where = cached.index
    pod = frozenset(int(r[1]) for r in rows if r[0] == 3)
    for kind, rep_id, count in rows:
        i = where.get(rep_id)
        if i is None or kind >= 2:
            continue
        if kind == 0:
            loads[i] = count
        else:
            cooling[i] = True
    wins, losses = _records(conn, cached, query.segment)
    load = RosterLoad(
        loads, wins, losses, _on_leave(cached, query.at), cooling, _awards(conn, cached, query)
    )
    return roster, load, pod


def _cached(conn: Connection, version: int, epoch: int) -> _Cached:
    key = _ledger_key(conn)
    hit = _CACHE.get(key)
    if hit is not None and (hit.version, hit.epoch) == (version, epoch):
        return hit
    reps = _run(conn, _REPS, ())
    windows = _run(conn, _WINDOWS, ())
    roster = _roster([r[:6] for r in reps])
    index = {int(rep_id): i for i, rep_id in enumerate(roster.ids.tolist())}
    filled = _Cached(epoch, version, roster, _windows(roster, windows), index)
    read_with = {r[6] for r in reps} | {r[3] for r in windows}
    if read_with <= {version}:  # nothing committed between the version read and these
        _CACHE[key] = filled
    return filled


def _records(conn: Connection, cached: _Cached, segment: str) -> tuple[IntArray, IntArray]:
    hit = cached.records.get(segment)
    if hit is not None:
        return hit
    rows = _run(conn, _RECORDS, (segment,))
    out = (_aligned(cached, [(r[0], r[1]) for r in rows], 0),
           _aligned(cached, [(r[0], r[2]) for r in rows], 0))  # fmt: skip
    if {r[3] for r in rows} <= {cached.version}:
        cached.records[segment] = out
    return out


def _awards(conn: Connection, cached: _Cached, query: MarketQuery) -> IntArray:
    hit = cached.awards.get(query.quarter)
    if hit is not None:
        return hit
    rows = _run(conn, _AWARDS, (query.quarter,))
    awarded = _aligned(cached, [(r[0], r[1]) for r in rows], -1)
    if {r[2] for r in rows} <= {cached.version}:
        cached.awards[query.quarter] = awarded
    return awarded


def _aligned(cached: _Cached, pairs: list[tuple[int, int]], missing: int) -> IntArray:
    """Values by rep id laid out in roster order (`missing` where a rep has none)."""
    out = np.full(len(cached.roster.ids), missing, dtype=np.int64)
    for rep_id, value in pairs:
        i = cached.index.get(rep_id)
        if i is not None:
            out[i] = value
    return out


def _windows(roster: RepRoster, rows: list[tuple[Any, ...]]) -> tuple[IntArray, IntArray, IntArray]:
    index = np.searchsorted(roster.ids, np.array([r[0] for r in rows], dtype=np.int64))
    known = [i for i, r in enumerate(rows) if index[i] < len(roster.ids)]
    known = [i for i in known if roster.ids[index[i]] == rows[i][0]]
    return (
        index[known].astype(np.int64),
        np.array([_micros(rows[i][1]) for i in known], dtype=np.int64),
        np.array([_micros(rows[i][2]) for i in known], dtype=np.int64),
    )


def _on_leave(cached: _Cached, at: datetime) -> np.ndarray[Any, np.dtype[np.bool_]]:
    rep, starts, ends = cached.windows
    now = _micros(at)
    out = np.zeros(len(cached.roster.ids), dtype=np.bool_)
    out[rep[(starts <= now) & (ends > now)]] = True
    return out


def _micros(at: datetime | str) -> int:
    """Microseconds since 1970 UTC of a stored time (SQLite hands back text)."""
    when = datetime.fromisoformat(at).replace(tzinfo=UTC) if isinstance(at, str) else as_utc(at)
    return int(when.timestamp()) * 1_000_000 + when.microsecond


def _ledger_key(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=False)


def _param(conn: Connection, at: datetime) -> datetime | str:
    return sqlite_ts(at) if conn.dialect.name == "sqlite" else at


def _run(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Run on the transaction's own DB-API connection (same transaction, same locks)."""
    if conn.dialect.name != "sqlite":
        sql = sql.replace("?", "%s")  # psycopg's placeholder
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        return [tuple(r) for r in cursor.fetchall()] if cursor.description else []
    finally:
        cursor.close()


def sqlite_ts(at: datetime) -> str:
    """A datetime as SQLAlchemy stores `DateTime` on SQLite (UTC wall time, microseconds).

    >>> from datetime import UTC
    >>> sqlite_ts(datetime(2027, 3, 1, 9, tzinfo=UTC))
    '2027-03-01 09:00:00.000000'
    """
    return as_utc(at).strftime("%Y-%m-%d %H:%M:%S.%f")


def _roster(rows: list[tuple[Any, ...]]) -> RepRoster:
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    return RepRoster(
        np.array(cols[0], dtype=np.int64),
        tuple(cols[1]),
        np.array([bool(x) for x in cols[5]], dtype=np.bool_),
        np.array(cols[4], dtype=np.int64),
        tuple(_strings(x) for x in cols[2]),
        tuple(_strings(x) for x in cols[3]),
    )


def _strings(value: str | None) -> tuple[str, ...]:
    return tuple(json.loads(value)) if value else ()
