"""SQL implementation of `CompStore`: comp plans, commission lines, closed periods.

Decimals are written as exact integers (cents, millionths, hundredths) and read back as
`Decimal`s with the same number of places, so SQLite and PostgreSQL return exactly what
was written (tests/contract/test_comp_store_contract.py proves it on every backend).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, RowMapping

from dtem.adapters.ledger import tables as t
from dtem.domain.clock import as_utc
from dtem.domain.errors import NotFound
from dtem.domain.store_comp import (
    ClosedPeriod,
    CommissionConflict,
    CommissionLine,
    LineFilter,
    PeriodLocked,
    PlanRow,
)

_CHUNK = 500
# pg_advisory_xact_lock's first key for comp periods ('comp'); the second is YYYYMM.
_PERIOD_LOCK_SPACE = 0x636F6D70
_SCALED = {"score_at_grant": 2, "rate": 6, "amount": 2, "commission": 2}
_COLUMN = {
    "score_at_grant": "score_hundredths",
    "rate": "rate_millionths",
    "amount": "amount_cents",
    "commission": "commission_cents",
}


def to_scaled_int(value: Decimal, places: int) -> int:
    """`Decimal('12.34')`, 2 → 1234. A value with more places is refused, never rounded."""
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {places} decimal places")
    return int(scaled)


def from_scaled_int(value: int, places: int) -> Decimal:
    """1234, 2 → `Decimal('12.34')` (always exactly `places` decimal places)."""
    return Decimal(int(value)).scaleb(-places)


class CompSql:
    """Mixed into `SqlTx`; `self.conn` is the transaction's connection."""

    conn: Connection

    # --- plans ----------------------------------------------------------------------------
    def add_comp_plan(
        self, document: dict[str, Any], effective_from: date, at: datetime, actor: str, note: str
    ) -> int | None:
        values = {
            "effective_from": effective_from,
            "document": document,
            "created_at": at,
            "created_by": actor,
            "note": note,
        }
        stmt = (
            _insert(self.conn)(t.comp_plans)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["effective_from"])
            .returning(t.comp_plans.c.version)
        )
        version = self.conn.execute(stmt).scalar()
        return None if version is None else int(version)

    def comp_plans(self) -> list[PlanRow]:
        rows = self.conn.execute(sa.select(t.comp_plans).order_by("version")).mappings()
        return [
            PlanRow(
                r["version"],
                dict(r["document"]),
                as_utc(r["created_at"]),
                r["created_by"],
                r["note"],
            )
            for r in rows
        ]

    # --- lines ----------------------------------------------------------------------------
    def add_commission_line(self, line: CommissionLine) -> CommissionLine:
        o = t.opportunities.c
        opp_id = self.conn.execute(
            sa.select(o.id).where(o.external_id == line.opportunity)
        ).scalar()
        if opp_id is None:
            raise NotFound(f"opportunity {line.opportunity!r} does not exist")
        self._lock_period(line.period, exclusive=False)
        if self._is_closed(line.period):
            raise PeriodLocked(line.period)
        values = _line_row(line) | {"opportunity_id": opp_id}
        stmt = (
            _insert(self.conn)(t.comp_lines)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["opportunity_id", "seq"])
            .returning(t.comp_lines.c.id)
        )
        line_id = self.conn.execute(stmt).scalar()
        if line_id is None:
            raise CommissionConflict(
                f"opportunity {line.opportunity!r} already has commission line {line.seq}"
            )
        return replace(line, id=int(line_id))

    def commission_lines(self, where: LineFilter) -> list[CommissionLine]:
        c, o = t.comp_lines.c, t.opportunities.c
        q = sa.select(t.comp_lines, o.external_id.label("opportunity")).join(
            t.opportunities, o.id == c.opportunity_id
        )
        if where.rep_id is not None:
            q = q.where(c.rep_id == where.rep_id)
        if where.periods is not None:
            q = q.where(c.period.in_(sorted(where.periods)))
        if where.after_id is not None:
            q = q.where(c.id > where.after_id)
        q = q.order_by(c.id).limit(where.limit)
        if where.opportunities is None:
            return [_line(r) for r in self.conn.execute(q).mappings()]
        out: list[CommissionLine] = []
        for chunk in _chunks(sorted(set(where.opportunities))):
            out += [
                _line(r) for r in self.conn.execute(q.where(o.external_id.in_(chunk))).mappings()
            ]
        return sorted(out, key=lambda x: x.id or 0)[: where.limit]

    # --- periods --------------------------------------------------------------------------
    def close_comp_period(self, period: str, at: datetime, actor: str) -> bool:
        self._lock_period(period, exclusive=True)  # waits for lines being written in it
        stmt = (
            _insert(self.conn)(t.comp_periods)
            .values(period=period, closed_at=at, closed_by=actor)
            .on_conflict_do_nothing(index_elements=["period"])
            .returning(t.comp_periods.c.period)
        )
        return self.conn.execute(stmt).scalar() is not None

    def _lock_period(self, period: str, exclusive: bool) -> None:
        """PostgreSQL: a transaction-long advisory lock on the period, shared by line
        writers and exclusive for a close. SQLite's BEGIN IMMEDIATE already made this
        transaction the only writer."""
        if self.conn.dialect.name != "postgresql":
            return
        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        key = int(period.replace("-", ""))
        args = (sa.cast(_PERIOD_LOCK_SPACE, sa.Integer), sa.cast(key, sa.Integer))
        self.conn.execute(sa.select(getattr(sa.func, fn)(*args)))

    def _is_closed(self, period: str) -> bool:
        # a fresh statement: under READ COMMITTED it sees a close committed while we waited
        p = t.comp_periods.c
        return self.conn.execute(sa.select(p.period).where(p.period == period)).first() is not None

    def closed_comp_periods(self) -> dict[str, ClosedPeriod]:
        rows = self.conn.execute(sa.select(t.comp_periods).order_by("period")).mappings()
        return {
            r["period"]: ClosedPeriod(r["period"], as_utc(r["closed_at"]), r["closed_by"])
            for r in rows
        }


def _insert(conn: Connection) -> Any:
    """The dialect's INSERT (both have ON CONFLICT DO NOTHING … RETURNING)."""
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def _line_row(line: CommissionLine) -> dict[str, Any]:
    row: dict[str, Any] = {
        "seq": line.seq,
        "kind": line.kind,
        "rep_id": line.rep_id,
        "lease_id": line.lease_id,
        "period": line.period,
        "won_on": line.won_on,
        "plan_version": line.plan_version,
        "policy_version": line.policy_version,
        "posted_at": line.posted_at,
        "reason": line.reason,
    }
    for name, places in _SCALED.items():
        row[_COLUMN[name]] = to_scaled_int(getattr(line, name), places)
    return row


def _line(r: RowMapping) -> CommissionLine:
    scaled = {name: from_scaled_int(r[_COLUMN[name]], p) for name, p in _SCALED.items()}
    return CommissionLine(
        opportunity=r["opportunity"],
        rep_id=r["rep_id"],
        lease_id=r["lease_id"],
        seq=r["seq"],
        kind=r["kind"],
        period=r["period"],
        won_on=r["won_on"],
        plan_version=r["plan_version"],
        policy_version=r["policy_version"],
        posted_at=as_utc(r["posted_at"]),
        reason=r["reason"],
        id=r["id"],
        **scaled,
    )


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
