"""SQL implementation of `IdempotencyPort` (SQLite and PostgreSQL).

The key's primary key turns two claims racing into one winner: `INSERT … ON CONFLICT DO
NOTHING` inserts for one and nothing for the other (PostgreSQL makes the second wait for
the first's commit), which then reads the winner's claim.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from dtem.adapters.ledger import tables as t
from dtem.domain.clock import as_utc
from dtem.domain.ports.idempotency import IdempotentRequest

K = t.idempotency_keys


class IdempotencySql:
    """Mixed into `SqlTx`."""

    conn: Connection

    def claim_idempotency_key(
        self, request: IdempotentRequest, expired_before: datetime
    ) -> IdempotentRequest | None:
        mine = (K.c.principal == request.principal) & (K.c.key == request.key)
        self.conn.execute(sa.delete(K).where(mine, K.c.created_at < expired_before))
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        values = {
            "principal": request.principal,
            "key": request.key,
            "fingerprint": request.fingerprint,
            "created_at": request.created_at,
        }
        claimed = insert(K).values(values).on_conflict_do_nothing().returning(K.c.key)
        if self.conn.execute(claimed).first() is not None:
            return None
        row = self.conn.execute(sa.select(K).where(mine)).mappings().one()
        return IdempotentRequest(
            row["principal"], row["key"], row["fingerprint"], as_utc(row["created_at"]),
            row["status"], row["content_type"], bytes(row["body"] or b""),
        )  # fmt: skip

    def finish_idempotency_key(
        self, principal: str, key: str, status: int, content_type: str | None, body: bytes
    ) -> None:
        mine = (K.c.principal == principal) & (K.c.key == key)
        self.conn.execute(
            sa.update(K).where(mine).values(status=status, content_type=content_type, body=body)
        )

    def forget_idempotency_key(self, principal: str, key: str) -> None:
        self.conn.execute(sa.delete(K).where(K.c.principal == principal, K.c.key == key))
