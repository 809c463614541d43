"""SQL implementation of the audit part of the ledger port: the chain and its head.

Every append locks the one `audit_head` row, so concurrent writers on PostgreSQL take
turns at the end of the chain (SQLite's `BEGIN IMMEDIATE` already serialises writers),
then inserts the entry and moves the head in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from dtem.adapters.ledger import tables as t
from dtem.domain.audit import GENESIS, AuditEntry, AuditNote, ChainHead, new_entry
from dtem.domain.clock import as_utc
from dtem.domain.errors import AuditChainBroken

_HEAD = sa.select(t.audit_head.c.entries, t.audit_head.c.last_hash).where(t.audit_head.c.id == 1)
_LOCK_HEAD = _HEAD.with_for_update()
_MOVE_HEAD = sa.update(t.audit_head).where(t.audit_head.c.id == 1)
_INSERT_AUDIT = sa.insert(t.audit_log)
_ENTRY_COLUMNS = ("seq", "at", "actor", "action", "payload", "prev_hash", "hash")
# PostgreSQL: the entry and the head's move in one round trip (the head row is locked).
_APPEND_PG = (
    sa.update(t.audit_head)
    .where(t.audit_head.c.id == 1)
    .values(entries=sa.bindparam("seq"), last_hash=sa.bindparam("hash"))
    .add_cte(
        pg_insert(t.audit_log)
        .values({c: sa.bindparam(c, type_=t.audit_log.c[c].type) for c in _ENTRY_COLUMNS})
        .cte("appended")
    )
)
_GENESIS_HEAD = {
    dialect: insert(t.audit_head)
    .values(id=1, entries=0, last_hash=GENESIS)
    .on_conflict_do_nothing(index_elements=["id"])
    .returning(t.audit_head.c.id)
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


class AuditSql:
    """Mixed into `SqlTx`; `self.conn` is the transaction's connection."""

    conn: Connection

    def append_audit(
        self, actor: str, action: str, payload: dict[str, Any], at: datetime
    ) -> AuditEntry:
        head = self._locked_head()
        seq = head.entries + 1
        entry = new_entry(seq, as_utc(at).isoformat(), actor, action, payload, head.last_hash)
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(_APPEND_PG, asdict(entry))
            return entry
        self.conn.execute(_INSERT_AUDIT, asdict(entry))
        self.conn.execute(_MOVE_HEAD.values(entries=seq, last_hash=entry.hash))
        return entry

    def append_audits(self, notes: Sequence[AuditNote]) -> list[AuditEntry]:
        """One head lock, one bulk insert, one head move for the whole run of entries."""
        if not notes:
            return []
        head = self._locked_head()
        entries: list[AuditEntry] = []
        prev, seq = head.last_hash, head.entries
        for n in notes:
            seq += 1
            entry = new_entry(seq, as_utc(n.at).isoformat(), n.actor, n.action, n.payload, prev)
            entries.append(entry)
            prev = entry.hash
        self.conn.execute(_INSERT_AUDIT, [asdict(e) for e in entries])
        self.conn.execute(_MOVE_HEAD.values(entries=seq, last_hash=prev))
        return entries

    def audit_entries(self, after_seq: int = 0) -> Iterator[AuditEntry]:
        q = sa.select(t.audit_log).where(t.audit_log.c.seq > after_seq).order_by("seq")
        for r in self.conn.execute(q).mappings():
            yield AuditEntry(**dict(r))

    def audit_head(self) -> ChainHead | None:
        row = self.conn.execute(_HEAD).first()
        return ChainHead(row.entries, row.last_hash) if row else None

    def _locked_head(self) -> ChainHead:
        """The head row, locked until commit; created (empty) by the very first append."""
        row = self.conn.execute(_LOCK_HEAD).first()
        if row is None:
            # A concurrent first append may be creating the head right now: the insert
            # waits for it and then does nothing, so only a head this call created while
            # entries exist means the head was deleted.
            created = self.conn.execute(_GENESIS_HEAD[self.conn.dialect.name]).first()
            count = sa.select(sa.func.count()).select_from(t.audit_log)
            if created is not None and self.conn.execute(count).scalar():
                raise AuditChainBroken(None, "head is missing: run `dtem audit verify`")
            row = self.conn.execute(_LOCK_HEAD).one()
        return ChainHead(row.entries, row.last_hash)
