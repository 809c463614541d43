"""SQL implementation of `SignalsPort` and `SignalSourcesPort`.

Signals, identity links, signal sources and unmatched signals. Mixed into `RadarSql`
(and so into `SqlTx`); `self.conn` is the transaction's connection.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.rows import lower_text
from dtem.adapters.ledger.sql_driver import Driver
from dtem.domain.clock import as_utc
from dtem.domain.errors import NotFound, SourceExists
from dtem.domain.signals import SignalRecord, one_scope, superseded_ids
from dtem.domain.store_radar import SignalSource, SignalStats

_CHUNK = 500  # keys per IN (...): under SQLite's bound-parameter limit
_S = t.signals


class SignalsSql:
    """Signals, identity links and sources on SQLite and PostgreSQL."""

    conn: Connection

    # --- signals --------------------------------------------------------------------------
    def insert_signals(self, records: Sequence[SignalRecord]) -> set[str]:
        # ON CONFLICT DO NOTHING: a message resent while the first copy is still being
        # committed by another request is a duplicate, not an error. Raw DB-API, one
        # multi-row VALUES per chunk: SQLAlchemy's per-row parameter processing was most
        # of the ingest time (see sql_driver.py).
        one_scope(records)
        d = Driver(self.conn)
        inserted: set[str] = set()
        records = sorted(records, key=lambda r: r.event_id)  # concurrent resends: one order
        received = {r.received_at: d.ts(r.received_at) for r in records}  # one `now` a delivery
        for i in range(0, len(records), _CHUNK):
            chunk = records[i : i + _CHUNK]
            rows = [_row(d, r, received) for r in chunk]
            inserted.update(e for (e,) in d.insert("signals", _COLUMNS, rows, _ON_CONFLICT))
        return inserted

    def supersede_signals(self, keys: Collection[tuple[str, str, str]]) -> list[SignalRecord]:
        wanted = set(keys)
        live: dict[int, SignalRecord] = {}
        for chunk in _chunks(sorted({k[0] for k in wanted})):
            q = sa.select(_S).where(
                _S.c.account_key.in_(chunk), _S.c.topic.is_not(None), ~_S.c.superseded
            )
            for r in self.conn.execute(q).mappings():
                if (r["account_key"], r["topic"], r["source"]) in wanted:
                    live[r["id"]] = _record(r)
        stale = superseded_ids(
            [((r.account_key, r.topic, r.source), (r.occurred_at, i)) for i, r in live.items()]
        )
        for chunk_ids in _chunks(stale):
            self.conn.execute(sa.update(_S).where(_S.c.id.in_(chunk_ids)).values(superseded=True))
        return [live[i] for i in stale]

    def account_ids_by_domain(self, domains: Collection[str]) -> dict[str, int]:
        # Raw DB-API: compiling an expanding IN per delivery cost more than the query.
        d = Driver(self.conn)
        wanted = sorted(set(domains))
        out: dict[str, int] = {}
        for chunk in _chunks(wanted):
            variants = chunk + ["www." + x for x in chunk]
            for domain, account_id in sorted(
                d.rows_in(_ACCOUNTS_BY_DOMAIN, variants), key=lambda r: -r[1]
            ):
                out[domain.removeprefix("www.")] = account_id  # the lowest id wins: written last
        return out

    def account_ids_by_name(self, names: Collection[str]) -> dict[str, int]:
        a = t.accounts
        lowered = lower_text(self.conn, sa.func.trim(a.c.name))
        out: dict[str, int] = {}
        for chunk in _chunks(sorted({n.strip().lower() for n in names if n.strip()})):
            q = (
                sa.select(lowered.label("key"), sa.func.min(a.c.id).label("id"))
                .where(lowered.in_(chunk))
                .group_by(lowered)
                .having(sa.func.count() == 1)
            )
            out.update((r.key, r.id) for r in self.conn.execute(q))
        return out

    def unmatched_signals(
        self, key_kind: str | None = None, keys: Collection[str] | None = None, limit: int = 0
    ) -> list[SignalRecord]:
        q = sa.select(_S).where(_S.c.account_id.is_(None)).order_by(_S.c.id)
        if key_kind is not None:
            q = q.where(_S.c.key_kind == key_kind)
        if keys is None:
            rows = self.conn.execute(q.limit(limit) if limit else q).mappings()
            return [_record(r) for r in rows]
        out: list[SignalRecord] = []
        for chunk in _chunks(sorted(set(keys))):
            rows = self.conn.execute(q.where(_S.c.account_key.in_(chunk))).mappings()
            out.extend(_record(r) for r in rows)
        return out[:limit] if limit else out

    def attach_signals(self, account_by_event: Mapping[tuple[str, str], int]) -> None:
        if not account_by_event:
            return
        stmt = (
            sa.update(_S)
            .where(
                _S.c.scope == sa.bindparam("s"),
                _S.c.event_id == sa.bindparam("e"),
                _S.c.account_id.is_(None),
            )
            .values(account_id=sa.bindparam("a"), unmatched_reason=None)
        )
        rows = [{"s": s, "e": e, "a": a} for (s, e), a in account_by_event.items()]
        self.conn.execute(stmt, rows)

    def signal_stats(self) -> SignalStats:
        def grouped(col: Any, *where: Any) -> dict[str, int]:
            q = sa.select(col, sa.func.count()).where(*where).group_by(col)
            return {str(k): int(n) for k, n in self.conn.execute(q)}

        by_type = grouped(_S.c.type)
        superseded = self.conn.execute(
            sa.select(sa.func.count()).select_from(_S).where(_S.c.superseded)
        ).scalar_one()
        return SignalStats(
            total=sum(by_type.values()),
            by_type=by_type,
            unknown_events=grouped(_S.c.event_name, _S.c.type == "other"),
            unmatched=grouped(_S.c.unmatched_reason, _S.c.account_id.is_(None)),
            superseded=int(superseded),
        )

    # --- identity links -------------------------------------------------------------------
    def link_identities(self, links: Mapping[str, str], at: datetime, replace: bool) -> None:
        existing = self.identity_links(links.keys())
        new = [
            {"user_id": u, "account_key": k, "linked_at": at}
            for u, k in links.items()
            if u not in existing
        ]
        if new:
            self.conn.execute(sa.insert(t.identity_links), new)
        changed = [
            {"u": u, "k": k, "at": at}
            for u, k in links.items()
            if replace and u in existing and existing[u] != k
        ]
        if changed:
            il = t.identity_links
            stmt = sa.update(il).where(il.c.user_id == sa.bindparam("u"))
            self.conn.execute(
                stmt.values(account_key=sa.bindparam("k"), linked_at=sa.bindparam("at")), changed
            )

    def identity_links(self, user_ids: Collection[str]) -> dict[str, str]:
        il = t.identity_links
        out: dict[str, str] = {}
        for chunk in _chunks(sorted(set(user_ids))):
            q = sa.select(il.c.user_id, il.c.account_key).where(il.c.user_id.in_(chunk))
            out.update((r.user_id, r.account_key) for r in self.conn.execute(q))
        return out

    def users_linked_to(self, encoded_keys: Collection[str]) -> list[str]:
        il = t.identity_links
        out: list[str] = []
        for chunk in _chunks(sorted(set(encoded_keys))):
            q = sa.select(il.c.user_id).where(il.c.account_key.in_(chunk))
            out.extend(self.conn.execute(q).scalars())
        return sorted(out)

    # --- sources --------------------------------------------------------------------------
    def add_signal_source(self, source: SignalSource) -> int:
        values = {k: v for k, v in asdict(source).items() if k != "id"}
        try:
            with self.conn.begin_nested():  # a savepoint: the transaction survives
                res = self.conn.execute(sa.insert(t.signal_sources).values(**values))
        except sa.exc.IntegrityError as exc:
            raise SourceExists(f"a signal source named {source.name!r} exists") from exc
        return int(res.inserted_primary_key[0])  # type: ignore[index]

    def signal_source_by_hash(self, key_hash: str) -> SignalSource | None:
        q = sa.select(t.signal_sources).where(t.signal_sources.c.key_hash == key_hash)
        row = self.conn.execute(q).mappings().first()
        return _source(row) if row else None

    def signal_sources(self) -> list[SignalSource]:
        rows = self.conn.execute(sa.select(t.signal_sources).order_by("id")).mappings()
        return [_source(r) for r in rows]

    def revoke_signal_source(self, name: str, at: datetime) -> None:
        ss = t.signal_sources
        stmt = sa.update(ss).where(ss.c.name == name, ss.c.revoked_at.is_(None))
        if self.conn.execute(stmt.values(revoked_at=at)).rowcount == 0:
            raise NotFound(f"no active signal source named {name!r}")


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


_FIELDS = tuple(SignalRecord.__dataclass_fields__)


_COLUMNS = tuple(zip(_FIELDS, ("text", "text", "text", "text", "timestamptz", "float8", "text",
                               "timestamptz", "int8", "text", "text", "text", "json", "bool",
                               "text"), strict=True))  # fmt: skip
_ACCOUNTS_BY_DOMAIN = "SELECT domain, id FROM accounts WHERE domain IN ({ids})"
_ON_CONFLICT = "ON CONFLICT (scope, event_id) DO NOTHING RETURNING event_id"


# json.dumps's text without its check for reference cycles (half its time here): attributes
# are built from parsed messages and rows, JSON values, which cannot hold a cycle.
_json = json.JSONEncoder(check_circular=False).encode


def _row(d: Driver, r: SignalRecord, received: dict[datetime, Any]) -> tuple[Any, ...]:
    """Values in `_FIELDS` order, stored as SQLAlchemy would (JSON text, driver times);
    `received`: each receipt time as the driver stores it."""
    return (
        r.event_id, r.account_key, r.key_kind, r.type, d.ts(r.occurred_at), r.value, r.source,
        received[r.received_at], r.account_id, r.unmatched_reason, r.event_name, r.topic,
        _json(r.attributes), r.superseded, r.scope,
    )  # fmt: skip


def _record(r: RowMapping) -> SignalRecord:
    fields = {k: r[k] for k in SignalRecord.__dataclass_fields__}
    fields["occurred_at"] = as_utc(r["occurred_at"])
    fields["received_at"] = as_utc(r["received_at"])
    return SignalRecord(**fields)


def _source(r: RowMapping) -> SignalSource:
    return SignalSource(
        name=r["name"],
        key_hash=r["key_hash"],
        created_at=as_utc(r["created_at"]),
        revoked_at=as_utc(r["revoked_at"]) if r["revoked_at"] else None,
        id=r["id"],
    )
