"""Account tiers on SQLite and PostgreSQL (`AccountTiersPort`): one row per account."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from dtem.adapters.ledger import tables as t
from dtem.domain.clock import as_utc
from dtem.domain.errors import NotFound
from dtem.domain.model import Tier
from dtem.domain.tiers import AccountTier, TierOverride

_T = t.account_tiers.c
_CHUNK = 500
_COMPUTED = ("tier", "reason", "policy_version", "computed_at")


class TiersSql:
    """Mixed into `SqlTx`."""

    conn: Connection

    def account_tiers(self, account_ids: Collection[int] | None = None) -> dict[int, AccountTier]:
        q = sa.select(t.account_tiers)
        if account_ids is None:
            return {r["account_id"]: tier_from_row(r) for r in self.conn.execute(q).mappings()}
        out: dict[int, AccountTier] = {}
        for chunk in _chunks(sorted(set(account_ids))):
            rows = self.conn.execute(q.where(_T.account_id.in_(chunk))).mappings()
            out |= {r["account_id"]: tier_from_row(r) for r in rows}
        return out

    def put_account_tiers(self, tiers: Sequence[AccountTier]) -> None:
        if not tiers:
            return
        insert = _insert(self.conn)(t.account_tiers)
        stmt = insert.on_conflict_do_update(
            index_elements=["account_id"],
            set_={c: getattr(insert.excluded, c) for c in _COMPUTED},
        )
        rows = [
            {
                "account_id": x.account_id,
                "tier": int(x.tier),
                "reason": x.reason[:512],
                "policy_version": x.policy_version,
                "computed_at": x.computed_at,
            }
            for x in tiers
        ]
        for chunk in _chunks(rows):
            self.conn.execute(stmt, chunk)

    def set_tier_override(self, account_id: int, override: TierOverride | None) -> None:
        values: dict[str, Any] = {
            "override_tier": None if override is None else int(override.tier),
            "override_by": None if override is None else override.by,
            "override_at": None if override is None else override.at,
            "override_note": None if override is None else override.note[:512],
        }
        done = self.conn.execute(
            sa.update(t.account_tiers).where(_T.account_id == account_id).values(**values)
        )
        if done.rowcount == 0:
            raise NotFound(f"account id {account_id} has no stored tier")

    def set_do_not_contact(self, account_id: int, on: bool, at: datetime) -> None:
        a = t.accounts.c
        done = self.conn.execute(
            sa.update(t.accounts).where(a.id == account_id).values(do_not_contact=on, updated_at=at)
        )
        if done.rowcount == 0:
            raise NotFound(f"account id {account_id} does not exist")


def tier_from_row(r: Mapping[Any, Any]) -> AccountTier:
    override = None
    if r["override_tier"] is not None:
        override = TierOverride(
            Tier(r["override_tier"]), r["override_by"], as_utc(r["override_at"]),
            r["override_note"] or "",
        )  # fmt: skip
    return AccountTier(
        r["account_id"], Tier(r["tier"]), r["reason"], r["policy_version"],
        as_utc(r["computed_at"]), override,
    )  # fmt: skip


def _insert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
