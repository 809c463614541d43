"""SQL implementation of `ImportsPort` and `OpportunitiesPort`.

Imports: opportunities, stage history, activities, import batches, record changes,
account attributes. Writes are Core `executemany` in large chunks; reads that an import
needs for a whole file (every account) are one query.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.rows import ACCOUNT_FIELDS, lower_text
from dtem.domain.clock import as_utc
from dtem.domain.model import Account, Activity, Opportunity, Tier
from dtem.domain.store_imports import (
    SNAPSHOT_FIELDS,
    AccountSnapshot,
    ImportBatch,
    RecordChange,
    StageEntry,
)

_IN_CHUNK = 500  # ids per IN (...): under SQLite's bound-parameter limit
_WRITE_CHUNK = 50_000  # rows per executemany: bounded memory, few round trips
_WHOLE_TABLE = 20_000  # above this many ids, read the whole id column instead
_BULK_CACHE_KIB = -262_144  # SQLite page cache during a bulk insert: 256 MiB (negative = KiB)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class ImportsSql:
    """Mixed into `SqlTx`; `self.conn` is the transaction's connection."""

    conn: Connection

    def _write(self, stmt: Any, rows: Sequence[dict[str, Any]]) -> None:
        for chunk in _chunks(rows, _WRITE_CHUNK):
            self.conn.execute(stmt, list(chunk))

    def _ids(self, table: sa.Table, external_ids: Collection[str]) -> dict[str, int]:
        if len(external_ids) > _WHOLE_TABLE:  # one scan beats thousands of IN queries
            q = sa.select(table.c.external_id, table.c.id)
            return {r.external_id: r.id for r in self.conn.execute(q)}
        out: dict[str, int] = {}
        keys = sorted(set(external_ids))
        for chunk in _chunks(keys, _IN_CHUNK):
            q = sa.select(table.c.external_id, table.c.id).where(table.c.external_id.in_(chunk))
            out.update((r.external_id, r.id) for r in self.conn.execute(q))
        return out

    # --- batches and changes ------------------------------------------------------------
    def add_import_batch(
        self, kind: str, file: str, sha256: str, at: datetime, actor: str, counts: dict[str, int]
    ) -> int:
        values = {"kind": kind, "file": file, "sha256": sha256, "at": at, "actor": actor}
        res = self.conn.execute(sa.insert(t.import_batches).values(**values, counts=counts))
        return int(res.inserted_primary_key[0])  # type: ignore[index]

    def import_batches(self) -> list[ImportBatch]:
        rows = self.conn.execute(sa.select(t.import_batches).order_by("id")).mappings()
        return [
            ImportBatch(
                r["id"], r["kind"], r["file"], r["sha256"], as_utc(r["at"]), r["actor"], r["counts"]
            )
            for r in rows
        ]

    def add_record_changes(self, batch_id: int, changes: Sequence[RecordChange]) -> None:
        rows = [
            {"batch_id": batch_id, "entity": c.entity, "external_id": c.external_id}
            | {"changes": c.changes}
            for c in changes
        ]
        self._write(sa.insert(t.record_changes), rows)

    def record_changes(self, batch_id: int | None = None) -> list[RecordChange]:
        q = sa.select(t.record_changes).order_by("id")
        if batch_id is not None:
            q = q.where(t.record_changes.c.batch_id == batch_id)
        rows = self.conn.execute(q).mappings()
        return [RecordChange(r["entity"], r["external_id"], r["changes"]) for r in rows]

    # --- accounts in bulk ---------------------------------------------------------------
    def all_accounts(self) -> dict[str, Account]:
        cols = [t.accounts.c[c] for c in ACCOUNT_FIELDS]
        q = sa.select(*cols, t.accounts.c.tier, t.accounts.c.id)
        out: dict[str, Account] = {}
        for *vals, tier, ident in self.conn.execute(q):
            row = dict(zip(ACCOUNT_FIELDS, vals, strict=True))
            out[row["external_id"]] = Account(**row, tier=Tier(tier), id=ident)
        return out

    def account_snapshot(self) -> AccountSnapshot:
        """One query on the DB-API cursor of this transaction: plain tuples, no Row objects."""
        cursor = self.conn.connection.cursor()
        try:
            cursor.execute(f"SELECT {', '.join(SNAPSHOT_FIELDS)} FROM accounts")
            return AccountSnapshot({r[0]: tuple(r) for r in cursor.fetchall()})
        finally:
            cursor.close()

    def bulk_insert_accounts(self, accounts: Sequence[Account], at: datetime) -> None:
        """`insert_accounts` for millions of rows: one prepared INSERT, DB-API executemany.

        SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself;
        the only value that needs processing (the timestamp) is converted once here.
        """
        cols = [*ACCOUNT_FIELDS, "tier", "created_at", "updated_at"]
        mark = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
        sql = f"INSERT INTO accounts ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))})"
        dialect = self.conn.dialect
        process = t.accounts.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
        stamp = process(at) if process else at
        values = operator.attrgetter(*ACCOUNT_FIELDS)  # one C call per account, not twelve
        rows = [(*values(a), int(a.tier), stamp, stamp) for a in accounts]
        with self._bulk_cache(len(rows)):
            for chunk in _chunks(rows, _WRITE_CHUNK):
                self.conn.exec_driver_sql(sql, list(chunk))

    @contextmanager
    def _bulk_cache(self, rows: int) -> Iterator[None]:
        """On SQLite, a page cache large enough for the unique-index pages of a big insert.

        The default 2 MB cache makes a million-row insert re-read index pages from the
        file; the setting is per connection, so the pool's connection gets it back after.
        """
        if self.conn.dialect.name != "sqlite" or rows < _WRITE_CHUNK:
            yield
            return
        before = self.conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        self.conn.exec_driver_sql(f"PRAGMA cache_size = {_BULK_CACHE_KIB}")
        try:
            yield
        finally:
            self.conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")

    def account_attributes(self, external_ids: Collection[str]) -> dict[str, dict[str, str]]:
        a, x = t.account_attributes, t.accounts
        out: dict[str, dict[str, str]] = {}
        for chunk in _chunks(sorted(set(external_ids)), _IN_CHUNK):
            q = (
                sa.select(x.c.external_id, a.c.name, a.c.value)
                .join(x, x.c.id == a.c.account_id)
                .where(x.c.external_id.in_(chunk))
            )
            for r in self.conn.execute(q):
                out.setdefault(r.external_id, {})[r.name] = r.value
        return out

    def all_account_attributes(self, name: str) -> dict[str, str]:
        a, x = t.account_attributes, t.accounts
        q = (
            sa.select(x.c.external_id, a.c.value)
            .join(x, x.c.id == a.c.account_id)
            .where(a.c.name == name)
        )
        return {r.external_id: r.value for r in self.conn.execute(q)}

    def set_account_attributes(self, values: dict[str, dict[str, str | None]]) -> None:
        ids = self._ids(t.accounts, values)
        pairs = [(ids[k], n, v) for k, attrs in values.items() for n, v in attrs.items()]
        a = t.account_attributes
        drop = [{"aid": i, "n": n} for i, n, _ in pairs]
        stmt = sa.delete(a).where(
            a.c.account_id == sa.bindparam("aid"), a.c.name == sa.bindparam("n")
        )
        self._write(stmt, drop)
        rows = [{"account_id": i, "name": n, "value": v} for i, n, v in pairs if v is not None]
        self._write(sa.insert(a), rows)

    # --- opportunities ------------------------------------------------------------------
    def _opportunity_query(self) -> sa.Select[Any]:
        o, a, r = t.opportunities, t.accounts, t.reps
        return (
            sa.select(o, a.c.external_id.label("account_xid"), r.c.external_id.label("rep_xid"))
            .outerjoin(a, a.c.id == o.c.account_id)
            .outerjoin(r, r.c.id == o.c.rep_id)
            .order_by(o.c.id)
        )

    def opportunities_by_external_id(self, external_ids: Collection[str]) -> dict[str, Opportunity]:
        out: dict[str, Opportunity] = {}
        for chunk in _chunks(sorted(set(external_ids)), _IN_CHUNK):
            q = self._opportunity_query().where(t.opportunities.c.external_id.in_(chunk))
            out.update((r["external_id"], _opportunity(r)) for r in self.conn.execute(q).mappings())
        return out

    def all_opportunities(self) -> list[Opportunity]:
        return [_opportunity(r) for r in self.conn.execute(self._opportunity_query()).mappings()]

    def unattached_opportunities(
        self, key_kind: str | None = None, keys: Collection[str] | None = None, limit: int = 0
    ) -> list[Opportunity]:
        o = t.opportunities
        q = self._opportunity_query().where(o.c.account_id.is_(None))
        if key_kind is not None:
            q = q.where(o.c.key_kind == key_kind)
        if keys is None:
            rows = self.conn.execute(q.limit(limit) if limit else q).mappings()
            return [_opportunity(r) for r in rows]
        column = lower_text(self.conn, o.c.account_key) if key_kind == "name" else o.c.account_key
        wanted = sorted({k.lower() for k in keys} if key_kind == "name" else set(keys))
        out: list[Opportunity] = []
        for chunk in _chunks(wanted, _IN_CHUNK):
            rows = self.conn.execute(q.where(column.in_(chunk))).mappings()
            out.extend(_opportunity(r) for r in rows)
        out.sort(key=lambda x: x.id or 0)
        return out[:limit] if limit else out

    def _opportunity_rows(self, opps: Sequence[Opportunity]) -> list[dict[str, Any]]:
        accounts = self._ids(
            t.accounts, [o.account_external_id for o in opps if o.account_external_id]
        )
        reps = self._ids(t.reps, [o.rep_external_id for o in opps if o.rep_external_id])
        return [
            {
                "external_id": o.external_id,
                "account_id": accounts[o.account_external_id] if o.account_external_id else None,
                "account_key": o.account_key,
                "key_kind": o.key_kind,
                "rep_id": reps.get(o.rep_external_id) if o.rep_external_id else None,
                "stage": o.stage,
                "amount": o.amount,
                "product": o.product,
                "created_date": o.created_date,
                "close_date": o.close_date,
            }
            for o in opps
        ]

    def insert_opportunities(self, opportunities: Sequence[Opportunity], at: datetime) -> None:
        rows = [r | {"updated_at": at} for r in self._opportunity_rows(opportunities)]
        self._write(sa.insert(t.opportunities), rows)

    def update_opportunities(self, opportunities: Sequence[Opportunity], at: datetime) -> None:
        rows = [
            r | {"updated_at": at, "key": r["external_id"]}
            for r in self._opportunity_rows(opportunities)
        ]
        o = t.opportunities
        self._write(sa.update(o).where(o.c.external_id == sa.bindparam("key")), rows)

    def append_stage_history(self, entries: Sequence[StageEntry]) -> None:
        ids = self._ids(t.opportunities, [e.opportunity_external_id for e in entries])
        rows = [
            {
                "opportunity_id": ids[e.opportunity_external_id],
                "stage": e.stage,
                "changed_at": e.changed_at,
                "source": e.source,
            }
            for e in entries
        ]
        self._write(sa.insert(t.opportunity_stages), rows)

    def stage_history(self, opportunity_external_id: str) -> list[StageEntry]:
        s, o = t.opportunity_stages, t.opportunities
        q = (
            sa.select(s.c.stage, s.c.changed_at, s.c.source)
            .join(o, o.c.id == s.c.opportunity_id)
            .where(o.c.external_id == opportunity_external_id)
            .order_by(s.c.id)
        )
        return [
            StageEntry(opportunity_external_id, r.stage, as_utc(r.changed_at), r.source)
            for r in self.conn.execute(q)
        ]

    # --- activities ---------------------------------------------------------------------
    def existing_activity_ids(self, external_ids: Collection[str]) -> set[str]:
        return set(self._ids(t.activities, external_ids))

    def insert_activities(self, activities: Sequence[Activity]) -> None:
        accounts = self._ids(t.accounts, [a.account_external_id for a in activities])
        rows = [
            {
                "external_id": a.external_id,
                "account_id": accounts[a.account_external_id],
                "actor_kind": a.actor_kind,
                "actor_id": a.actor_id,
                "kind": a.kind,
                "occurred_at": a.occurred_at,
            }
            for a in activities
        ]
        self._write(sa.insert(t.activities), rows)


def _opportunity(r: RowMapping) -> Opportunity:
    return Opportunity(
        external_id=r["external_id"],
        account_external_id=r["account_xid"],
        stage=r["stage"],
        amount=r["amount"],
        product=r["product"],
        account_key=r["account_key"],
        key_kind=r["key_kind"],
        created_date=r["created_date"],
        close_date=r["close_date"],
        rep_external_id=r["rep_xid"],
        id=r["id"],
    )
