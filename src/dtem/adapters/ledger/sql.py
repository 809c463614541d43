"""The SQL ledger (SQLite and PostgreSQL) behind the `Ledger` port."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from dtem.adapters.ledger import tables as t
from dtem.adapters.ledger.rows import account_from_row, account_row, lease_from_row
from dtem.adapters.ledger.rows import rep_from_row as _rep
from dtem.adapters.ledger.rows import rep_row as _rep_row
from dtem.adapters.ledger.rows import token_from_row as _token
from dtem.adapters.ledger.sql_agents import AgentsSql
from dtem.adapters.ledger.sql_audit import AuditSql
from dtem.adapters.ledger.sql_comp import CompSql
from dtem.adapters.ledger.sql_driver import POLICY_VERSIONS, lock_next_number
from dtem.adapters.ledger.sql_idempotency import IdempotencySql
from dtem.adapters.ledger.sql_imports import ImportsSql
from dtem.adapters.ledger.sql_kpis import KpisSql
from dtem.adapters.ledger.sql_lease_batches import LeaseBatchSql
from dtem.adapters.ledger.sql_listings import ListingsSql
from dtem.adapters.ledger.sql_market import MarketSql
from dtem.adapters.ledger.sql_outbox import OutboxSql
from dtem.adapters.ledger.sql_radar import RadarSql
from dtem.adapters.ledger.sql_roster import bump_roster_version
from dtem.adapters.ledger.sql_tiers import TiersSql
from dtem.adapters.ledger.sql_training import TrainingSql
from dtem.domain.clock import as_utc
from dtem.domain.errors import (
    ArgumentInvalid,
    LeaseConflict,
    LeaseVersionConflict,
    NotFound,
    WriteConflict,
)
from dtem.domain.model import Account, Lease, LeaseState, Rep
from dtem.domain.ports import (
    LambdaStep,
    PolicyActivation,
    PolicySchedule,
    PolicyVersion,
    TokenRecord,
)

_CHUNK = 500  # ids per IN (...) query: under SQLite's bound-parameter limit
_UNSTORABLE = (
    "a value the database cannot hold: text with a NUL character, or a number beyond 64 bits"
)
_RETRYABLE = {"40P01", "40001"}  # deadlock detected, serialization failure
# Statements on every lease grant, built once (building them per call costs milliseconds).
_INSERT_LEASE = {
    dialect: insert(t.leases)
    .on_conflict_do_nothing(
        index_elements=["account_id"], index_where=t.leases.c.ended_at.is_(None)
    )
    .returning(t.leases.c.id)
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
# PostgreSQL: the grant and its rep's load in one round trip (the load moves only when the
# lease row went in: a conflict inserts nothing, and moves nothing).
_LEASE_COLUMNS = ("account_id", "rep_id", "state", "granted_at", "expires_at", "score_at_grant",
                  "policy_version", "reason", "version")  # fmt: skip
_GRANTED = (
    pg_insert(t.leases)
    .values({c: sa.bindparam(c, type_=t.leases.c[c].type) for c in _LEASE_COLUMNS})
    .on_conflict_do_nothing(
        index_elements=["account_id"], index_where=t.leases.c.ended_at.is_(None)
    )
    .returning(t.leases.c.id, t.leases.c.rep_id)
    .cte("granted")
)
_GRANT_AND_LOAD_PG = sa.select(_GRANTED.c.id).add_cte(
    pg_insert(t.rep_loads)
    .from_select(["rep_id", "active_leases"], sa.select(_GRANTED.c.rep_id, sa.literal(1)))
    .on_conflict_do_update(
        index_elements=["rep_id"], set_={"active_leases": t.rep_loads.c.active_leases + 1}
    )
    .cte("loaded")
)
_STEP_LEASE = (  # values bound per call: {"state": ..., "ended_at": ...}
    sa.update(t.leases)
    .where(
        t.leases.c.id == sa.bindparam("lease_id"),
        t.leases.c.version == sa.bindparam("read_version"),
        t.leases.c.ended_at.is_(None),
    )
    .values(version=t.leases.c.version + 1)
    .returning(*t.leases.c)
)


_SQLITE_WRITERS: dict[str, threading.RLock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


def _writer_lock(engine: Engine) -> AbstractContextManager[object]:
    """SQLite: one lock per database file for every thread of this process.

    A SQLite transaction here begins IMMEDIATE (the file's single write lock). Threads
    that find it taken wait in SQLite's busy handler, which sleeps and polls (up to 100 ms
    a round), so under a few concurrent requests the unlucky ones wait seconds. Queuing
    on a Python lock first wakes the next thread as soon as the lock is free; other
    processes still meet the busy handler. Re-entrant, so a nested transaction behaves as
    before (it waits on the database, then times out). PostgreSQL: no lock."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    key = str(engine.url)
    with _SQLITE_WRITERS_GUARD:
        return _SQLITE_WRITERS.setdefault(key, threading.RLock())


