"""The ledger port: what services need from storage, implemented by every backend.

A `Ledger` opens transactions; a `LedgerTx` is one unit of work (all or nothing).
The contract suite in tests/contract runs the same tests against the in-memory fake,
SQLite and PostgreSQL, so the backends cannot drift.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.audit import AuditEntry
from dtem.domain.model import Account, Lease, LeaseState, Rep
from dtem.domain.store_imports import ImportsStore
from dtem.domain.store_market import MarketStore
from dtem.domain.store_radar import RadarStore
from dtem.domain.store_training import TrainingStore


@dataclass(frozen=True)
class PolicyVersion:
    version: int
    created_at: datetime
    created_by: str
    note: str
    active: bool


@dataclass(frozen=True)
class TokenRecord:
    token_hash: str
    role: str
    name: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    subject: str | None = None
    id: int | None = None


class LedgerTx(ImportsStore, RadarStore, MarketStore, TrainingStore, Protocol):
    """One unit of work. Leaving the `with` block commits; an exception rolls back.

    The core methods are below; each feature's methods live in `store_<feature>.py`.
    """

    # audit ------------------------------------------------------------------------------
    def append_audit(
        self, actor: str, action: str, payload: dict[str, Any], at: datetime
    ) -> AuditEntry: ...
    def audit_entries(self, after_seq: int = 0) -> Iterator[AuditEntry]: ...

    # policies ---------------------------------------------------------------------------
    def add_policy(self, document: dict[str, Any], at: datetime, actor: str, note: str) -> int: ...
    def policy_document(self, version: int) -> dict[str, Any]: ...
    def policy_versions(self) -> list[PolicyVersion]: ...
    def activate_policy(self, version: int, at: datetime, actor: str) -> None: ...
    def active_policy_version(self) -> int | None: ...

    # tokens -----------------------------------------------------------------------------
    def add_token(self, token: TokenRecord) -> int: ...
    def token_by_hash(self, token_hash: str) -> TokenRecord | None: ...
    def revoke_token(self, token_id: int, at: datetime) -> None: ...
    def tokens(self) -> list[TokenRecord]: ...

    # accounts and reps ------------------------------------------------------------------
    def accounts_by_external_id(self, external_ids: Collection[str]) -> dict[str, Account]: ...
    def all_account_ids(self) -> dict[str, int]: ...
    def insert_accounts(self, accounts: Sequence[Account], at: datetime) -> None: ...
    def update_accounts(self, accounts: Sequence[Account], at: datetime) -> None: ...
    def reps_by_external_id(self, external_ids: Collection[str]) -> dict[str, Rep]: ...
    def all_reps(self) -> list[Rep]: ...
    def insert_reps(self, reps: Sequence[Rep], at: datetime) -> None: ...
    def update_reps(self, reps: Sequence[Rep], at: datetime) -> None: ...
    def count(self, table: str) -> int: ...

    # leases -----------------------------------------------------------------------------
    def grant_lease(
        self,
        account_id: int,
        rep_id: int,
        at: datetime,
        expires_at: datetime,
        score: float,
        policy_version: int,
        reason: str,
    ) -> Lease: ...
    def end_lease(self, lease_id: int, state: LeaseState, at: datetime, reason: str) -> Lease: ...
    def extend_lease(self, lease_id: int, expires_at: datetime, state: LeaseState) -> Lease: ...
    def lease(self, lease_id: int) -> Lease: ...
    def active_lease(self, account_id: int) -> Lease | None: ...
    def active_leases(self) -> list[Lease]: ...


class Ledger(Protocol):
    """A store that hands out units of work."""

    def transaction(self) -> AbstractContextManager[LedgerTx]: ...
