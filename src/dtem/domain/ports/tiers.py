"""Account tiers port: each account's stored tier and reason, overrides, do-not-contact."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from dtem.domain.tiers import AccountTier, TierOverride


class AccountTiersPort(Protocol):
    """The tier each account was last given (one row per account, rewritten when the
    policy or the account changes) and the overrides people set by name."""

    def account_tiers(self, account_ids: Collection[int] | None = None) -> dict[int, AccountTier]:
        """Stored tiers by account id (None: every account that has one)."""
        ...

    def put_account_tiers(self, tiers: Sequence[AccountTier]) -> None:
        """Store computed tiers (tier, reason, policy version, time); overrides stay."""
        ...

    def set_tier_override(self, account_id: int, override: TierOverride | None) -> None:
        """Set (or with None clear) the override of an account with a stored tier.
        Raises `NotFound` when it has none."""
        ...

    def set_do_not_contact(self, account_id: int, on: bool, at: datetime) -> None:
        """Mark an account do-not-contact (or clear it). Raises `NotFound`."""
        ...