class SqlLedger:
    """A ledger on a SQLAlchemy engine. `transaction()` is one unit of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        """One unit of work; PostgreSQL's deadlock or serialization failure → `WriteConflict`."""
        try:
            with _writer_lock(self.engine), self.engine.begin() as conn:
                yield SqlTx(conn)
        except Exception as exc:
            state = _sqlstate(exc)
            if state in _RETRYABLE:
                raise WriteConflict(f"concurrent writers collided ({state}); retry") from exc
            if isinstance(exc, sa.exc.DataError | OverflowError):
                # a value no column can hold (a NUL character in text on PostgreSQL, an
                # integer beyond 64 bits): the caller's input, not a fault of the ledger
                raise ArgumentInvalid(_UNSTORABLE) from exc
            raise


class SqlTx(
    AuditSql,
    LeaseBatchSql,
    ImportsSql,
    RadarSql,
    MarketSql,
    TrainingSql,
    CompSql,
    AgentsSql,
    KpisSql,
    TiersSql,
    ListingsSql,
    OutboxSql,
    IdempotencySql,
):
    """One transaction on the ledger; see `dtem.domain.ports.LedgerTx`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.is_postgres = conn.dialect.name == "postgresql"

    # --- policies -----------------------------------------------------------------------
    def add_policy(self, document: dict[str, Any], at: datetime, actor: str, note: str) -> int:
        lock_next_number(self.conn, POLICY_VERSIONS)
        top = self.conn.execute(sa.select(sa.func.max(t.policies.c.version))).scalar()
        version = int(top or 0) + 1
        self.conn.execute(
            sa.insert(t.policies).values(
                version=version, document=document, created_at=at, created_by=actor, note=note
            )
        )
        return version

    def policy_document(self, version: int) -> dict[str, Any]:
        q = sa.select(t.policies.c.document).where(t.policies.c.version == version)
        doc = self.conn.execute(q).scalar()
        if doc is None:
            raise NotFound(f"policy version {version} does not exist")
        return dict(doc)

    def policy_versions(self) -> list[PolicyVersion]:
        active = self.active_policy_version()
        rows = self.conn.execute(sa.select(t.policies).order_by("version")).mappings()
        return [
            PolicyVersion(
                r["version"],
                as_utc(r["created_at"]),
                r["created_by"],
                r["note"],
                r["version"] == active,
            )
            for r in rows
        ]

    def activate_policy(self, version: int, at: datetime, actor: str) -> None:
        self.policy_document(version)  # raises NotFound
        self.conn.execute(
            sa.insert(t.policy_activations).values(version=version, activated_at=at, actor=actor)
        )

    def active_policy_version(self) -> int | None:
        q = sa.select(t.policy_activations.c.version).order_by(t.policy_activations.c.id.desc())
        v = self.conn.execute(q.limit(1)).scalar()
        return None if v is None else int(v)

    def policy_in_force(self) -> tuple[int, float] | None:
        pa, ls = t.policy_activations, t.lambda_steps
        ratio = sa.select(ls.c.ratio).order_by(ls.c.on_date.desc()).limit(1).scalar_subquery()
        q = sa.select(pa.c.version, ratio).order_by(pa.c.id.desc()).limit(1)
        row = self.conn.execute(q).first()
        if row is None:
            return None
        return int(row[0]), 1.0 if row[1] is None else float(row[1])

    def schedule_policy(self, version: int, at: datetime, created_at: datetime, actor: str) -> int:
        self.policy_document(version)  # raises NotFound
        values = {"version": version, "at": at, "created_at": created_at, "actor": actor}
        q = sa.insert(t.policy_schedules).values(**values).returning(t.policy_schedules.c.id)
        return int(self.conn.execute(q).scalar_one())

    def policy_schedules(self, pending_only: bool = False) -> list[PolicySchedule]:
        ps = t.policy_schedules
        q = sa.select(ps).order_by(ps.c.at, ps.c.id)
        if pending_only:
            q = q.where(ps.c.closed_at.is_(None))
        out = []
        for r in self.conn.execute(q).mappings():
            closed = as_utc(r["closed_at"]) if r["closed_at"] is not None else None
            at, created = as_utc(r["at"]), as_utc(r["created_at"])
            out.append(
                PolicySchedule(r["id"], r["version"], at, created, r["actor"], closed, r["outcome"])
            )
        return out

    def close_schedule(self, schedule_id: int, at: datetime, outcome: str) -> bool:
        ps = t.policy_schedules
        q = sa.update(ps).where(ps.c.id == schedule_id, ps.c.closed_at.is_(None))
        return self.conn.execute(q.values(closed_at=at, outcome=outcome)).rowcount == 1

    def add_lambda_step(self, step: LambdaStep) -> bool:
        ls = t.lambda_steps
        if self.conn.execute(sa.select(ls.c.id).where(ls.c.on_date == step.on)).first():
            return False
        values = dataclasses.asdict(step)
        values["on_date"] = values.pop("on")
        self.conn.execute(sa.insert(ls).values(**values))
        return True

    def lambda_steps(self, limit: int | None = None) -> list[LambdaStep]:
        ls = t.lambda_steps
        q = sa.select(ls).order_by(ls.c.on_date.desc())
        rows = self.conn.execute(q.limit(limit) if limit is not None else q).mappings()
        out = []
        for r in rows:
            values = {k: v for k, v in r.items() if k not in ("id", "on_date", "at")}
            out.append(LambdaStep(on=r["on_date"], at=as_utc(r["at"]), **values))
        return out[::-1]

    def policy_activations(self) -> list[PolicyActivation]:
        pa = t.policy_activations
        rows = self.conn.execute(
            sa.select(pa.c.version, pa.c.activated_at, pa.c.actor).order_by(pa.c.id)
        )
        return [PolicyActivation(int(v), as_utc(at), actor) for v, at, actor in rows]

    def add_policy_check(self, version: int, check: dict[str, Any], at: datetime) -> None:
        self.conn.execute(
            sa.insert(t.policy_checks).values(version=version, document=check, recorded_at=at)
        )

    def policy_check(self, version: int) -> dict[str, Any] | None:
        q = sa.select(t.policy_checks.c.document).where(t.policy_checks.c.version == version)
        doc = self.conn.execute(q).scalar()
        return None if doc is None else dict(doc)

    # --- tokens -------------------------------------------------------------------------
    def add_token(self, token: TokenRecord) -> int:
        values = {k: v for k, v in asdict(token).items() if k != "id"}
        res = self.conn.execute(sa.insert(t.api_tokens).values(**values))
        return int(res.inserted_primary_key[0])  # type: ignore[index]

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        q = sa.select(t.api_tokens).where(t.api_tokens.c.token_hash == token_hash)
        row = self.conn.execute(q).mappings().first()
        return _token(row) if row else None

    def revoke_token(self, token_id: int, at: datetime) -> None:
        res = self.conn.execute(
            sa.update(t.api_tokens).where(t.api_tokens.c.id == token_id).values(revoked_at=at)
        )
        if res.rowcount == 0:
            raise NotFound(f"token {token_id} does not exist")

    def tokens(self) -> list[TokenRecord]:
        rows = self.conn.execute(sa.select(t.api_tokens).order_by("id")).mappings()
        return [_token(r) for r in rows]

    def mark_token_used(self, token_id: int, at: datetime, not_since: datetime) -> None:
        col = t.api_tokens.c.last_used_at
        stale = sa.or_(col.is_(None), col < not_since)
        q = sa.update(t.api_tokens).where(t.api_tokens.c.id == token_id, stale)
        self.conn.execute(q.values(last_used_at=at))

    # --- accounts and reps --------------------------------------------------------------
    def accounts_by_external_id(self, external_ids: Collection[str]) -> dict[str, Account]:
        out: dict[str, Account] = {}
        for chunk in _chunks(list(external_ids)):
            q = sa.select(t.accounts).where(t.accounts.c.external_id.in_(chunk))
            out.update(
                (r["external_id"], account_from_row(r)) for r in self.conn.execute(q).mappings()
            )
        return out

    def all_account_ids(self) -> dict[str, int]:
        q = sa.select(t.accounts.c.external_id, t.accounts.c.id)
        return {r.external_id: r.id for r in self.conn.execute(q)}

    def insert_accounts(self, accounts: Sequence[Account], at: datetime) -> None:
        rows = [account_row(a) | {"created_at": at, "updated_at": at} for a in accounts]
        if rows:
            self.conn.execute(sa.insert(t.accounts), rows)

    def update_accounts(self, accounts: Sequence[Account], at: datetime) -> None:
        rows = [account_row(a) | {"updated_at": at, "key": a.external_id} for a in accounts]
        if rows:
            stmt = sa.update(t.accounts).where(t.accounts.c.external_id == sa.bindparam("key"))
            self.conn.execute(stmt, rows)

    def reps_by_external_id(self, external_ids: Collection[str]) -> dict[str, Rep]:
        out: dict[str, Rep] = {}
        for chunk in _chunks(list(external_ids)):
            q = sa.select(t.reps).where(t.reps.c.external_id.in_(chunk))
            out.update((r["external_id"], _rep(r)) for r in self.conn.execute(q).mappings())
        return out

    def all_reps(self) -> list[Rep]:
        rows = self.conn.execute(sa.select(t.reps).order_by("id")).mappings()
        return [_rep(r) for r in rows]

    def insert_reps(self, reps: Sequence[Rep], at: datetime) -> None:
        rows = [_rep_row(r) | {"created_at": at, "updated_at": at} for r in reps]
        if rows:
            self.conn.execute(sa.insert(t.reps), rows)
            bump_roster_version(self.conn)  # routing's cached roster is stale now

    def update_reps(self, reps: Sequence[Rep], at: datetime) -> None:
        rows = [_rep_row(r) | {"updated_at": at, "key": r.external_id} for r in reps]
        if rows:
            stmt = sa.update(t.reps).where(t.reps.c.external_id == sa.bindparam("key"))
            self.conn.execute(stmt, rows)
            bump_roster_version(self.conn)

    def count(self, table: str) -> int:
        tbl = t.metadata.tables[table]
        return int(self.conn.execute(sa.select(sa.func.count()).select_from(tbl)).scalar_one())

    # --- leases -------------------------------------------------------------------------
    def grant_lease(
        self,
        account_id: int,
        rep_id: int,
        at: datetime,
        expires_at: datetime,
        score: float,
        policy_version: int,
        reason: str,
    ) -> Lease:
        values = {
            "account_id": account_id,
            "rep_id": rep_id,
            "state": LeaseState.GRANTED.value,
            "granted_at": at,
            "expires_at": expires_at,
            "score_at_grant": score,
            "policy_version": policy_version,
            "reason": reason,
            "version": 1,
        }
        # The one-active-lease index decides: a conflict inserts nothing (PostgreSQL waits for
        # a concurrent grant to commit first) and the transaction goes on, no savepoint.
        if self.is_postgres:  # with its rep's load, one round trip
            lease_id = self.conn.execute(_GRANT_AND_LOAD_PG, values).scalar()
        else:
            lease_id = self.conn.execute(_INSERT_LEASE["sqlite"], values).scalar()
        if lease_id is None:
            raise LeaseConflict(str(account_id))
        if not self.is_postgres:
            self.add_rep_load(rep_id, 1)  # the per-rep count routing reads (sql_market.py)
        return lease_from_row(values | {"id": lease_id, "ended_at": None})  # no re-read: we know it

    def end_lease(
        self, lease_id: int, version: int, state: LeaseState, at: datetime, reason: str
    ) -> Lease:
        ended = self._step_lease(lease_id, version, state=state.value, ended_at=at, reason=reason)
        self.add_rep_load(ended.rep_id, -1)
        return ended

    def extend_lease(
        self, lease_id: int, version: int, expires_at: datetime, state: LeaseState
    ) -> Lease:
        return self._step_lease(lease_id, version, expires_at=expires_at, state=state.value)

    def _step_lease(self, lease_id: int, version: int, **values: Any) -> Lease:
        """Update an active lease only at the version read, to the next one (else raise).

        PostgreSQL: a concurrent writer's uncommitted update holds the row; this one waits,
        then re-checks the WHERE on the committed row and matches nothing.
        """
        row = self.conn.execute(
            _STEP_LEASE, {"lease_id": lease_id, "read_version": version, **values}
        ).first()
        if row is None:
            now = self.lease(lease_id)  # NotFound when there is no such lease
            raise LeaseVersionConflict(lease_id, version, now.version, str(now.account_id))
        return lease_from_row(row._mapping)

    def lease(self, lease_id: int) -> Lease:
        row = self.conn.execute(sa.select(t.leases).where(t.leases.c.id == lease_id)).first()
        if row is None:
            raise NotFound(f"lease {lease_id} does not exist")
        return lease_from_row(row._mapping)

    def active_lease(self, account_id: int) -> Lease | None:
        q = sa.select(t.leases).where(
            t.leases.c.account_id == account_id, t.leases.c.ended_at.is_(None)
        )
        row = self.conn.execute(q).first()
        return lease_from_row(row._mapping) if row else None

    def active_leases(self) -> list[Lease]:
        q = sa.select(t.leases).where(t.leases.c.ended_at.is_(None)).order_by("id")
        return [lease_from_row(r._mapping) for r in self.conn.execute(q)]


# --- row <-> entity -----------------------------------------------------------------------
def _chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE of a driver error, raw (hot-path statements) or wrapped."""
    state = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None), "sqlstate", None)
    return state if isinstance(state, str) else None
