"""Agent claims port: which agent holds which account, guarded by the database."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from dtem.domain.model import Activity
from dtem.domain.nurture import AgentClaim


class AgentClaimsPort(Protocol):
    """Claims of accounts by agents; at most one active claim per account.

    A claim is active until released or past `expires_at`. The SQL backends enforce the
    one-active-claim rule with a partial unique index (`released_at IS NULL`); lapsed
    claims are closed by `lapse_claims` before new ones are written.
    """

    def add_claim(
        self, account_id: int, agent: str, at: datetime, expires_at: datetime, policy_version: int
    ) -> AgentClaim | None:
        """Claim the account under that policy version; None when another claim holds it
        (nothing written)."""
        ...

    def lapse_claims(self, at: datetime) -> int:
        """Close every open claim whose time to live ended at or before `at`; how many."""
        ...

    def release_claim(self, claim_id: int, at: datetime, reason: str) -> None:
        """Close an open claim (a no-op when it is already closed)."""
        ...

    def active_claim(self, account_id: int, at: datetime) -> AgentClaim | None: ...

    def claimed_account_ids(self, at: datetime) -> set[int]:
        """Accounts held by an active claim now."""
        ...

    def agent_touch_counts(self, account_ids: Collection[int], since: datetime) -> dict[int, int]:
        """Agent activities per account at or after `since` (absent = none)."""
        ...

    def agent_touches(self, since: datetime, until: datetime) -> list[Activity]:
        """Agent activities with `since <= occurred_at < until`, oldest first."""
        ...
