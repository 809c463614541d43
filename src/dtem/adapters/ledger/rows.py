"""Row ↔ entity helpers shared by the SQL store mixins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from dtem.domain.clock import as_utc
from dtem.domain.model import Account, Lease, LeaseState, Tier

ACCOUNT_FIELDS = (
    "external_id",
    "name",
    "domain",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "region",
    "do_not_contact",
    "static_owner",
    "potential_value",
)  # the columns of `accounts` that map one to one onto `Account` (tier is an enum)


def account_row(a: Account) -> dict[str, Any]:
    """The column values of an account (without id and timestamps)."""
    return {f: getattr(a, f) for f in ACCOUNT_FIELDS} | {"tier": int(a.tier)}


def account_from_row(r: RowMapping) -> Account:
    return Account(**{f: r[f] for f in ACCOUNT_FIELDS}, tier=Tier(r["tier"]), id=r["id"])


def lease_from_row(r: Mapping[Any, Any]) -> Lease:
    return Lease(
        id=r["id"],
        account_id=r["account_id"],
        rep_id=r["rep_id"],
        state=LeaseState(r["state"]),
        granted_at=as_utc(r["granted_at"]),
        expires_at=as_utc(r["expires_at"]),
        score_at_grant=r["score_at_grant"],
        policy_version=r["policy_version"],
        ended_at=as_utc(r["ended_at"]) if r["ended_at"] else None,
        reason=r["reason"],
        version=r["version"],
    )


def lower_text(conn: Connection, expr: Any) -> Any:
    """`lower(expr)` folding all of Unicode on both databases (SQLite's own lower() folds
    ASCII only; the engine registers a Unicode one, `engine.UNICODE_LOWER`)."""
    if conn.dialect.name == "sqlite":
        return sa.func.dtem_lower(expr)
    return sa.func.lower(expr)
