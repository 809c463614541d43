"""An in-memory ledger for unit tests: same contract as the SQL one, no database.

A transaction works on a deep copy of the state and swaps it in on success, so a
failing unit of work leaves nothing behind (like a database rollback).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from dtem.adapters.ledger.memory_agents import AgentsMemory
from dtem.adapters.ledger.memory_comp import CompMemory
from dtem.adapters.ledger.memory_idempotency import IdempotencyMemory
from dtem.adapters.ledger.memory_imports import ImportsMemory
from dtem.adapters.ledger.memory_kpis import KpisMemory
from dtem.adapters.ledger.memory_listings import ListingsMemory
from dtem.adapters.ledger.memory_market import MarketMemory
from dtem.adapters.ledger.memory_outbox import OutboxMemory
from dtem.adapters.ledger.memory_radar import RadarMemory
from dtem.adapters.ledger.memory_tiers import TiersMemory
from dtem.adapters.ledger.memory_training import TrainingMemory
from dtem.domain.audit import GENESIS, AuditEntry, AuditNote, ChainHead, new_entry
from dtem.domain.clock import as_utc
from dtem.domain.errors import AuditChainBroken, LeaseConflict, LeaseVersionConflict, NotFound
from dtem.domain.model import Account, Lease, LeaseState, Rep
from dtem.domain.ports import (
    LambdaStep,
    PolicyActivation,
    PolicySchedule,
    PolicyVersion,
    TokenRecord,
)
from dtem.domain.store_market import LeaseEnd, LeaseGrant


@dataclass
class _State:
    audit: list[AuditEntry] = field(default_factory=list)
    audit_head: ChainHead | None = None  # apart from `audit`, like the SQL audit_head row
    policies: dict[int, tuple[dict[str, Any], datetime, str, str]] = field(default_factory=dict)
    activations: list[int] = field(default_factory=list)
    activation_log: list[PolicyActivation] = field(default_factory=list)
    policy_checks: dict[int, dict[str, Any]] = field(default_factory=dict)
    lambda_steps: list[LambdaStep] = field(default_factory=list)
    policy_schedules: list[PolicySchedule] = field(default_factory=list)
    tokens: list[TokenRecord] = field(default_factory=list)
    accounts: dict[str, Account] = field(default_factory=dict)
    reps: dict[str, Rep] = field(default_factory=dict)
    leases: dict[int, Lease] = field(default_factory=dict)
    extra: dict[str, list[Any]] = field(default_factory=dict)  # other tables, by name


class MemoryLedger:
    """The fake. `transaction()` serialises units of work with a lock."""

    def __init__(self) -> None:
        self.state = _State()
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[MemoryTx]:
        with self._lock:
            tx = MemoryTx(copy.deepcopy(self.state))
            yield tx
            self.state = tx.s


class MemoryTx(
    ImportsMemory,
    RadarMemory,
    MarketMemory,
    TrainingMemory,
    CompMemory,
    AgentsMemory,
    KpisMemory,
    TiersMemory,
    ListingsMemory,
    OutboxMemory,
    IdempotencyMemory,
):
    s: _State

    def __init__(self, state: _State) -> None:
        self.s = state

    # --- audit --------------------------------------------------------------------------
    def append_audits(self, notes: Sequence[AuditNote]) -> list[AuditEntry]:
        return [self.append_audit(n.actor, n.action, n.payload, n.at) for n in notes]

    def append_audit(
        self, actor: str, action: str, payload: dict[str, Any], at: datetime
    ) -> AuditEntry:
        head = self.s.audit_head
        if head is None:
            if self.s.audit:
                raise AuditChainBroken(None, "head is missing: run `dtem audit verify`")
            head = ChainHead(0, GENESIS)
        payload = copy.deepcopy(payload)
        at_text = as_utc(at).isoformat()
        entry = new_entry(head.entries + 1, at_text, actor, action, payload, head.last_hash)
        self.s.audit.append(entry)
        self.s.audit_head = ChainHead(entry.seq, entry.hash)
        return entry

    def audit_entries(self, after_seq: int = 0) -> Iterator[AuditEntry]:
        yield from (e for e in self.s.audit if e.seq > after_seq)

    def audit_head(self) -> ChainHead | None:
        return self.s.audit_head

    # --- policies -----------------------------------------------------------------------
    def add_policy(self, document: dict[str, Any], at: datetime, actor: str, note: str) -> int:
        version = max(self.s.policies, default=0) + 1
        self.s.policies[version] = (copy.deepcopy(document), at, actor, note)
        return version

    def policy_document(self, version: int) -> dict[str, Any]:
        if version not in self.s.policies:
            raise NotFound(f"policy version {version} does not exist")
        return copy.deepcopy(self.s.policies[version][0])

    def policy_versions(self) -> list[PolicyVersion]:
        active = self.active_policy_version()
        return [
            PolicyVersion(v, at, actor, note, v == active)
            for v, (_, at, actor, note) in sorted(self.s.policies.items())
        ]

    def activate_policy(self, version: int, at: datetime, actor: str) -> None:
        self.policy_document(version)
        self.s.activations.append(version)
        self.s.activation_log.append(PolicyActivation(version, at, actor))

    def active_policy_version(self) -> int | None:
        return self.s.activations[-1] if self.s.activations else None

    def policy_in_force(self) -> tuple[int, float] | None:
        version = self.active_policy_version()
        if version is None:
            return None
        steps = self.s.lambda_steps
        return version, max(steps, key=lambda x: x.on).ratio if steps else 1.0

    def schedule_policy(self, version: int, at: datetime, created_at: datetime, actor: str) -> int:
        self.policy_document(version)
        sid = len(self.s.policy_schedules) + 1
        self.s.policy_schedules.append(PolicySchedule(sid, version, at, created_at, actor))
        return sid

    def policy_schedules(self, pending_only: bool = False) -> list[PolicySchedule]:
        rows = sorted(self.s.policy_schedules, key=lambda x: (x.at, x.id))
        return [x for x in rows if x.closed_at is None or not pending_only]

    def close_schedule(self, schedule_id: int, at: datetime, outcome: str) -> bool:
        for i, x in enumerate(self.s.policy_schedules):
            if x.id == schedule_id and x.closed_at is None:
                self.s.policy_schedules[i] = replace(x, closed_at=at, outcome=outcome)
                return True
        return False

    def add_lambda_step(self, step: LambdaStep) -> bool:
        if any(x.on == step.on for x in self.s.lambda_steps):
            return False
        self.policy_document(step.policy_version)
        self.s.lambda_steps.append(step)
        return True

    def lambda_steps(self, limit: int | None = None) -> list[LambdaStep]:
        ordered = sorted(self.s.lambda_steps, key=lambda x: x.on)
        return ordered[max(len(ordered) - limit, 0) :] if limit is not None else ordered

    def policy_activations(self) -> list[PolicyActivation]:
        return list(self.s.activation_log)

    def add_policy_check(self, version: int, check: dict[str, Any], at: datetime) -> None:
        self.policy_document(version)
        self.s.policy_checks[version] = copy.deepcopy(check)

    def policy_check(self, version: int) -> dict[str, Any] | None:
        return copy.deepcopy(self.s.policy_checks.get(version))

    # --- tokens -------------------------------------------------------------------------
    def add_token(self, token: TokenRecord) -> int:
        token = replace(token, id=len(self.s.tokens) + 1)
        self.s.tokens.append(token)
        assert token.id is not None
        return token.id

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        return next((tk for tk in self.s.tokens if tk.token_hash == token_hash), None)

    def revoke_token(self, token_id: int, at: datetime) -> None:
        for i, tk in enumerate(self.s.tokens):
            if tk.id == token_id:
                self.s.tokens[i] = replace(tk, revoked_at=at)
                return
        raise NotFound(f"token {token_id} does not exist")

    def tokens(self) -> list[TokenRecord]:
        return list(self.s.tokens)

    def mark_token_used(self, token_id: int, at: datetime, not_since: datetime) -> None:
        for i, tk in enumerate(self.s.tokens):
            if tk.id == token_id and (tk.last_used_at is None or tk.last_used_at < not_since):
                self.s.tokens[i] = replace(tk, last_used_at=at)

    # --- accounts and reps --------------------------------------------------------------
    def accounts_by_external_id(self, external_ids: Collection[str]) -> dict[str, Account]:
        return {k: self.s.accounts[k] for k in external_ids if k in self.s.accounts}

    def all_account_ids(self) -> dict[str, int]:
        return {k: a.id for k, a in self.s.accounts.items() if a.id is not None}

    def insert_accounts(self, accounts: Sequence[Account], at: datetime) -> None:
        for a in accounts:
            if a.external_id in self.s.accounts:
                raise ValueError(f"duplicate account {a.external_id}")
            self.s.accounts[a.external_id] = replace(a, id=len(self.s.accounts) + 1)

    def update_accounts(self, accounts: Sequence[Account], at: datetime) -> None:
        for a in accounts:
            self.s.accounts[a.external_id] = replace(a, id=self.s.accounts[a.external_id].id)

    def reps_by_external_id(self, external_ids: Collection[str]) -> dict[str, Rep]:
        return {k: self.s.reps[k] for k in external_ids if k in self.s.reps}

    def all_reps(self) -> list[Rep]:
        return sorted(self.s.reps.values(), key=lambda r: r.id or 0)

    def insert_reps(self, reps: Sequence[Rep], at: datetime) -> None:
        for r in reps:
            if r.external_id in self.s.reps:
                raise ValueError(f"duplicate rep {r.external_id}")
            self.s.reps[r.external_id] = replace(r, id=len(self.s.reps) + 1)

    def update_reps(self, reps: Sequence[Rep], at: datetime) -> None:
        for r in reps:
            self.s.reps[r.external_id] = replace(r, id=self.s.reps[r.external_id].id)

    def count(self, table: str) -> int:
        sizes = {
            "accounts": len(self.s.accounts),
            "reps": len(self.s.reps),
            "leases": len(self.s.leases),
            "audit_log": len(self.s.audit),
            "policies": len(self.s.policies),
        }
        return sizes.get(table, len(self.s.extra.get(table, [])))

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
        if self.active_lease(account_id) is not None:
            raise LeaseConflict(str(account_id))
        lease = Lease(
            len(self.s.leases) + 1,
            account_id,
            rep_id,
            LeaseState.GRANTED,
            as_utc(at),
            as_utc(expires_at),
            score,
            policy_version,
            None,
            reason,
        )
        self.s.leases[lease.id] = lease
        return lease

    def grant_leases(self, grants: Sequence[LeaseGrant]) -> list[Lease]:
        accounts = [g.account_id for g in grants]
        taken = [a for a in accounts if self.active_lease(a) is not None]
        twice = [a for a in set(accounts) if accounts.count(a) > 1]
        if taken or twice:  # nothing granted, as the SQL statement inserts nothing
            raise LeaseConflict(str((taken or twice)[0]))
        return [
            self.grant_lease(
                g.account_id, g.rep_id, g.at, g.expires_at, g.score, g.policy_version, g.reason
            )
            for g in grants
        ]

    def end_leases(self, ends: Sequence[LeaseEnd]) -> list[Lease]:
        for e in ends:  # check all first: a conflict ends nothing
            self._at_version(e.lease_id, e.version)
        return [self.end_lease(e.lease_id, e.version, e.state, e.at, e.reason) for e in ends]

    def end_lease(
        self, lease_id: int, version: int, state: LeaseState, at: datetime, reason: str
    ) -> Lease:
        ended = replace(
            self._at_version(lease_id, version), state=state, ended_at=as_utc(at), reason=reason
        )
        return self._store_next(ended)

    def extend_lease(
        self, lease_id: int, version: int, expires_at: datetime, state: LeaseState
    ) -> Lease:
        lease = self._at_version(lease_id, version)
        return self._store_next(replace(lease, expires_at=as_utc(expires_at), state=state))

    def _at_version(self, lease_id: int, version: int) -> Lease:
        """The active lease if it is still at `version` (the SQL `WHERE version = :read`)."""
        lease = self.lease(lease_id)
        if lease.version != version or lease.ended_at is not None:
            raise LeaseVersionConflict(lease_id, version, lease.version, str(lease.account_id))
        return lease

    def _store_next(self, lease: Lease) -> Lease:
        lease = replace(lease, version=lease.version + 1)
        self.s.leases[lease.id] = lease
        return lease

    def lease(self, lease_id: int) -> Lease:
        if lease_id not in self.s.leases:
            raise NotFound(f"lease {lease_id} does not exist")
        return self.s.leases[lease_id]

    def active_lease(self, account_id: int) -> Lease | None:
        return next(
            (
                x
                for x in self.s.leases.values()
                if x.account_id == account_id and x.ended_at is None
            ),
            None,
        )

    def active_leases(self) -> list[Lease]:
        return [x for x in self.s.leases.values() if x.ended_at is None]
