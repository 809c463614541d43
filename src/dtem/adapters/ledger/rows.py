"""Row ↔ entity helpers shared by the SQL store mixins."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import RowMapping

from dtem.domain.model import Account, Tier

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
