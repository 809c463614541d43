"""Governance ports: policy versions and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class PolicyVersion:
    version: int
    created_at: datetime
    created_by: str
    note: str
    active: bool


@dataclass(frozen=True)
class PolicyActivation:
    version: int
    activated_at: datetime
    actor: str


@dataclass(frozen=True)
class PolicySchedule:
    """A version to activate at a set time; `outcome` once closed: applied, cancelled,
    refused (its holdout gate said no when it fell due)."""

    id: int
    version: int
    at: datetime
    created_at: datetime
    actor: str
    closed_at: datetime | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class LambdaStep:
    """One review's move of the capacity interest rate, and what it read.

    `ratio` = λ after ÷ the policy's λ then: routing's threshold in force follows it.
    Pipeline bloat is open pipeline ÷ (capacity in leases × mean deal); None without deals.
    """

    on: date
    at: datetime
    policy_version: int
    lambda_before: float
    lambda_after: float
    policy_lambda: float
    ratio: float
    utilisation: float
    target_utilisation: float
    k: float
    active_leases: int
    capacity: int
    threshold: float
    threshold_in_force: float
    open_pipeline: float
    mean_deal: float | None
    pipeline_bloat: float | None


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
    last_used_at: datetime | None = None


class PolicyPort(Protocol):
    """Stored policy documents by version, and which one is active."""

    def add_policy(self, document: dict[str, Any], at: datetime, actor: str, note: str) -> int: ...
    def policy_document(self, version: int) -> dict[str, Any]: ...
    def policy_versions(self) -> list[PolicyVersion]: ...
    def activate_policy(self, version: int, at: datetime, actor: str) -> None: ...
    def active_policy_version(self) -> int | None: ...
    def policy_in_force(self) -> tuple[int, float] | None:
        """The active version and the λ controller's ratio (1.0 before any step), in one read."""
        ...

    def schedule_policy(self, version: int, at: datetime, created_at: datetime, actor: str) -> int:
        """Record that `version` is to be activated at `at`; the schedule's id."""
        ...

    def policy_schedules(self, pending_only: bool = False) -> list[PolicySchedule]:
        """Schedules by time due (then id); only the open ones with `pending_only`."""
        ...

    def close_schedule(self, schedule_id: int, at: datetime, outcome: str) -> bool:
        """Close an open schedule (applied | cancelled | refused); False if it was closed."""
        ...

    def add_lambda_step(self, step: LambdaStep) -> bool:
        """Record a review's λ step; False (nothing written) when that date has one already."""
        ...

    def lambda_steps(self, limit: int | None = None) -> list[LambdaStep]:
        """The λ history, oldest first (the latest `limit` when given)."""
        ...

    def policy_activations(self) -> list[PolicyActivation]:
        """Every activation, oldest first (the last one is in force)."""
        ...

    def add_policy_check(self, version: int, check: dict[str, Any], at: datetime) -> None:
        """Keep the holdout verdict on a trained version (the activation gate reads it)."""
        ...

    def policy_check(self, version: int) -> dict[str, Any] | None:
        """The verdict kept for a version; None for a version that was not trained."""
        ...


class TokenPort(Protocol):
    """API tokens: only the hash of a token is stored."""

    def add_token(self, token: TokenRecord) -> int: ...
    def token_by_hash(self, token_hash: str) -> TokenRecord | None: ...
    def revoke_token(self, token_id: int, at: datetime) -> None: ...
    def tokens(self) -> list[TokenRecord]: ...
    def mark_token_used(self, token_id: int, at: datetime, not_since: datetime) -> None:
        """Set the token's last use to `at` unless it was already used at or after `not_since`."""
        ...
