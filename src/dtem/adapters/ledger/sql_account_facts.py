"""What a routing decision reads about its account, in one statement.

The account (by id or external id) left-joined to its active lease, its latest score row,
its stored tier and its open overflow entry, and whether any webhook subscription is
active (none: the unit of work needs no read of the subscriptions). Built once at import
so SQLAlchemy's compiled cache serves it.

>>> # facts, subscribers = account_facts(conn, account_id=7)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.rows import account_from_row, lease_from_row
from dtem.adapters.ledger.sql_tiers import tier_from_row
from dtem.domain.clock import as_utc
from dtem.domain.store_market import AccountFacts, OverflowEntry, ScoreRow

_A, _L, _S = t.accounts, t.leases, t.scores
_T, _O, _W = t.account_tiers, t.overflow_queue, t.webhook_subscriptions
_PARTS = {"l": _L, "s": _S, "t": _T, "o": _O}
_LATEST_SCORE = (
    sa.select(_S.c.id)
    .where(_S.c.account_id == _A.c.id)
    .order_by(_S.c.as_of.desc(), _S.c.id.desc())
    .limit(1)
    .correlate(_A)
    .scalar_subquery()
)
_OPEN_OVERFLOW = (
    sa.select(_O.c.id)
    .where(_O.c.account_id == _A.c.id, _O.c.resolved_at.is_(None))
    .order_by(_O.c.id.desc())
    .limit(1)
    .correlate(_A)
    .scalar_subquery()
)
_SUBSCRIBERS = (
    sa.select(sa.func.count()).select_from(_W).where(_W.c.active.is_(True)).scalar_subquery()
)
_FACTS = sa.select(
    _A,
    *(c.label(f"{p}_{c.name}") for p, table in _PARTS.items() for c in table.c),
    _SUBSCRIBERS.label("subscribers"),
).select_from(
    _A.outerjoin(_L, sa.and_(_L.c.account_id == _A.c.id, _L.c.ended_at.is_(None)))
    .outerjoin(_S, _S.c.id == _LATEST_SCORE)
    .outerjoin(_T, _T.c.account_id == _A.c.id)
    .outerjoin(_O, _O.c.id == _OPEN_OVERFLOW)
)
_BY_ID = _FACTS.where(_A.c.id == sa.bindparam("key"))
_BY_EXTERNAL_ID = _FACTS.where(_A.c.external_id == sa.bindparam("key"))


def account_facts(
    conn: Connection, account_id: int | None, external_id: str | None
) -> tuple[AccountFacts | None, int]:
    """(the facts or None when there is no such account, active webhook subscriptions)."""
    if (account_id is None) == (external_id is None):
        raise ValueError("give exactly one of account_id and external_id")
    stmt, key = (_BY_ID, account_id) if account_id is not None else (_BY_EXTERNAL_ID, external_id)
    row = conn.execute(stmt, {"key": key}).mappings().first()
    if row is None:
        return None, 0
    part = {p: _part(row, p) for p in _PARTS}
    facts = AccountFacts(
        account_from_row(row),
        lease_from_row(part["l"]) if part["l"] else None,
        _score(part["s"]) if part["s"] else None,
        tier_from_row(part["t"]) if part["t"] else None,
        _overflow(part["o"]) if part["o"] else None,
    )
    return facts, int(row["subscribers"])


def _part(row: Any, prefix: str) -> dict[str, Any] | None:
    """The columns of one joined table, or None when the join found no row."""
    values = {c.name: row[f"{prefix}_{c.name}"] for c in _PARTS[prefix].c}
    key = "account_id" if prefix == "t" else "id"
    return values if values[key] is not None else None


def _score(r: dict[str, Any]) -> ScoreRow:
    return ScoreRow(
        r["account_id"], as_utc(r["as_of"]), r["score"], r["propensity"], r["velocity"],
        r["policy_version"],
    )  # fmt: skip


def _overflow(r: dict[str, Any]) -> OverflowEntry:
    resolved = as_utc(r["resolved_at"]) if r["resolved_at"] else None
    return OverflowEntry(
        r["id"], r["account_id"], as_utc(r["queued_at"]), r["reason"], resolved, r["resolution"]
    )
