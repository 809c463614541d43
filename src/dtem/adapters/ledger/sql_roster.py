"""The rep roster for routing in one statement, with the static part cached per process.

Routing compares an account with every rep on every decision. One statement returns each
rep's rules (identity, segments, languages, capacity, active) and what changes per call
(load, record in the segment, leave now, cooldown on this account, this quarter's award).
The rules part is the cache key: an unchanged roster maps to the same `RepRoster` with its
memoised segment/language masks, so nothing about reps is rebuilt until a rep changes —
whoever changed it (another process, a bulk load) — and a stale roster cannot be served.

>>> # roster, load = rep_market(conn, MarketQuery(7, "smb|retail", "2027Q1", now, since))
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from dtem.domain.clock import as_utc
from dtem.domain.leases import COOLING_STATES
from dtem.domain.roster import RepRoster, RosterLoad
from dtem.domain.store_market import MarketQuery

_COOLING = ", ".join(f"'{s.value}'" for s in COOLING_STATES)  # constants, not input
# Plain SQL on the DB-API cursor: it runs on every decision and SQLAlchemy's statement and
# row handling cost more than the query itself. Placeholders: at, at, account, since,
# segment, quarter.
_REP_MARKET = (
    "SELECT r.id, r.external_id, CAST(r.segments AS TEXT), CAST(r.languages AS TEXT),"
    " r.capacity, r.active,"
    " COALESCE(l.active_leases, 0), COALESCE(rr.wins, 0), COALESCE(rr.losses, 0),"
    " COALESCE(b.awarded, -1),"
    # Uncorrelated IN (...): evaluated once per statement, not once per rep.
    " r.id IN (SELECT u.rep_id FROM rep_unavailability u"
    "   WHERE u.starts_at <= ? AND u.ends_at > ?),"
    " r.id IN (SELECT c.rep_id FROM leases c WHERE c.account_id = ?"
    f"   AND c.state IN ({_COOLING}) AND c.ended_at >= ?)"
    " FROM reps r"
    " LEFT JOIN rep_loads l ON l.rep_id = r.id"
    " LEFT JOIN rep_records rr ON rr.rep_id = r.id AND rr.segment = ?"
    " LEFT JOIN capacity_bids b ON b.rep_id = r.id AND b.quarter = ?"
    "   AND b.awarded IS NOT NULL"
    " ORDER BY r.id"
)
_STATIC = 6  # leading columns that describe the rep itself (the cache key)
_ROSTERS: dict[tuple[tuple[Any, ...], ...], RepRoster] = {}
_MAX_ROSTERS = 16  # a process sees one ledger, a test run a few: bound the memory anyway


def rep_market(conn: Connection, query: MarketQuery) -> tuple[RepRoster, RosterLoad]:
    """Every rep by id with its rules (cached) and this decision's facts (fresh)."""
    rows = _fetch(conn, query)
    key = tuple(r[:_STATIC] for r in rows)
    roster = _ROSTERS.get(key)
    if roster is None:
        if len(_ROSTERS) >= _MAX_ROSTERS:
            _ROSTERS.clear()
        roster = _ROSTERS[key] = _roster(key)
    return roster, _load(rows)


def _fetch(conn: Connection, query: MarketQuery) -> list[tuple[Any, ...]]:
    """Run on the transaction's own DB-API connection (same transaction, same locks)."""
    at: datetime | str = query.at
    since: datetime | str = query.cooling_since
    sql = _REP_MARKET.replace("?", "%s")  # psycopg's placeholder
    if conn.dialect.name == "sqlite":
        sql, at, since = _REP_MARKET, sqlite_ts(query.at), sqlite_ts(query.cooling_since)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, (at, at, query.account_id, since, query.segment, query.quarter))
        return [tuple(r) for r in cursor.fetchall()]
    finally:
        cursor.close()


def sqlite_ts(at: datetime) -> str:
    """A datetime as SQLAlchemy stores `DateTime` on SQLite (UTC wall time, microseconds).

    >>> from datetime import UTC
    >>> sqlite_ts(datetime(2027, 3, 1, 9, tzinfo=UTC))
    '2027-03-01 09:00:00.000000'
    """
    return as_utc(at).strftime("%Y-%m-%d %H:%M:%S.%f")


def _roster(rows: tuple[tuple[Any, ...], ...]) -> RepRoster:
    cols = list(zip(*rows, strict=True)) if rows else [()] * _STATIC
    return RepRoster(
        np.array(cols[0], dtype=np.int64),
        tuple(cols[1]),
        np.array([bool(x) for x in cols[5]], dtype=np.bool_),
        np.array(cols[4], dtype=np.int64),
        tuple(_strings(x) for x in cols[2]),
        tuple(_strings(x) for x in cols[3]),
    )


def _load(rows: Sequence[tuple[Any, ...]]) -> RosterLoad:
    cols = list(zip(*rows, strict=True)) if rows else [()] * (_STATIC + 6)
    ints = [np.array(c, dtype=np.int64) for c in cols[_STATIC : _STATIC + 4]]
    flags = [np.array(c, dtype=np.bool_) for c in cols[_STATIC + 4 :]]
    return RosterLoad(ints[0], ints[1], ints[2], flags[0], flags[1], ints[3])


def _strings(value: str | None) -> tuple[str, ...]:
    return tuple(json.loads(value)) if value else ()
