"""Row ↔ entity helpers shared by the SQL store mixins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from dtem.domain.clock import as_utc
from dtem.domain.model import Account, Lease, LeaseState, Rep, Tier
from dtem.domain.ports.governance import TokenRecord

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


REP_FIELDS = (
    "external_id",
    "name",
    "email",
    "pod",
    "capacity",
    "hourly_cost",
    "active",
    "crm_user_id",
    "manager",
    "team",
    "region",
)


def rep_row(rep: Rep) -> dict[str, Any]:
    row = {f: getattr(rep, f) for f in REP_FIELDS}
    return row | {"segments": list(rep.segments), "languages": list(rep.languages)}


def rep_from_row(r: RowMapping) -> Rep:
    return Rep(
        **{f: r[f] for f in REP_FIELDS},
        segments=tuple(r["segments"]),
        languages=tuple(r["languages"]),
        id=r["id"],
    )


def token_from_row(r: RowMapping) -> TokenRecord:
    return TokenRecord(
        token_hash=r["token_hash"],
        role=r["role"],
        name=r["name"],
        created_at=as_utc(r["created_at"]),
        expires_at=as_utc(r["expires_at"]) if r["expires_at"] else None,
        revoked_at=as_utc(r["revoked_at"]) if r["revoked_at"] else None,
        subject=r["subject"],
        id=r["id"],
        last_used_at=as_utc(r["last_used_at"]) if r["last_used_at"] else None,
    )
