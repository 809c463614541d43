"""Agent claims on SQLite and PostgreSQL (`AgentClaimsPort`).

The partial unique index `uq_agent_claims_one_open_per_account` decides a race: the
insert does nothing on conflict (PostgreSQL first waits for the other writer to commit),
so a losing agent simply does not get that account.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from dtem.adapters.ledger import tables as t
from dtem.domain.clock import as_utc
from dtem.domain.model import Activity
from dtem.domain.nurture import AgentClaim

_C = t.agent_claims.c
_INSERT_CLAIM = {
    dialect: insert(t.agent_claims)
    .on_conflict_do_nothing(index_elements=["account_id"], index_where=_C.released_at.is_(None))
    .returning(_C.id)
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


class AgentsSql:
    """Mixed into `SqlTx`."""

    conn: Connection

    def add_claim(
        self, account_id: int, agent: str, at: datetime, expires_at: datetime, policy_version: int
    ) -> AgentClaim | None:
        values = {"account_id": account_id, "agent": agent, "claimed_at": at}
        values |= {"expires_at": expires_at, "reason": "", "policy_version": policy_version}
        claim_id = self.conn.execute(_INSERT_CLAIM[self.conn.dialect.name], values).scalar()
        if claim_id is None:
            return None
        at, expires_at = as_utc(at), as_utc(expires_at)
        return AgentClaim(claim_id, account_id, agent, at, expires_at, policy_version)

    def lapse_claims(self, at: datetime) -> int:
        stmt = (
            sa.update(t.agent_claims)
            .where(_C.released_at.is_(None), _C.expires_at <= at)
            .values(released_at=_C.expires_at, reason="lapsed")
        )
        return int(self.conn.execute(stmt).rowcount)

    def release_claim(self, claim_id: int, at: datetime, reason: str) -> None:
        stmt = (
            sa.update(t.agent_claims)
            .where(_C.id == claim_id, _C.released_at.is_(None))
            .values(released_at=at, reason=reason)
        )
        self.conn.execute(stmt)

    def active_claim(self, account_id: int, at: datetime) -> AgentClaim | None:
        q = sa.select(t.agent_claims).where(
            _C.account_id == account_id, _C.released_at.is_(None), _C.expires_at > at
        )
        row = self.conn.execute(q).mappings().first()
        return _claim(row) if row else None

    def claimed_account_ids(self, at: datetime) -> set[int]:
        q = sa.select(_C.account_id).where(_C.released_at.is_(None), _C.expires_at > at)
        return set(self.conn.execute(q).scalars())

    def agent_touch_counts(self, account_ids: Collection[int], since: datetime) -> dict[int, int]:
        a = t.activities.c
        q = (
            sa.select(a.account_id, sa.func.count())
            .where(a.actor_kind == "agent", a.occurred_at >= since)
            .group_by(a.account_id)
        )
        wanted = set(account_ids)
        return {int(k): int(n) for k, n in self.conn.execute(q) if k in wanted}

    def agent_touches(self, since: datetime, until: datetime) -> list[Activity]:
        a, acc = t.activities.c, t.accounts.c
        q = (
            sa.select(
                a.external_id,
                acc.external_id.label("account"),
                a.kind,
                a.occurred_at,
                a.actor_kind,
                a.actor_id,
                a.id,
            )
            .join(t.accounts, acc.id == a.account_id)
            .where(a.actor_kind == "agent", a.occurred_at >= since, a.occurred_at < until)
            .order_by(a.occurred_at, a.id)
        )
        return [
            Activity(
                r.external_id,
                r.account,
                r.kind,
                as_utc(r.occurred_at),
                r.actor_kind,
                r.actor_id,
                r.id,
            )
            for r in self.conn.execute(q)
        ]


def _claim(r: Any) -> AgentClaim:
    released = r["released_at"]
    return AgentClaim(
        r["id"],
        r["account_id"],
        r["agent"],
        as_utc(r["claimed_at"]),
        as_utc(r["expires_at"]),
        r["policy_version"],
        as_utc(released) if released else None,
        r["reason"],
    )
