"""Stored tiers: recompute an account's tier and reason when the policy or it changes.

Called in the transaction that changed something: a policy activation (every account),
an account import (the accounts it wrote), a person's override (that account).

    refresh_tiers(tx, policy, version, clock())
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from dtem.domain.model import Account
from dtem.domain.policy import Policy
from dtem.domain.ports import AccountTiersPort, DirectoryPort
from dtem.domain.tiers import AccountTier, TierOverride, tier_in_force


class TierTx(DirectoryPort, AccountTiersPort, Protocol):
    """Accounts and their stored tiers."""


def refresh_tiers(
    tx: TierTx,
    policy: Policy,
    version: int,
    at: datetime,
    account_ids: Collection[int] | None = None,
) -> int:
    """Recompute the tiers of these accounts (None: all) and store those whose tier or
    reason changed, naming the policy version; how many changed."""
    accounts: Collection[Account]
    if account_ids is None:
        accounts = tx.all_accounts().values()
    else:
        accounts = tx.accounts_by_id(account_ids).values() if account_ids else []
    stored = tx.account_tiers(None if account_ids is None else account_ids)
    changed: list[AccountTier] = []
    for account in accounts:
        assert account.id is not None
        old = stored.get(account.id)
        tier, why = tier_in_force(account, policy, old.override if old else None)
        if old is None or (old.tier, old.reason) != (tier, why):
            changed.append(AccountTier(account.id, tier, why, version, at))
    tx.put_account_tiers(changed)
    return len(changed)


def tier_override(tx: AccountTiersPort, account_id: int) -> TierOverride | None:
    """The override routing and the agent gateway honour (None: the rules decide)."""
    stored = tx.account_tiers([account_id]).get(account_id)
    return stored.override if stored else None
